"""Course updates through the bindings: the suite's server publishes the fixture course and
assigns it to the learner (tests/bindings/common.sh); `Tidbit.update_courses` fetches it, within
a byte budget and only on Wi-Fi when asked, resuming where a paused download stopped."""

import asyncio

import pytest

import tidbit as tb
from conftest import ManualClock, MemoryKeyStore, env

COURSE = "binding-tour"


class Heard(tb.DownloadListener):
    def __init__(self):
        self.progress = []

    def on_download(self, progress):
        self.progress.append(progress)


@pytest.fixture
def fresh(tmp_path, fixture_files):
    config = tb.TidbitConfig(
        data_dir=str(tmp_path / "phone"),
        learner_id="ada@example.org",
        device_id="phone",
        time_zone="Europe/Berlin",
        trusted_keys=[fixture_files["author_pub"]],
    )
    tidbit = tb.Tidbit.open_with_clock(config, MemoryKeyStore(), ManualClock())
    yield tidbit
    tidbit.close_store()


def test_the_assigned_course_arrives_within_the_apps_limits_and_resumes(fresh):
    server, token = env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN")

    metered = tb.CourseUpdateSettings(
        byte_budget=None, unmetered_only=True, on_unmetered_network=False
    )
    waiting = asyncio.run(fresh.update_courses(server, token, metered))
    assert waiting.offered == 1 and waiting.bytes_downloaded == 0
    assert waiting.pending[0].course_id == COURSE
    assert waiting.pending[0].reason == tb.PendingReason.UNMETERED_NETWORK_ONLY()
    assert fresh.catalog() == []

    budget = tb.CourseUpdateSettings(
        byte_budget=2_000, unmetered_only=False, on_unmetered_network=True
    )
    heard = Heard()
    paused = asyncio.run(fresh.update_courses(server, token, budget, heard))
    assert paused.bytes_downloaded == 2_000
    assert paused.pending[0].reason == tb.PendingReason.BYTE_BUDGET()
    assert paused.pending[0].bytes_on_device == 2_000
    total = paused.pending[0].bytes_total
    assert heard.progress and heard.progress[-1].bytes_on_device == 2_000
    assert fresh.catalog() == []

    done = asyncio.run(fresh.update_courses(server, token))
    assert done.bytes_resumed == 2_000
    assert done.bytes_downloaded == total - 2_000
    assert [r.course_id for r in done.installed] == [COURSE]
    assert [c.id for c in fresh.catalog()] == [COURSE]

    again = asyncio.run(fresh.update_courses(server, token))
    assert again.up_to_date == [COURSE] and again.bytes_downloaded == 0


def test_course_updates_with_a_wrong_token_or_server_change_nothing(fresh):
    with pytest.raises(tb.TidbitError.Unauthorized):
        asyncio.run(fresh.update_courses(env("TIDBIT_SYNC_URL"), "not-a-token"))
    with pytest.raises(tb.TidbitError.InvalidSettings):
        asyncio.run(fresh.update_courses("ftp://example.org", env("TIDBIT_PHONE_TOKEN")))
    assert fresh.catalog() == []
