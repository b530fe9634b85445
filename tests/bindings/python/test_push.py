"""Push tokens through the bindings: a device registers where the server may wake it, the core
checks the token's shape, and sync takes it to the suites' server.

The server tests/bindings/common.sh starts has no FCM or APNs credentials, so its wake-up
(`POST /v1/admin/learners/{learner}/wake`) only logs and answers `logged` for each device's
token: that shows which token it holds, but no vendor answer (a dead token) can come back from
it. The dead-token path, from a vendor's UNREGISTERED to `push_token_needed()` on the device,
runs against a local FCM in server/tests/push.rs."""

import asyncio
import hashlib
import itertools
import json
import urllib.request
import uuid

import pytest

import tidbit as tb
from conftest import ManualClock, MemoryKeyStore, START_MS, env

LEARNER = "ada@example.org"

# Each phone's clock starts an hour after the last one's: the server takes each device's latest
# registration in the log's (time, device, id) order, as one real phone's clock would give it.
PHONE_STARTS = itertools.count(START_MS, 3_600_000)


def fcm_token():
    """An FCM-shaped registration token, different in every test."""
    return f"dGVzdA:APA91b{uuid.uuid4().hex}_-x.y"


def sync(phone):
    return asyncio.run(phone.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"), None))


def wake_the_learner():
    """The suites' server's answer to a wake-up of the learner: one report per live token."""
    request = urllib.request.Request(
        f"{env('TIDBIT_SYNC_URL')}/v1/admin/learners/{LEARNER}/wake",
        data=b"",
        method="POST",
        headers={"Authorization": f"Bearer {env('TIDBIT_ADMIN_TOKEN')}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
        return json.load(answer)


def logged_phone_push(token):
    return {
        "pushes": [
            {
                "device": "phone",
                "platform": "fcm",
                "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
                "outcome": "logged",
            }
        ]
    }


@pytest.fixture
def phone_clock():
    return ManualClock(next(PHONE_STARTS))


@pytest.fixture
def phone(tmp_path, fixture_files, phone_clock):
    """The learner's phone (the server's phone token is for it) with a fresh store."""
    config = tb.TidbitConfig(
        data_dir=str(tmp_path / "phone"),
        learner_id=LEARNER,
        device_id="phone",
        time_zone="Europe/Berlin",
        trusted_keys=[fixture_files["author_pub"]],
    )
    tidbit = tb.Tidbit.open_with_clock(config, MemoryKeyStore(), phone_clock)
    yield tidbit
    tidbit.close_store()


def test_push_a_store_that_never_registered_a_token_reports_none_needed(phone):
    assert phone.push_token_needed() is False


def test_push_an_fcm_shaped_token_registers_and_none_is_needed_after_it(phone):
    phone.register_push_token("fcm", fcm_token())
    assert phone.push_token_needed() is False


def test_push_the_registered_token_reaches_the_server_with_the_next_sync(phone):
    token = fcm_token()
    phone.register_push_token("fcm", token)
    report = sync(phone)
    assert report.round_trips >= 1 and report.documents_refused == 0
    assert wake_the_learner() == logged_phone_push(token)
    assert phone.push_token_needed() is False


@pytest.mark.parametrize(
    "platform, wrong, reason",
    [
        ("fcm", "a token with spaces", "FCM registration token"),
        ("fcm", "", "FCM registration token"),
        ("fcm", "x" * 4097, "FCM registration token"),
        ("apns", "abcd", "64 to 200 hex digits"),
        ("apns", "../" + "a" * 62, "other characters"),
        ("webpush", "abc", "neither 'fcm'"),
    ],
)
def test_push_a_wrong_shaped_token_is_invalid_request_and_the_server_keeps_the_last(
    phone, phone_clock, platform, wrong, reason
):
    token = fcm_token()
    phone.register_push_token("fcm", token)
    sync(phone)
    phone_clock.ms += 60_000  # a wrong token recorded now would be the latest registration
    with pytest.raises(tb.TidbitError.InvalidRequest) as error:
        phone.register_push_token(platform, wrong)
    assert reason in str(error.value)
    assert phone.push_token_needed() is False
    sync(phone)
    assert wake_the_learner() == logged_phone_push(token)


def test_push_the_apns_device_token_in_hex_registers(phone):
    # What the Swift wrapper's registerPushToken(_:) sends for a 32-byte device token.
    phone.register_push_token("apns", bytes(range(32)).hex())
    assert phone.push_token_needed() is False
