"""Interventions beyond modules through the Python bindings: the suites' server triggers a job
aid intervention (the fixture course carries the job aid `tour-card`), the phone gets it with
sync, sees its kind, opens the card and that completes it; a step of another kind, an unknown job
aid and a mentoring request for a skill nobody holds are refused."""

import asyncio
import json
import time
import urllib.error
import urllib.request

import pytest

import tidbit as tb
from conftest import ManualClock, MemoryKeyStore
from test_push import env

COURSE = "binding-tour"


def trigger(body):
    request = urllib.request.Request(
        f"{env('TIDBIT_SYNC_URL')}/v1/admin/learners/ada@example.org/interventions",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {env('TIDBIT_ADMIN_TOKEN')}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


@pytest.fixture
def phone(config, fixture_files, tmp_path):
    config.device_id = "phone"
    clock = ManualClock(int(time.time() * 1000))
    opened = tb.Tidbit.open_with_clock(config, MemoryKeyStore(fixture_files["issuer_key"]), clock)
    asyncio.run(opened.install_pack(str(fixture_files["pack"]), None))
    yield opened, clock
    opened.close_store()


def test_a_job_aid_opened_completes_its_intervention(phone):
    tidbit, clock = phone
    status, triggered = trigger({"kind": "job_aid", "module": "tour", "course": COURSE,
                                 "aid": "tour-card", "reason": "a quick reference",
                                 "within_hours": 48})
    assert status == 201, triggered
    asyncio.run(tidbit.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"), None))
    [view] = [v for v in tidbit.interventions() if v.id == triggered["intervention"]]
    assert view.kind == tb.InterventionKind.JOB_AID
    assert view.action == tb.InterventionAction.JOB_AID(course=COURSE, aid="tour-card")
    assert view.done_ms is None
    # The card is opened a moment after the server triggered it (the phone's clock was set
    # before the trigger).
    clock.ms = int(time.time() * 1000) + 1_000
    card = tidbit.job_aid(COURSE, "tour-card")
    assert card.title == "The tour on one screen"
    [done] = [v for v in tidbit.interventions() if v.id == triggered["intervention"]]
    assert done.steps == [tb.InterventionStep.JOB_AID_OPENED]
    assert done.done_ms == clock.now_ms()
    with pytest.raises(tb.TidbitError.InvalidRequest):
        tidbit.accept_mentoring(view.id)
    with pytest.raises(tb.TidbitError.UnknownContent):
        tidbit.job_aid(COURSE, "no-such-card")


def test_a_mentoring_request_for_a_skill_nobody_holds_is_refused():
    status, answer = trigger({"kind": "mentoring", "module": "tour", "course": COURSE,
                              "skill": "basics", "reason": "pair up", "within_hours": 48})
    assert status == 422
    assert "nobody else holds skill 'basics'" in answer
