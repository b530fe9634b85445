"""The L&D tools of the installed `tidbit` package, run as the console scripts pip installed:
`tidbit-import` provisions a store with signed packs, `tidbit-report` reports a learner's
progress from a store, or from the sync server's copy of the learner's events."""

import asyncio
import json
import os
import pathlib
import subprocess

import tidbit as tb
from conftest import START_MS, ManualClock, MemoryKeyStore
from test_tidbit import COURSE, RIGHT, env, install, run_module

LEARNER = "ada@example.org"


def tool(name, *args):
    script = pathlib.Path(env("TIDBIT_VENV_BIN")) / name
    return subprocess.run([str(script), *map(str, args)], capture_output=True, text=True, timeout=120)


def store_args(data, device, author_pub):
    return ["--data", data, "--learner", LEARNER, "--device", device, "--trust", author_pub]


def author_pub_file(tmp_path, fixture_files):
    path = tmp_path / "author.pub"
    path.write_text(fixture_files["author_pub"])
    return path


def reopen(data, device, fixture_files):
    config = tb.TidbitConfig(
        data_dir=str(data),
        learner_id=LEARNER,
        device_id=device,
        time_zone="UTC",
        trusted_keys=[fixture_files["author_pub"]],
    )
    return tb.Tidbit.open(config, MemoryKeyStore(at_rest=None))


def test_tidbit_import_installs_a_pack_and_enrolls_the_learner(tmp_path, fixture_files, pack_copy):
    data = tmp_path / "kiosk"
    pub = author_pub_file(tmp_path, fixture_files)
    done = tool("tidbit-import", pack_copy, *store_args(data, "kiosk", pub), "--enroll", f"{COURSE}:tourist")
    assert done.returncode == 0, done.stderr
    assert f"installed {COURSE} 1.0.0" in done.stdout
    assert f"enrolled on {COURSE}:tourist" in done.stdout

    store = reopen(data, "kiosk", fixture_files)
    assert [course.id for course in store.catalog()] == [COURSE]
    [stage] = store.stages(COURSE)
    assert stage.stage == "foundation" and stage.unlocked_ms is not None and stage.passed_ms is None
    store.close_store()


def test_tidbit_import_reports_a_tampered_pack_and_still_installs_the_others(
    tmp_path, fixture_files, pack_copy, tampered_pack
):
    data = tmp_path / "kiosk"
    pub = author_pub_file(tmp_path, fixture_files)
    done = tool("tidbit-import", tampered_pack, pack_copy, *store_args(data, "kiosk", pub))
    assert done.returncode == 1
    assert f"refused {tampered_pack}" in done.stderr
    assert f"installed {COURSE} 1.0.0" in done.stdout
    store = reopen(data, "kiosk", fixture_files)
    assert [course.id for course in store.catalog()] == [COURSE]
    store.close_store()


def test_tidbit_import_without_a_trusted_key_refuses_the_pack(tmp_path, pack_copy):
    data = tmp_path / "kiosk"
    done = tool("tidbit-import", pack_copy, "--data", data, "--learner", LEARNER, "--device", "kiosk")
    assert done.returncode == 1
    assert f"refused {pack_copy}" in done.stderr


def test_a_report_holds_the_stages_mastery_and_streak_the_store_holds(
    clock, config, fixture_files, pack_copy, tmp_path
):
    # A plain store, as on an L&D machine (a learner's device seals its own).
    tidbit = tb.Tidbit.open_with_clock(config, MemoryKeyStore(at_rest=None), clock)
    install(tidbit, pack_copy)
    tidbit.enroll(COURSE, "tourist")
    run_module(tidbit, clock, "tour")
    run_module(tidbit, clock, "tour-check")
    [stage] = tidbit.stages(COURSE)
    [mastery] = tidbit.mastery(COURSE)
    tidbit.close_store()

    at = tb.reports.iso_instant(clock.ms)
    args = ["--data", config.data_dir, "--learner", LEARNER, "--device", config.device_id, "--at", at]
    done = tool("tidbit-report", *args)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["learner"], report["as_of"]) == (LEARNER, at)
    [course] = report["courses"]
    assert (course["id"], course["version"], course["enrolled"]) == (COURSE, "1.0.0", True)
    [reported] = course["stages"]
    assert reported["stage"] == "foundation" and reported["checks"] == stage.checks == 1
    assert reported["passed_at"] == tb.reports.iso_instant(stage.passed_ms)
    assert course["mastery"] == {"basics": round(mastery.mastery, 4)}
    assert course["mastery"]["basics"] >= 0.8
    assert report["streak"] == {"current": 1, "longest": 1}

    rows = tool("tidbit-report", *args, "--format", "csv")
    assert rows.returncode == 0, rows.stderr
    header, row = rows.stdout.splitlines()
    assert header.split(",")[:4] == ["learner", "course", "version", "stage"]
    assert row.startswith(f"{LEARNER},{COURSE},1.0.0,foundation,")
    assert row.endswith(f"basics={round(mastery.mastery, 4)}")


def test_a_report_store_syncs_the_learners_events_from_the_server(tmp_path, fixture_files, pack_copy):
    server = env("TIDBIT_SYNC_URL")
    phone_clock = ManualClock()
    phone = tb.Tidbit.open_with_clock(
        tb.TidbitConfig(
            data_dir=str(tmp_path / "phone"),
            learner_id=LEARNER,
            device_id="phone",
            time_zone="Europe/Berlin",
            trusted_keys=[fixture_files["author_pub"]],
        ),
        MemoryKeyStore(),
        phone_clock,
    )
    install(phone, pack_copy)
    phone.enroll(COURSE, "tourist")
    phone.start_module(COURSE, "tour")
    phone.answer(COURSE, "tour-single", RIGHT["tour-single"], 5_000)
    asyncio.run(phone.sync(server, env("TIDBIT_PHONE_TOKEN")))

    data = tmp_path / "lnd"
    pub = author_pub_file(tmp_path, fixture_files)
    assert tool("tidbit-import", pack_copy, *store_args(data, "lnd-report", pub)).returncode == 0
    done = tool(
        "tidbit-report",
        *store_args(data, "lnd-report", pub),
        "--sync-url",
        server,
        "--token",
        env("TIDBIT_REPORT_TOKEN"),
        "--at",
        tb.reports.iso_instant(START_MS),
    )
    assert done.returncode == 0, done.stderr
    assert "events received" in done.stderr
    [course] = json.loads(done.stdout)["courses"]

    # The phone takes whatever other tests' devices sent too; then both hold the same events.
    asyncio.run(phone.sync(server, env("TIDBIT_PHONE_TOKEN")))
    [mastery] = phone.mastery(COURSE)
    [stage] = phone.stages(COURSE)
    assert course["enrolled"]
    assert course["mastery"] == {"basics": round(mastery.mastery, 4)}
    assert course["mastery"]["basics"] > 0
    assert course["stages"][0]["unlocked_at"] == tb.reports.iso_instant(stage.unlocked_ms)
    phone.close_store()


def test_a_report_needs_both_the_server_and_the_token(tmp_path):
    done = tool("tidbit-report", "--data", tmp_path, "--learner", LEARNER, "--device", "x", "--sync-url", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "--sync-url and --token go together" in done.stderr
    assert not os.listdir(tmp_path)
