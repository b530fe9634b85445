"""µs per next_activity() through the Python bindings (tests/bindings/measure.sh)."""

import asyncio
import os
import sys
import tempfile
import time

import tidbit as tb


class NoKeys(tb.KeyStore):
    def certificate_signing_key(self):
        return None

    def at_rest_key(self):
        return None

    def destroy_at_rest_key(self):
        pass


def main(calls):
    with tempfile.TemporaryDirectory() as work:
        config = tb.TidbitConfig(
            data_dir=work,
            learner_id="bench",
            device_id="bench-python",
            time_zone="Europe/Berlin",
            trusted_keys=[open(os.environ["TIDBIT_AUTHOR_PUB"]).read()],
        )
        tidbit = tb.Tidbit.open(config, NoKeys())
        asyncio.run(tidbit.install_pack(os.environ["TIDBIT_PACK"], None))
        tidbit.enroll("binding-tour", "tourist")
        tidbit.start_module("binding-tour", "tour")
        tidbit.answer("binding-tour", "tour-single", tb.Response.SINGLE_CHOICE(choice=0), 5_000)
        for _ in range(2_000):
            tidbit.next_activity()
        started, started_cpu = time.perf_counter(), time.thread_time()
        for _ in range(calls):
            tidbit.next_activity()
        wall = (time.perf_counter() - started) * 1e6 / calls
        cpu = (time.thread_time() - started_cpu) * 1e6 / calls
        tidbit.close_store()
    print(
        f"python via bindings:     {wall:8.1f} us/call wall, {cpu:8.1f} us/call thread CPU ({calls} calls)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000)
