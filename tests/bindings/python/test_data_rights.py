"""The learner's data rights from Python: consent scopes off until given and enforced by the
core, reviews asked only of decisions that exist, and an export archive that loads back."""

import asyncio
import json
import pathlib

import pytest

import tidbit as tb
from conftest import ManualClock, MemoryKeyStore, Progress
from test_at_rest import COURSE, REFLECTION, files_hold


def opened(config, pack):
    tidbit = tb.Tidbit.open_with_clock(config, MemoryKeyStore(at_rest=None), ManualClock())
    asyncio.run(tidbit.install_pack(str(pack), None))
    tidbit.enroll(COURSE, "tourist")
    return tidbit


def answer_reflection(tidbit):
    tidbit.start_module(COURSE, "tour")
    response = tb.Response.REFLECTION(text=REFLECTION, criteria_met=[True, True])
    tidbit.answer(COURSE, "tour-reflection", response, 30_000)


def test_scopes_are_off_until_given_and_analytics_gates_the_answer_text(config, pack_copy):
    tidbit = opened(config, pack_copy)
    consents = tidbit.consents()
    assert [c.scope for c in consents] == [
        tb.ConsentScope.ANALYTICS,
        tb.ConsentScope.PERSONALISATION,
        tb.ConsentScope.SIGNALS,
        tb.ConsentScope.COMMUNITY,
        tb.ConsentScope.VOICE,
        tb.ConsentScope.COACHING,
        tb.ConsentScope.PROFILE,
    ]
    assert not any(c.granted or c.changed_ms is not None for c in consents)
    assert "training record" in consents[0].purpose

    answer_reflection(tidbit)
    assert not files_hold(pathlib.Path(config.data_dir), REFLECTION)
    tidbit.set_consent(tb.ConsentScope.ANALYTICS, True)
    answer_reflection(tidbit)
    assert files_hold(pathlib.Path(config.data_dir), REFLECTION)
    granted = [c.scope for c in tidbit.consents() if c.granted]
    assert granted == [tb.ConsentScope.ANALYTICS]
    tidbit.close_store()


def test_reviews_need_a_decision_and_the_export_loads_back(config, pack_copy, tmp_path):
    tidbit = opened(config, pack_copy)
    with pytest.raises(tb.TidbitError.UnknownContent):
        tidbit.request_review(COURSE, "grandmaster", "why")
    with pytest.raises(tb.TidbitError.InvalidRequest):
        tidbit.request_review(COURSE, "foundation", "why")
    assert tidbit.reviews() == []
    tidbit.set_consent(tb.ConsentScope.ANALYTICS, True)
    answer_reflection(tidbit)

    progress = Progress()
    path = asyncio.run(tidbit.export(str(tmp_path), progress))
    assert path == str(tmp_path / f"tidbit-export-{config.learner_id}.json")
    assert progress.calls[-1] == (4, 4)
    first = pathlib.Path(path).read_bytes()
    archive = json.loads(first)
    assert archive["format"] == "tidbit-learner-export" and archive["version"] == 1
    assert archive["learner"] == config.learner_id
    kinds = [event["type"] for event in archive["events"]]
    assert kinds.count("item_answered") == 1 and kinds.count("consent_changed") == 1
    answered = next(e for e in archive["events"] if e["type"] == "item_answered")
    assert answered["response"]["text"] == REFLECTION
    assert [c["scope"] for c in archive["consent_history"]] == ["analytics"]
    assert archive["courses"][0]["course"] == COURSE
    assert archive["courses"][0]["stages"] == [
        {
            "stage": s.stage,
            "unlocked_ms": s.unlocked_ms,
            "passed_ms": s.passed_ms,
            "checks": s.checks,
        }
        for s in tidbit.stages(COURSE)
    ]
    asyncio.run(tidbit.export(str(tmp_path), None))
    assert pathlib.Path(path).read_bytes() == first

    with pytest.raises(tb.TidbitError.Storage):
        asyncio.run(tidbit.export(str(tmp_path / "missing" / "deeper"), None))
    tidbit.close_store()
