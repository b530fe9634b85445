"""The Python bindings driven the way L&D tooling and tests use them: the real library, a real
signed pack, a whole module with every item kind, the stage check, the certificate."""

import asyncio
import json

import pytest

import tidbit as tb
from conftest import (
    GUARD_SECONDS,
    START_MS,
    ListLogger,
    ManualClock,
    MemoryKeyStore,
    Progress,
    acquire_within,
    env,
)

COURSE = "binding-tour"

# The right answer for every item of the fixture course, by step id.
RIGHT = {
    "tour-single": tb.Response.SINGLE_CHOICE(choice=1),
    "tour-multiple": tb.Response.MULTIPLE_RESPONSE(choices=[0, 2, 3]),
    "tour-truefalse": tb.Response.TRUE_FALSE(answer=True),
    "tour-blanks": tb.Response.FILL_BLANKS(answers=["paris", " Roma "]),
    "tour-order": tb.Response.ORDERING(order=[0, 1, 2]),
    "tour-match": tb.Response.MATCHING(targets=["bark", "meow", "moo"]),
    "tour-numeric": tb.Response.NUMERIC(value=120.0),
    "tour-scenario": tb.Response.SCENARIO(path=[0, 0]),
    "tour-flashcard": tb.Response.FLASHCARD(rating=tb.SelfRating.GOOD),
    "tour-reflection": tb.Response.REFLECTION(
        text="Mercury is closest to the Sun; it helps at quiz night.", criteria_met=[True, True]
    ),
    "check-single": tb.Response.SINGLE_CHOICE(choice=0),
    "check-truefalse": tb.Response.TRUE_FALSE(answer=True),
}


def install(tidbit, pack, progress=None):
    return asyncio.run(tidbit.install_pack(str(pack), progress))


def run_module(tidbit, clock, module):
    """Walks a module step by step, answering every item right; returns the last feedback."""
    steps = tidbit.start_module(COURSE, module)
    feedback = None
    for step in steps:
        clock.ms += 20_000
        if step.is_LESSON():
            tidbit.view_step(COURSE, step.id)
            continue
        if step.view.is_FLASHCARD():
            assert tidbit.flashcard_back(COURSE, step.id) == "Au, from the Latin aurum."
        feedback = tidbit.answer(COURSE, step.id, RIGHT[step.id], 6_000)
        assert feedback.assessment.outcome == tb.Outcome.RIGHT, step.id
    return feedback


def test_installing_a_signed_pack_reports_progress_and_fills_the_catalog(tidbit, pack_copy):
    progress = Progress()
    report = install(tidbit, pack_copy, progress)
    assert report.course_id == COURSE
    assert report.outcome == tb.InstallOutcome.INSTALLED()
    assert progress.calls and progress.calls[-1][0] == progress.calls[-1][1]

    again = install(tidbit, pack_copy)
    assert again.outcome == tb.InstallOutcome.ALREADY_INSTALLED()

    [course] = tidbit.catalog()
    assert course.title == "Binding tour"
    [path] = course.paths
    assert path.id == "tourist"
    [stage] = path.stages
    assert stage.kind == tb.StageKind.FOUNDATION
    assert [m.id for m in stage.modules] == ["tour"]
    assert stage.check.id == "tour-check"
    assert stage.modules[0].items == 10


def test_a_tampered_pack_is_refused_and_installs_nothing(tidbit, tampered_pack):
    with pytest.raises(tb.TidbitError.PackRejected):
        install(tidbit, tampered_pack)
    assert tidbit.catalog() == []


def test_item_views_never_carry_answers(tidbit, pack_copy):
    install(tidbit, pack_copy)
    tidbit.enroll(COURSE, "tourist")
    steps = tidbit.start_module(COURSE, "tour")
    kinds = [type(s.view).__name__ for s in steps if s.is_ITEM()]
    assert len(kinds) == 10 and len(set(kinds)) == 10
    text = repr(steps)
    for secret in ["Right, Mercury is closest", "Mercury orbits", "Au, from the Latin", "aurum"]:
        assert secret not in text
    ordering = next(s.view for s in steps if s.id == "tour-order")
    assert sorted(e.index for e in ordering.entries) == [0, 1, 2]
    assert [e.index for e in ordering.entries] != [0, 1, 2]


def test_a_learner_runs_the_path_to_a_verified_certificate(tidbit, clock, pack_copy, fixture_files):
    install(tidbit, pack_copy)
    assert tidbit.next_activity().activity == tb.Activity.ENROLL(course=COURSE, path="tourist")
    tidbit.enroll(COURSE, "tourist")

    home = tidbit.home()
    assert home.recommendation.activity == tb.Activity.MODULE(
        course=COURSE, module="tour", stage_check=False
    )
    assert home.recommendation.reason

    last = run_module(tidbit, clock, "tour")
    assert last.module_completed
    assert last.next_due_ms is not None and last.next_due_ms > clock.ms

    plan = tidbit.plan_session(10)
    assert plan.budget_seconds == 600
    assert plan.total_seconds <= plan.budget_seconds

    activity = tidbit.next_activity().activity
    assert activity == tb.Activity.MODULE(course=COURSE, module="tour-check", stage_check=True)
    check = run_module(tidbit, clock, "tour-check")
    [result] = check.stage_checks
    assert result.passed and result.stage == "foundation"
    assert result.skills
    assert all(s.mastery >= result.threshold for s in result.skills)

    [stage] = tidbit.stages(COURSE)
    assert stage.passed_ms is not None
    mastery = tidbit.mastery(COURSE)
    assert mastery[0].skill == "basics" and mastery[0].mastery >= 0.8
    assert tidbit.streak().practised_today

    certificate = tidbit.issue_certificate(COURSE, "Tidbit binding tests")
    verified = tb.verify_certificate(certificate, [fixture_files["issuer_pub"]])
    assert verified.learner_id == "ada@example.org"
    assert verified.course_id == COURSE and verified.path_id == "tourist"

    decisions = tidbit.decisions(10)
    assert decisions and decisions[0].kind == "next_activity"
    json.loads(decisions[0].inputs_json)


def test_wrong_and_partial_answers_get_their_feedback(tidbit, pack_copy):
    install(tidbit, pack_copy)
    tidbit.enroll(COURSE, "tourist")
    tidbit.start_module(COURSE, "tour")
    wrong = tidbit.answer(COURSE, "tour-single", tb.Response.SINGLE_CHOICE(choice=0), 4_000)
    assert wrong.assessment.outcome == tb.Outcome.WRONG
    assert wrong.assessment.feedback == ["Venus is second."]
    assert wrong.grade == tb.Grade.AGAIN
    partial = tidbit.answer(
        COURSE, "tour-multiple", tb.Response.MULTIPLE_RESPONSE(choices=[0, 1]), 4_000
    )
    assert partial.assessment.outcome == tb.Outcome.PARTIAL
    assert 0 < partial.assessment.credit < 1
    assert partial.assessment.explanation == "Light mixes from red, green and blue."


def test_a_malformed_answer_is_a_typed_error_and_records_nothing(tidbit, pack_copy):
    install(tidbit, pack_copy)
    tidbit.enroll(COURSE, "tourist")
    tidbit.start_module(COURSE, "tour")
    with pytest.raises(tb.TidbitError.InvalidAnswer) as error:
        tidbit.answer(COURSE, "tour-single", tb.Response.SINGLE_CHOICE(choice=9), 1_000)
    assert "out of range" in str(error.value)
    with pytest.raises(tb.TidbitError.WrongStepKind):
        tidbit.answer(COURSE, "tour-intro", tb.Response.TRUE_FALSE(answer=True), 1_000)
    with pytest.raises(tb.TidbitError.UnknownContent):
        tidbit.enroll(COURSE, "no-such-path")
    assert tidbit.mastery(COURSE)[0].evidence == []


def test_a_bad_time_zone_or_key_is_refused_at_open(config, clock):
    config.time_zone = "Mars/Olympus"
    with pytest.raises(tb.TidbitError.InvalidSettings) as error:
        tb.Tidbit.open_with_clock(config, MemoryKeyStore(), clock)
    assert "IANA" in str(error.value)
    config.time_zone = "UTC"
    config.trusted_keys = ["not a key"]
    with pytest.raises(tb.TidbitError.InvalidSettings):
        tb.Tidbit.open_with_clock(config, MemoryKeyStore(), clock)


def test_certificates_need_a_finished_path_and_a_key(config, clock, pack_copy):
    tidbit = tb.Tidbit.open_with_clock(config, MemoryKeyStore(None), clock)
    install(tidbit, pack_copy)
    tidbit.enroll(COURSE, "tourist")
    with pytest.raises(tb.TidbitError.KeyStore):
        tidbit.issue_certificate(COURSE, "Issuer")
    tidbit.close_store()


def test_fitting_parameters_waits_for_enough_history(tidbit, pack_copy):
    install(tidbit, pack_copy)
    with pytest.raises(tb.TidbitError.ConsentRequired):
        asyncio.run(tidbit.fit_parameters(None))
    tidbit.set_consent(tb.ConsentScope.PERSONALISATION, True)
    with pytest.raises(tb.TidbitError.NotYet) as error:
        asyncio.run(tidbit.fit_parameters(None))
    assert "keep practising" in str(error.value)


def test_a_closed_tidbit_refuses_calls(tidbit):
    tidbit.close_store()
    tidbit.close_store()
    with pytest.raises(tb.TidbitError.Closed):
        tidbit.catalog()


def test_the_logger_receives_tidbit_events(tidbit):
    logger = ListLogger()
    tb.set_logger(logger, tb.LogLevel.DEBUG)
    with pytest.raises(tb.TidbitError.UnknownContent):
        tidbit.start_module(COURSE, "missing")
    messages = [r for r in logger.records if r.level == tb.LogLevel.WARN]
    assert any("start_module" in r.message and "missing" in r.message for r in messages)
    tb.set_logger(logger, tb.LogLevel.ERROR)
    before = len(logger.records)
    with pytest.raises(tb.TidbitError.UnknownContent):
        tidbit.start_module(COURSE, "missing")
    assert len(logger.records) == before


def test_a_forced_internal_panic_is_an_error_and_the_object_keeps_working(tidbit, pack_copy):
    install(tidbit, pack_copy)
    with pytest.raises(tb.TidbitError.Internal) as error:
        tidbit.force_internal_panic()
    assert "forced internal panic" in str(error.value)
    assert [c.id for c in tidbit.catalog()] == [COURSE]
    tidbit.enroll(COURSE, "tourist")


def open_device(tmp_path, fixture_files, device, clock):
    config = tb.TidbitConfig(
        data_dir=str(tmp_path / device),
        learner_id="ada@example.org",
        device_id=device,
        time_zone="Europe/Berlin",
        trusted_keys=[fixture_files["author_pub"]],
    )
    return tb.Tidbit.open_with_clock(config, MemoryKeyStore(), clock)


def test_two_devices_of_a_learner_converge_through_the_sync_server(
    tmp_path, fixture_files, pack_copy
):
    server = env("TIDBIT_SYNC_URL")
    phone_clock, tablet_clock = ManualClock(), ManualClock(START_MS + 60_000)
    phone = open_device(tmp_path, fixture_files, "phone", phone_clock)
    tablet = open_device(tmp_path, fixture_files, "tablet", tablet_clock)
    for device in (phone, tablet):
        install(device, pack_copy)
        device.enroll(COURSE, "tourist")
        device.start_module(COURSE, "tour")
    phone.answer(COURSE, "tour-single", RIGHT["tour-single"], 5_000)
    tablet.answer(COURSE, "tour-truefalse", RIGHT["tour-truefalse"], 3_000)
    assert phone.projection_digest() != tablet.projection_digest()

    first = asyncio.run(phone.sync(server, env("TIDBIT_PHONE_TOKEN")))
    second = asyncio.run(tablet.sync(server, env("TIDBIT_TABLET_TOKEN")))
    third = asyncio.run(phone.sync(server, env("TIDBIT_PHONE_TOKEN")))

    assert first.round_trips >= 1 and first.bytes_up > 0 and first.retries == 0
    assert second.round_trips >= 1 and second.events_received > 0 and second.documents >= 1
    assert third.events_received > 0
    assert phone.projection_digest() == tablet.projection_digest()
    evidence = {e.step for m in phone.mastery(COURSE) for e in m.evidence}
    assert {"tour-single", "tour-truefalse"} <= evidence
    phone.close_store()
    tablet.close_store()


def test_a_wrong_sync_token_is_unauthorized(tidbit):
    with pytest.raises(tb.TidbitError.Unauthorized) as error:
        asyncio.run(tidbit.sync(env("TIDBIT_SYNC_URL"), "not-a-token"))
    assert "new token" in str(error.value)


def test_a_sync_whose_task_is_cancelled_stops_and_a_later_sync_converges(
    tmp_path, fixture_files, pack_copy, silent_server
):
    server = env("TIDBIT_SYNC_URL")
    phone = open_device(tmp_path, fixture_files, "phone", ManualClock(START_MS + 120_000))
    tablet = open_device(tmp_path, fixture_files, "tablet", ManualClock(START_MS + 180_000))
    for device in (phone, tablet):
        install(device, pack_copy)
        device.enroll(COURSE, "tourist")
    phone.start_module(COURSE, "tour")
    phone.answer(COURSE, "tour-numeric", RIGHT["tour-numeric"], 4_000)
    next_before = phone.next_activity().activity

    async def sync_cancelled_in_flight():
        # The sync runs until the server has its connection; its task is cancelled there, as
        # asyncio.wait_for or a closed task group does.
        sync = asyncio.ensure_future(phone.sync(silent_server.url, env("TIDBIT_PHONE_TOKEN")))
        assert await acquire_within(silent_server.opened), "the server never saw the sync's connection"
        assert not sync.done(), "the sync ended against a silent server"
        sync.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sync
        return sync

    sync = asyncio.run(sync_cancelled_in_flight())

    assert sync.cancelled()
    assert silent_server.closed.acquire(timeout=GUARD_SECONDS), "the cancelled sync kept its connection open"
    assert silent_server.accepted == 1
    assert phone.next_activity().activity == next_before

    first = asyncio.run(phone.sync(server, env("TIDBIT_PHONE_TOKEN")))
    second = asyncio.run(tablet.sync(server, env("TIDBIT_TABLET_TOKEN")))
    third = asyncio.run(phone.sync(server, env("TIDBIT_PHONE_TOKEN")))
    assert first.round_trips >= 1 and first.retries == 0
    assert second.events_received > 0 and third.events_received > 0
    assert phone.projection_digest() == tablet.projection_digest()
    assert "tour-numeric" in {e.step for m in tablet.mastery(COURSE) for e in m.evidence}
    phone.close_store()
    tablet.close_store()


def test_a_sync_to_a_port_with_nothing_listening_fails_with_network_after_5_attempts_and_changes_nothing(
    tidbit, pack_copy, refusing_server_url
):
    install(tidbit, pack_copy)
    tidbit.enroll(COURSE, "tourist")

    def state():
        return (
            tidbit.projection_digest(),
            tidbit.next_activity().activity,
            tidbit.mastery(COURSE),
            tidbit.stages(COURSE),
        )

    before = state()
    with pytest.raises(tb.TidbitError.Network) as error:
        asyncio.run(tidbit.sync(refusing_server_url, "any-token"))

    assert "could not be reached after 5 attempts" in str(error.value)
    assert state() == before


def test_cancelling_a_cancellation_stops_a_sync_in_flight_with_cancelled(tidbit, pack_copy, silent_server):
    install(tidbit, pack_copy)
    cancellation = tb.Cancellation()

    async def sync_cancelled_in_flight():
        sync = asyncio.ensure_future(tidbit.sync(silent_server.url, "any-token", cancellation))
        # Cancelled once the server has the connection: the sync is in flight.
        assert await acquire_within(silent_server.opened), "the server never saw the sync's connection"
        assert not sync.done(), "the sync ended against a silent server"
        cancellation.cancel()
        return await sync

    with pytest.raises(tb.TidbitError.Cancelled) as error:
        asyncio.run(sync_cancelled_in_flight())

    assert "the sync was cancelled" in str(error.value)
    assert cancellation.is_cancelled()
    assert silent_server.closed.acquire(timeout=GUARD_SECONDS), "the cancelled sync kept its connection open"
    assert silent_server.accepted == 1
    assert [c.id for c in tidbit.catalog()] == [COURSE]


def test_a_server_address_that_is_not_http_is_refused_as_settings(tidbit):
    with pytest.raises(tb.TidbitError.InvalidSettings) as error:
        asyncio.run(tidbit.sync("ftp://example.org", "token"))
    assert "not a server URL" in str(error.value)


def test_nudges_are_planned_within_the_cap_and_outside_quiet_hours(tidbit, clock, pack_copy):
    import collections
    import datetime
    import zoneinfo

    install(tidbit, pack_copy)
    tidbit.enroll(COURSE, "tourist")
    run_module(tidbit, clock, "tour")

    prefs = tb.default_nudge_preferences(True)
    assert prefs.daily_cap == 2 and prefs.quiet_hours == "21:00-08:00" and prefs.max_pending == 60
    prefs.daily_cap = 1
    prefs.quiet_hours = "20:00-10:00"
    plan = tidbit.plan_nudges(prefs)

    assert plan.time_zone == "Europe/Berlin"
    assert plan.nudges, [d.reason for d in plan.decisions]
    assert len(plan.nudges) <= 60
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    per_day = collections.Counter()
    for nudge in plan.nudges:
        local = datetime.datetime.fromisoformat(nudge.fire_at_local)
        utc = datetime.datetime.fromtimestamp(nudge.fire_at_utc_ms / 1000, tz=datetime.timezone.utc)
        assert local == utc and local.utcoffset() == utc.astimezone(berlin).utcoffset(), nudge
        assert datetime.time(10, 0) <= local.time() < datetime.time(20, 0), nudge.fire_at_local
        assert nudge.fire_at_utc_ms >= clock.ms and nudge.deep_link and nudge.title.key
        per_day[local.date()] += 1
    assert max(per_day.values()) <= 1, per_day
    assert len({n.id for n in plan.nudges}) == len(plan.nudges)

    # The same inputs give the same plan; without consent there is none.
    assert [(n.id, n.fire_at_utc_ms) for n in tidbit.plan_nudges(prefs).nudges] == [
        (n.id, n.fire_at_utc_ms) for n in plan.nudges
    ]
    tidbit.record_nudge_outcome(plan.nudges[0], tb.NudgeOutcome.OPENED)
    assert tidbit.plan_nudges(tb.default_nudge_preferences(False)).nudges == []

    prefs.quiet_hours = "nine to five"
    with pytest.raises(tb.TidbitError.InvalidSettings):
        tidbit.plan_nudges(prefs)
