"""Goals from Python: the learner's minutes a day and days off, a goal on the fixture course's
stage with its pace and today's minutes, plans and the next activity paced by it, a goal that
cannot be met and what would meet it, and what the core refuses.

The fixture clock starts on Monday 2026-09-21 (Europe/Berlin), so with Saturdays and Sundays off
the goal due on Friday 2026-10-02 has exactly 10 learning days."""

import asyncio

import pytest

import tidbit as tb
from test_tidbit import COURSE, RIGHT

DAY_MS = 86_400_000
# The tour's one module (a lesson and ten items) and its two-item check.
TOUR_STEPS = 13


def tour_goal(due="2026-10-02", stages=("foundation",), goal="tour-by-friday", title="The tour by Friday"):
    return tb.GoalSpec(
        goal=goal, title=title, course=COURSE, path="tourist", stages=list(stages), skills=[], due=due
    )


def new_steps(plan):
    return [step for step in plan.steps if step.purpose == tb.Purpose.NEW]


@pytest.fixture
def learner(tidbit, pack_copy):
    """The tourist path with 20 minutes a day, weekends off."""
    asyncio.run(tidbit.install_pack(str(pack_copy), None))
    tidbit.enroll(COURSE, "tourist")
    tidbit.set_study_time(20, bytes([6, 7]))
    return tidbit


def test_study_time_is_15_minutes_every_day_until_the_learner_sets_it(tidbit):
    assert tidbit.study_time() == tb.StudyTime(minutes_per_day=15, days_off=b"")
    # The days off (ISO weekdays, 1 is Monday) cross as bytes.
    tidbit.set_study_time(20, bytes([6, 7]))
    assert tidbit.study_time() == tb.StudyTime(minutes_per_day=20, days_off=bytes([6, 7]))


def test_a_learners_goal_on_a_stage_is_on_track_and_allows_new_material_today(learner):
    status = learner.set_goal(tour_goal())
    assert status.spec == tour_goal()
    assert status.set_by == "learner"
    assert status.pace == tb.Pace.ON_TRACK()
    assert (status.total_steps, status.done_steps) == (TOUR_STEPS, 0)
    assert (status.learning_days_left, status.minutes_per_day) == (10, 20)
    assert status.feasible and status.earliest_date is None and status.blocked is None
    assert status.minutes_today > 0 and status.minutes_needed > 0
    assert status.minutes_per_day_needed <= 20
    assert status.summary == "'The tour by Friday' by 2026-10-02: on track; 0 of 13 steps done"
    assert learner.goals() == [status]


def test_a_plan_paced_by_a_goal_holds_only_todays_share_of_the_goals_new_steps(learner):
    unpaced = new_steps(learner.plan_session(60))
    assert len(unpaced) == 11 and {step.module for step in unpaced} == {"tour"}
    status = learner.set_goal(tour_goal())
    paced = new_steps(learner.plan_session(60))
    assert 0 < len(paced) < len(unpaced)
    assert {step.module for step in paced} == {"tour"}
    assert [s.step for s in paced] == [s.step for s in unpaced[: len(paced)]]
    # A step is added while any of today's allowance is left.
    assert sum(step.estimated_seconds for step in paced[:-1]) < status.minutes_today * 60


def test_once_todays_share_is_done_the_next_activity_is_paced_by_the_goal(learner, clock):
    learner.set_goal(tour_goal())
    assert learner.next_activity().activity == tb.Activity.MODULE(course=COURSE, module="tour", stage_check=False)
    paced = new_steps(learner.plan_session(60))
    views = {view.id: view for view in learner.start_module(COURSE, "tour")}
    for step in paced:
        clock.ms += 20_000
        if views[step.step].is_LESSON():
            learner.view_step(COURSE, step.step)
        else:
            learner.answer(COURSE, step.step, RIGHT[step.step], 6_000)
    [status] = learner.goals()
    # 7 of 13 steps on the first of 9 days the line runs over: ahead of it by 3 days.
    assert (status.minutes_today, status.done_steps, len(paced)) == (0, 7, 7)
    assert status.pace == tb.Pace.AHEAD(days=3)
    assert learner.next_activity().activity == tb.Activity.GOAL_PACED(
        course=COURSE, goal="tour-by-friday", pace=tb.Pace.AHEAD(days=3)
    )
    assert new_steps(learner.plan_session(60)) == []


def test_three_learning_days_without_learning_leave_the_goal_behind_by_3_days(learner, clock):
    learner.set_goal(tour_goal())
    clock.ms += 3 * DAY_MS  # Thursday 2026-09-24
    [status] = learner.goals()
    assert status.pace == tb.Pace.BEHIND(days=3)
    assert status.learning_days_left == 7 and status.feasible
    assert status.summary == "'The tour by Friday' by 2026-10-02: behind by 3 days; 0 of 13 steps done"


def test_a_goal_that_cannot_be_met_says_so_and_what_would_meet_it(learner):
    learner.set_study_time(1, b"")
    whole = tour_goal(due="2026-09-22", stages=(), goal="tour-tomorrow", title="All of the tour")
    status = learner.set_goal(whole)
    assert (status.total_steps, status.learning_days_left) == (TOUR_STEPS, 2)
    assert not status.feasible and status.minutes_per_day_needed > 1
    assert status.minutes_needed > 2 and status.earliest_date is not None
    assert status.summary.startswith("'All of the tour' cannot be met by 2026-09-22 at 1 minutes a day")
    assert f"{status.minutes_per_day_needed} minutes a day would do it" in status.summary


def test_a_goal_or_study_time_the_core_cannot_take_is_refused_and_nothing_is_recorded(learner):
    with pytest.raises(tb.TidbitError.UnknownContent):
        learner.set_goal(tour_goal(stages=["mastery"]))
    with pytest.raises(tb.TidbitError.InvalidRequest):
        learner.set_goal(tour_goal(due="next week"))
    with pytest.raises(tb.TidbitError.InvalidRequest):
        learner.set_goal(tour_goal(due="2026-09-20"))
    with pytest.raises(tb.TidbitError.InvalidRequest):
        learner.set_study_time(0, b"")
    with pytest.raises(tb.TidbitError.UnknownContent):
        learner.withdraw_goal("no-such-goal")
    assert learner.goals() == []
    assert learner.study_time() == tb.StudyTime(minutes_per_day=20, days_off=bytes([6, 7]))


def test_a_withdrawn_goal_is_gone_and_plans_are_no_longer_paced(learner):
    learner.set_goal(tour_goal())
    learner.withdraw_goal("tour-by-friday")
    assert learner.goals() == []
    assert len(new_steps(learner.plan_session(60))) == 11
