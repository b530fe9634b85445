"""Learning together from Python: two learners of a cohort, each on a phone of their own, share
an answer, rate it, post, react and hide through the suites' server (tests/bindings/common.sh),
and see the same space and the same rota of the week; a spoken answer shared is uploaded by sync
and fetched whole by a peer; what a space does not take is `TidbitError.Community` and writes
nothing.

The cohorts are formed as the L&D team forms them, `POST /v1/admin/cohorts` with the admin token;
the members' devices have the customer-objections sample course (its reflection `comp-reflect`
has three criteria) and the community consent scope. Their clocks start at the real time: the
server dates the roster by its own clock and takes no entry dated a day ahead of it. The two
phones share one clock moved forward between steps, so each entry follows the one it answers."""

import asyncio
import hashlib
import json
import time
import urllib.error
import urllib.request

import pytest

import tidbit as tb
from conftest import ManualClock, MemoryKeyStore, env
from test_voice import COURSE as SPOKEN
from test_voice import recording

COURSE = "customer-objections"
PATH = "sales-executive"
REFLECTION = "comp-reflect"
ANA_REFLECTION = (
    "Kestrel: stronger on onboarding time and on support hours; they are stronger on price per "
    "seat. Fair test: a two-week pilot on their own routes."
)


def form_cohort(cohort, members):
    """Forms `cohort` of `members` with the admin token, as the L&D team does; the server's record."""
    body = {"id": cohort, "course": COURSE, "path": PATH, "members": members}
    request = urllib.request.Request(
        f"{env('TIDBIT_SYNC_URL')}/v1/admin/cohorts",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {env('TIDBIT_ADMIN_TOKEN')}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        pytest.fail(f"forming {cohort}: {error.code} {error.read().decode()}")


def open_member(tmp_path, fixture_files, learner, device, clock):
    """`learner`'s `device` with a fresh store: the course installed, enrolled, community given."""
    config = tb.TidbitConfig(
        data_dir=str(tmp_path / device),
        learner_id=learner,
        device_id=device,
        time_zone="Europe/Berlin",
        trusted_keys=[fixture_files["author_pub"]],
    )
    member = tb.Tidbit.open_with_clock(config, MemoryKeyStore(), clock)
    asyncio.run(member.install_pack(env("TIDBIT_COHORT_PACK"), None))
    member.enroll(COURSE, PATH)
    member.set_consent(tb.ConsentScope.COMMUNITY, True)
    return member


def sync(device, token_variable):
    return asyncio.run(device.sync(env("TIDBIT_SYNC_URL"), env(token_variable), None))


@pytest.fixture
def now_clock():
    return ManualClock(int(time.time() * 1000))


@pytest.fixture
def ana_and_ben(tmp_path, fixture_files, now_clock):
    formed = form_cohort("north-1", ["ana", "ben"])
    assert formed["members"] == ["ana", "ben"] and formed["course"] == COURSE
    ana = open_member(tmp_path, fixture_files, "ana", "ana-phone", now_clock)
    ben = open_member(tmp_path, fixture_files, "ben", "ben-phone", now_clock)
    yield ana, ben
    ana.close_store()
    ben.close_store()


def test_cohort_two_members_share_rate_post_react_hide_and_see_one_space_and_rota(
    ana_and_ben, now_clock
):
    ana, ben = ana_and_ben
    assert ana.cohorts() == []
    sync(ana, "TIDBIT_ANA_TOKEN")
    sync(ben, "TIDBIT_BEN_TOKEN")
    assert ana.cohorts() == ["north-1"]
    assert ben.cohorts() == ["north-1"]
    formed = ana.cohort("north-1")
    assert (formed.course, formed.path) == (COURSE, PATH)
    assert [member.learner for member in formed.members] == ["ana", "ben"]
    assert formed.roles == ["facilitator", "reviewer", "summariser"]
    assert formed.posts == [] and formed.shares == []

    # ana answers the reflection on her own and shares it.
    now_clock.ms += 60_000
    answered = ana.answer(
        COURSE, REFLECTION, tb.Response.REFLECTION(ANA_REFLECTION, [True, True, True]), 90_000
    )
    assert answered.answer_event
    share = ana.share_answer(
        "north-1", answered.answer_event, tb.SharedAnswer.REFLECTION(ANA_REFLECTION)
    )
    sync(ana, "TIDBIT_ANA_TOKEN")

    # ben sees it, rates it against its three criteria and posts.
    now_clock.ms += 60_000
    sync(ben, "TIDBIT_BEN_TOKEN")
    shared = ben.cohort("north-1").shares
    assert [s.id for s in shared] == [share]
    assert (shared[0].author, shared[0].step) == ("ana", REFLECTION)
    assert shared[0].answer_event == answered.answer_event
    assert shared[0].answer == tb.SharedAnswer.REFLECTION(ANA_REFLECTION)
    assert len(shared[0].criteria) == 3
    assert shared[0].criteria[1] == (
        "I named at least one area where the competitor is genuinely stronger."
    )
    assert shared[0].feedback == []
    rating = ben.give_feedback(
        "north-1", share, [True, False, True], "Outcomes, not features; the pilot is a fair test"
    )
    post = ben.post_to_cohort(
        "north-1",
        "Tried a buyer-run pilot on a price call today",
        module="competitor-comparisons",
    )
    sync(ben, "TIDBIT_BEN_TOKEN")

    # ana sees the feedback on her share, and ben's post; she finds it helpful.
    now_clock.ms += 60_000
    sync(ana, "TIDBIT_ANA_TOKEN")
    seen = ana.cohort("north-1")
    (feedback,) = seen.shares[0].feedback
    assert feedback.id == rating and feedback.reviewer == "ben"
    assert feedback.criteria_met == [True, False, True]
    assert feedback.comment == "Outcomes, not features; the pilot is a fair test"
    assert [p.id for p in seen.posts] == [post]
    assert seen.posts[0].author == "ben"
    assert seen.posts[0].module == "competitor-comparisons" and not seen.posts[0].summary
    ana.react("north-1", post, tb.Reaction.HELPFUL)
    sync(ana, "TIDBIT_ANA_TOKEN")
    sync(ben, "TIDBIT_BEN_TOKEN")
    assert ben.cohort("north-1").posts[0].reactions == [
        tb.ReactionCount(reaction=tb.Reaction.HELPFUL, count=1)
    ]

    # ben takes his post back: gone from his view at once, from ana's after both sync.
    now_clock.ms += 60_000
    ben.hide_in_cohort("north-1", post, "posted it in the wrong cohort")
    assert ben.cohort("north-1").posts == []
    assert [p.id for p in ana.cohort("north-1").posts] == [post]
    sync(ben, "TIDBIT_BEN_TOKEN")
    sync(ana, "TIDBIT_ANA_TOKEN")
    ana_view = ana.cohort("north-1")
    ben_view = ben.cohort("north-1")
    assert ana_view.posts == [] and ben_view.posts == []
    assert [f.id for f in ana_view.shares[0].feedback] == [rating]

    # The week's rota: two members fill facilitator and reviewer, summariser stays open.
    rota = ana_view.rota
    assert [duty.role for duty in rota.duties] == ["facilitator", "reviewer"]
    assert {duty.learner for duty in rota.duties} == {"ana", "ben"}
    assert rota.open_roles == ["summariser"] and rota.skipped == []
    metrics = ana_view.metrics
    assert (metrics.members, metrics.shares, metrics.shares_with_feedback) == (2, 1, 1)
    # Both devices show the same space: rota, members, shares, metrics.
    assert ben_view.rota == rota
    assert ben_view == ana_view


def test_cohort_a_spoken_answer_is_uploaded_by_sync_and_fetched_whole_by_a_peer(
    ana_and_ben, now_clock
):
    ana, ben = ana_and_ben
    sync(ana, "TIDBIT_ANA_TOKEN")
    sync(ben, "TIDBIT_BEN_TOKEN")
    asyncio.run(ana.install_pack(env("TIDBIT_VOICE_PACK"), None))
    ana.enroll(SPOKEN, "speaker")
    ana.set_consent(tb.ConsentScope.VOICE, True)

    now_clock.ms += 60_000
    audio = recording(3)
    sha = hashlib.sha256(audio).hexdigest()
    answered = ana.answer_voice(SPOKEN, "speak-voice", audio, 3_000, [True, False])
    spoken = tb.SharedAnswer.VOICE(sha, 3_000, len(audio))
    share = ana.share_answer("north-1", answered.answer_event, spoken)
    assert sync(ana, "TIDBIT_ANA_TOKEN").audio_uploaded == 1

    now_clock.ms += 60_000
    sync(ben, "TIDBIT_BEN_TOKEN")
    (heard,) = [s for s in ben.cohort("north-1").shares if s.id == share]
    assert heard.answer == spoken and heard.author == "ana" and len(heard.criteria) == 2
    fetched = asyncio.run(
        ben.fetch_shared_audio(env("TIDBIT_SYNC_URL"), env("TIDBIT_BEN_TOKEN"), "north-1", sha)
    )
    assert fetched == audio
    assert ben.voice_audio(sha) == audio
    with pytest.raises(tb.TidbitError.Community) as unshared:
        asyncio.run(
            ben.fetch_shared_audio(
                env("TIDBIT_SYNC_URL"), env("TIDBIT_BEN_TOKEN"), "north-1", "0" * 64
            )
        )
    assert "no member shared this recording" in str(unshared.value)


@pytest.fixture
def ana_tablet(tmp_path, fixture_files):
    form_cohort("north-2", ["ana"])
    tablet = open_member(
        tmp_path, fixture_files, "ana", "ana-tablet", ManualClock(int(time.time() * 1000))
    )
    sync(tablet, "TIDBIT_ANA_TABLET_TOKEN")
    yield tablet
    tablet.close_store()


def test_cohort_what_a_space_does_not_take_is_a_community_error_and_writes_nothing(ana_tablet):
    assert "north-2" in ana_tablet.cohorts()
    post = ana_tablet.post_to_cohort("north-2", "Who has met Vantora on price this month?")
    before = ana_tablet.cohort("north-2")

    with pytest.raises(tb.TidbitError.Community) as not_a_share:
        ana_tablet.give_feedback("north-2", post, [True, True, True], "rating a post")
    assert "it rates an entry that is not a shared answer" in str(not_a_share.value)
    with pytest.raises(tb.TidbitError.Community) as nothing:
        ana_tablet.give_feedback("north-2", "0" * 32, [True], "rating nothing")
    assert "it rates an answer that is not shared" in str(nothing.value)
    with pytest.raises(tb.TidbitError.Community) as malformed:
        ana_tablet.give_feedback("north-2", "not-an-entry", [True], "rating nothing")
    assert "not an entry id" in str(malformed.value)
    with pytest.raises(tb.TidbitError.Community) as unknown:
        ana_tablet.post_to_cohort("south-9", "anyone here?")
    assert "this device holds no cohort 'south-9'" in str(unknown.value)
    assert ana_tablet.cohort("north-2") == before
    with pytest.raises(tb.TidbitError.Community):
        ana_tablet.cohort("south-9")


def test_cohort_without_the_community_scope_nothing_is_shared_but_a_post_is_taken_back(
    ana_tablet,
):
    post = ana_tablet.post_to_cohort("north-2", "Pricing call tomorrow: any last tips?")
    ana_tablet.set_consent(tb.ConsentScope.COMMUNITY, False)

    with pytest.raises(tb.TidbitError.ConsentRequired):
        ana_tablet.post_to_cohort("north-2", "shared without consent")
    assert ana_tablet.record_practice_days() == 0
    ana_tablet.hide_in_cohort("north-2", post, "asked in the wrong place")

    assert post not in [p.id for p in ana_tablet.cohort("north-2").posts]


def test_cohort_a_duty_is_done_a_post_reported_a_member_steps_out_and_another_leaves(
    tmp_path, fixture_files, now_clock
):
    form_cohort("north-3", ["ana", "ben"])
    # Fresh stores for devices the first test used: the server starts them over.
    ana = open_member(tmp_path, fixture_files, "ana", "ana-phone", now_clock)
    ben = open_member(tmp_path, fixture_files, "ben", "ben-phone", now_clock)
    try:
        sync(ana, "TIDBIT_ANA_TOKEN")
        sync(ben, "TIDBIT_BEN_TOKEN")
        devices = {"ana": ana, "ben": ben}
        rota = ana.cohort("north-3").rota
        (facilitator,) = [duty.learner for duty in rota.duties if duty.role == "facilitator"]
        now_clock.ms += 60_000
        devices[facilitator].mark_duty_done("north-3", "facilitator")
        with pytest.raises(tb.TidbitError.Community) as not_theirs:
            devices[facilitator].mark_duty_done("north-3", "summariser")
        assert f"{facilitator} was not the summariser of week {rota.week}" in str(not_theirs.value)

        post = ben.post_to_cohort("north-3", "Discount first, then value: worked for me")
        sync(ben, "TIDBIT_BEN_TOKEN")
        sync(ana, "TIDBIT_ANA_TOKEN")
        now_clock.ms += 60_000
        report = ana.report_in_cohort("north-3", post, "advice against the course's method")
        ben.set_rota_availability("north-3", False)
        sync(ana, "TIDBIT_ANA_TOKEN")
        sync(ben, "TIDBIT_BEN_TOKEN")
        (reported,) = ben.cohort("north-3").open_reports
        assert (reported.id, reported.target, reported.reporter) == (report, post, "ana")
        assert reported.reason == "advice against the course's method"
        members = ben.cohort("north-3").members
        assert [(m.learner, m.available) for m in members] == [("ana", True), ("ben", False)]

        now_clock.ms += 60_000
        ana.leave_cohort("north-3")
        sync(ana, "TIDBIT_ANA_TOKEN")
        sync(ben, "TIDBIT_BEN_TOKEN")
        assert "north-3" not in ana.cohorts() and "north-1" in ana.cohorts()
        assert [m.learner for m in ben.cohort("north-3").members] == ["ben"]
        with pytest.raises(tb.TidbitError.Community) as gone:
            ana.post_to_cohort("north-3", "one more thing")
        assert "not a member of cohort 'north-3'" in str(gone.value)
    finally:
        ana.close_store()
        ben.close_store()
