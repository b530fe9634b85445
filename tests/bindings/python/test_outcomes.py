"""The learner's own engagement and experiments from Python: home-screen numbers counted from
the learner's answers, and an experiment's arm that is stable and exposed once."""

import pytest

import tidbit as tb
from test_data_rights import opened, answer_reflection


def test_home_metrics_count_the_learners_days_and_minutes(config, pack_copy):
    tidbit = opened(config, pack_copy)
    before = tidbit.home_metrics()
    assert (before.active_days_7, before.modules_completed, before.recall) == (0, 0, None)
    answer_reflection(tidbit)
    after = tidbit.home_metrics()
    assert (after.active_days_7, after.active_days_14, after.active_days_30) == (1, 1, 1)
    assert after.minutes_30 == 0.5


def test_an_experiments_arm_is_stable_and_a_bad_definition_is_refused(config, pack_copy):
    tidbit = opened(config, pack_copy)
    arms = [
        tb.ExperimentArm(name="control", weight=1, gets="today's wording"),
        tb.ExperimentArm(name="named", weight=3, gets="names the skill"),
    ]
    arm = tidbit.expose("reminder-wording", arms)
    assert arm in ("control", "named")
    assert tidbit.expose("reminder-wording", arms) == arm
    with pytest.raises(tb.TidbitError.InvalidRequest):
        tidbit.expose("reminder wording", arms)


def test_a_nudge_wording_experiment_needs_wordings_of_its_kind(config, pack_copy):
    tidbit = opened(config, pack_copy)
    arms = [
        tb.ExperimentArm(name="control", weight=1, gets="count"),
        tb.ExperimentArm(name="minutes", weight=1, gets="minutes"),
    ]
    arm = tidbit.expose_nudge_wording("due-wording", tb.NudgeKind.REINFORCEMENT_DUE, arms)
    assert arm in ("control", "minutes")
    arms[1] = tb.ExperimentArm(name="minutes", weight=1, gets="shout")
    with pytest.raises(tb.TidbitError.InvalidRequest):
        tidbit.expose_nudge_wording("other", tb.NudgeKind.REINFORCEMENT_DUE, arms)


def test_a_retention_experiment_needs_retentions_and_a_course(config, pack_copy):
    tidbit = opened(config, pack_copy)
    arms = [
        tb.ExperimentArm(name="relaxed", weight=1, gets="0.8"),
        tb.ExperimentArm(name="strict", weight=1, gets="0.95"),
    ]
    assert tidbit.expose_retention("retention", "binding-tour", arms) in ("relaxed", "strict")
    with pytest.raises(tb.TidbitError.InvalidRequest):
        tidbit.expose_retention("too-low", "binding-tour", [arms[0], tb.ExperimentArm(name="low", weight=1, gets="0.2")])
    with pytest.raises(tb.TidbitError.UnknownContent):
        tidbit.expose_retention("elsewhere", "no-such-course", arms)
