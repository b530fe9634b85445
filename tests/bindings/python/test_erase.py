"""Erasing a learner from the device from Python: the key store destroys the at-rest key, the
store's files go, another learner's store stays, and the object refuses every later call."""

import asyncio
import os
import pathlib
import urllib.request

import pytest

import tidbit as tb
from conftest import ManualClock, MemoryKeyStore
from test_at_rest import COURSE, reflect


def open_learner(config, key_store):
    return tb.Tidbit.open_with_clock(config, key_store, ManualClock())


def other_learner(config, tmp_path):
    return tb.TidbitConfig(
        data_dir=str(tmp_path / "other-learner"),
        learner_id="grace@example.org",
        device_id=config.device_id,
        time_zone=config.time_zone,
        trusted_keys=config.trusted_keys,
    )


def test_erase_destroys_the_key_removes_the_store_and_leaves_another_learner(
    config, pack_copy, tmp_path
):
    keys = MemoryKeyStore()
    reflect(config, pack_copy, keys.at_rest)
    other = other_learner(config, tmp_path)
    other_keys = MemoryKeyStore()
    other_digest, _ = reflect(other, pack_copy, other_keys.at_rest)
    tidbit = open_learner(config, keys)

    tidbit.erase()

    assert keys.destroyed == 1 and keys.at_rest is None
    assert not pathlib.Path(config.data_dir).exists()
    with pytest.raises(tb.TidbitError.Erased) as error:
        tidbit.catalog()
    assert "erased from this device" in str(error.value)
    with pytest.raises(tb.TidbitError.Erased):
        tidbit.erase()
    with pytest.raises(tb.TidbitError.Erased):
        asyncio.run(tidbit.sync("http://127.0.0.1:9", "token", None))
    kept = open_learner(other, other_keys)
    assert kept.projection_digest() == other_digest
    assert [course.id for course in kept.catalog()] == [COURSE]
    kept.close_store()


class LockedAfterOpen(MemoryKeyStore):
    """Hands over the key, but cannot destroy it (the device locked in between)."""

    def destroy_at_rest_key(self):
        raise tb.KeyStoreError.Unavailable(reason="the device is locked")


def test_a_key_store_that_cannot_destroy_the_key_leaves_the_store_working(config, pack_copy):
    keys = LockedAfterOpen()
    digest, _ = reflect(config, pack_copy, keys.at_rest)
    tidbit = open_learner(config, keys)

    with pytest.raises(tb.TidbitError.KeyStore) as error:
        tidbit.erase()

    assert "the device is locked" in str(error.value)
    assert "nothing was removed" in str(error.value)
    assert tidbit.projection_digest() == digest
    tidbit.close_store()


def test_a_learner_the_server_erased_gets_erased_on_sync_and_keeps_the_data_on_the_device(
    config, pack_copy
):
    url = os.environ["TIDBIT_SYNC_URL"]
    erased = tb.TidbitConfig(
        data_dir=config.data_dir,
        learner_id="erased@example.org",
        device_id="phone",
        time_zone=config.time_zone,
        trusted_keys=config.trusted_keys,
    )
    keys = MemoryKeyStore()
    reflect(erased, pack_copy, keys.at_rest)
    tidbit = open_learner(erased, keys)
    asyncio.run(tidbit.sync(url, os.environ["TIDBIT_ERASED_TOKEN"], None))
    digest = tidbit.projection_digest()
    request = urllib.request.Request(
        f"{url}/v1/admin/learners/erased@example.org",
        method="DELETE",
        headers={"Authorization": f"Bearer {os.environ['TIDBIT_ADMIN_TOKEN']}"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200

    with pytest.raises(tb.TidbitError.Erased) as error:
        asyncio.run(tidbit.sync(url, os.environ["TIDBIT_ERASED_TOKEN"], None))

    assert "erased this learner's data" in str(error.value)
    assert tidbit.projection_digest() == digest
    tidbit.close_store()
