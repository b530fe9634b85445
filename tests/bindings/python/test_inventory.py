"""The skills inventory from Python: after the tour and its check, answered right, the fixture
course's one skill shows every answer, the passed check, the finished path and when it was last
demonstrated; the credentials are one unsigned Open Badge in a CLR."""

import asyncio
import json

import tidbit as tb
from test_tidbit import COURSE, RIGHT, install, run_module


def test_the_inventory_states_the_evidence_and_the_credentials_name_the_held_skill(
    tidbit, clock, pack_copy
):
    install(tidbit, pack_copy)
    tidbit.enroll(COURSE, "tourist")
    [empty] = asyncio.run(tidbit.skills_inventory()).skills
    assert (empty.evidence.answers, empty.last_demonstrated_ms, empty.held) == (0, None, False)
    assert json.loads(asyncio.run(tidbit.skill_credentials()))["credentialSubject"][
        "verifiableCredential"
    ] == []

    start = clock.ms
    run_module(tidbit, clock, "tour")
    run_module(tidbit, clock, "tour-check")
    inventory = asyncio.run(tidbit.skills_inventory())
    assert inventory.at_ms == clock.ms
    [basics] = inventory.skills
    evidence = basics.evidence
    assert (basics.skill, basics.name) == ("basics", "Know the basics")
    assert (evidence.answers, evidence.right, evidence.items) == (len(RIGHT),) * 3
    # The tour opens with a lesson: the first answer is its second step, 20 s apart.
    assert (evidence.first_answer_ms, evidence.last_answer_ms) == (start + 40_000, clock.ms)
    [passed] = evidence.checks
    assert (passed.path, passed.stage, passed.at_ms) == ("tourist", "foundation", clock.ms)
    assert basics.last_demonstrated_ms == clock.ms
    assert basics.certificates == [
        tb.CertifiedPath(path="tourist", path_title="Tourist", completed_ms=clock.ms)
    ]
    assert (evidence.peer_ratings, evidence.peer_mean_credit) == (0, None)
    mastery = tidbit.mastery(COURSE)[0].mastery
    assert basics.mastery == mastery and basics.held

    as_json = json.loads(asyncio.run(tidbit.skills_inventory_json()))
    assert as_json["skills"][0]["last_demonstrated_ms"] == clock.ms

    clr = json.loads(asyncio.run(tidbit.skill_credentials()))
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    assert "proof" not in clr
    [badge] = clr["credentialSubject"]["verifiableCredential"]
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    achievement = badge["credentialSubject"]["achievement"]
    assert (achievement["achievementType"], achievement["name"]) == ("Competency", "Know the basics")
    assert badge["credentialSubject"]["result"][0]["value"] == f"{mastery:.2f}"
    names = [e["name"] for e in badge["evidence"]]
    assert names == ["Certificate: Tourist", "Stage check: foundation of tourist", "Answers"]
