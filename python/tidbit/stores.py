"""Opening a learner's store from a script, and the command-line options that say which."""

import argparse
import datetime
import pathlib
from typing import Optional

from . import tidbit_ffi as ffi


class NoSigningKey(ffi.KeyStore):
    """A key store for tools that issue no certificates and keep their own stores in plain form
    (a report store on an L&D machine; learners' devices seal theirs)."""

    def certificate_signing_key(self):
        return None

    def at_rest_key(self):
        return None

    def destroy_at_rest_key(self):
        pass


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="the learner store's directory")
    parser.add_argument("--learner", required=True, help="the learner's id")
    parser.add_argument("--device", required=True, help="this store's device id (unique)")
    parser.add_argument("--tz", default="UTC", help="IANA time zone for day boundaries")
    parser.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="AUTHOR.pub",
        help="a pack author's public key file (repeatable)",
    )


class FixedClock(ffi.Clock):
    """Time standing still at one instant: a report "as of" a date."""

    def __init__(self, at_ms: int):
        self.at_ms = at_ms

    def now_ms(self):
        return self.at_ms


def instant_ms(text: str) -> int:
    """An ISO 8601 instant (`2026-09-30T17:00:00Z`, or a date, taken as its UTC midnight) in
    milliseconds since the epoch."""
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 instant, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1000)


def open_store(args: argparse.Namespace, at_ms: Optional[int] = None) -> ffi.Tidbit:
    """Opens (creating if needed) the store the options name, on the system clock or, with
    `at_ms`, at that instant."""
    config = ffi.TidbitConfig(
        data_dir=str(args.data),
        learner_id=args.learner,
        device_id=args.device,
        time_zone=args.tz,
        trusted_keys=[pathlib.Path(key).read_text() for key in args.trust],
    )
    if at_ms is None:
        return ffi.Tidbit.open(config, NoSigningKey())
    return ffi.Tidbit.open_with_clock(config, NoSigningKey(), FixedClock(at_ms))
