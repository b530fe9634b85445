"""Encryption at rest from Python: the key store's at-rest key seals the learner's store."""

import asyncio
import os
import pathlib

import pytest

import tidbit as tb
from conftest import ManualClock, MemoryKeyStore

COURSE = "binding-tour"
REFLECTION = "Quokka-lighthouse-7731 is where I would use this"


def files_hold(directory, text):
    needle = text.encode()
    return any(needle in path.read_bytes() for path in directory.rglob("*") if path.is_file())


def reflect(config, pack, at_rest):
    """Opens the learner with `at_rest`, installs the pack, writes the reflection; returns the
    projection digest and whether the open store's files showed the reflection."""
    tidbit = tb.Tidbit.open_with_clock(config, MemoryKeyStore(at_rest=at_rest), ManualClock())
    asyncio.run(tidbit.install_pack(str(pack), None))
    tidbit.enroll(COURSE, "tourist")
    tidbit.start_module(COURSE, "tour")
    # Under the analytics scope the reflection's text is recorded with the answer.
    tidbit.set_consent(tb.ConsentScope.ANALYTICS, True)
    response = tb.Response.REFLECTION(text=REFLECTION, criteria_met=[True, True])
    tidbit.answer(COURSE, "tour-reflection", response, 30_000)
    shown_while_open = files_hold(pathlib_of(config), REFLECTION)
    digest = tidbit.projection_digest()
    tidbit.close_store()
    return digest, shown_while_open


def pathlib_of(config):
    return pathlib.Path(config.data_dir)


def test_a_sealed_store_keeps_the_reflection_out_of_its_files_and_a_plain_one_does_not(
    config, pack_copy, tmp_path
):
    _, shown = reflect(config, pack_copy, os.urandom(32))
    assert not shown
    assert not files_hold(pathlib_of(config), REFLECTION)

    plain = tb.TidbitConfig(
        data_dir=str(tmp_path / "plain"),
        learner_id=config.learner_id,
        device_id=config.device_id,
        time_zone=config.time_zone,
        trusted_keys=config.trusted_keys,
    )
    reflect(plain, pack_copy, None)
    assert files_hold(pathlib_of(plain), REFLECTION)


def test_another_key_or_none_is_refused_and_the_stores_own_key_opens_it(config, pack_copy):
    key = os.urandom(32)
    digest, _ = reflect(config, pack_copy, key)
    for other in (os.urandom(32), None):
        with pytest.raises(tb.TidbitError.AtRestKey) as error:
            tb.Tidbit.open_with_clock(config, MemoryKeyStore(at_rest=other), ManualClock())
        assert "key" in str(error.value)
    tidbit = tb.Tidbit.open_with_clock(config, MemoryKeyStore(at_rest=key), ManualClock())
    assert tidbit.projection_digest() == digest
    tidbit.close_store()


class LockedKeyStore(tb.KeyStore):
    def certificate_signing_key(self):
        return None

    def at_rest_key(self):
        raise tb.KeyStoreError.Unavailable(reason="the device is locked")

    def destroy_at_rest_key(self):
        raise tb.KeyStoreError.Unavailable(reason="the device is locked")


def test_a_failing_or_short_key_keeps_the_store_closed(config):
    with pytest.raises(tb.TidbitError.KeyStore):
        tb.Tidbit.open_with_clock(config, MemoryKeyStore(at_rest=bytes(16)), ManualClock())
    with pytest.raises(tb.TidbitError.KeyStore) as error:
        tb.Tidbit.open_with_clock(config, LockedKeyStore(), ManualClock())
    assert "the device is locked" in str(error.value)
    assert not pathlib_of(config).exists()
