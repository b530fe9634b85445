"""Scripted imports: verify and install signed course packs into a learner store, and enroll.

For provisioning: a shared tablet in a training room, a batch of field phones prepared before
they go offline. Every pack is verified against the trusted author keys by the core; a pack that
fails is reported and changes nothing, and the remaining packs are still installed.
"""

import argparse
import asyncio
import sys
from typing import Iterable, List, Optional, Sequence, Tuple

from . import tidbit_core as core
from . import tidbit_ffi as ffi
from .stores import add_store_arguments, open_store


def import_packs(
    tidbit: ffi.Tidbit,
    packs: Iterable[str],
    enroll: Sequence[Tuple[str, str]] = (),
) -> Tuple[List[core.InstallReport], List[Tuple[str, ffi.TidbitError]]]:
    """Installs each pack, then enrolls on each `(course, path)`. Returns the install reports and
    the packs that were refused, with the core's error."""
    installed, refused = [], []
    for pack in packs:
        try:
            installed.append(asyncio.run(tidbit.install_pack(str(pack), None)))
        except ffi.TidbitError as error:
            refused.append((str(pack), error))
    for course, path in enroll:
        tidbit.enroll(course, path)
    return installed, refused


def _course_and_path(text: str) -> Tuple[str, str]:
    course, sep, path = text.partition(":")
    if not sep or not course or not path:
        raise argparse.ArgumentTypeError(f"expected COURSE:PATH, got {text!r}")
    return course, path


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tidbit-import", description="Install signed Tidbit packs into a learner store."
    )
    parser.add_argument("packs", nargs="+", metavar="PACK", help="a .tidbit pack file")
    add_store_arguments(parser)
    parser.add_argument(
        "--enroll",
        action="append",
        default=[],
        type=_course_and_path,
        metavar="COURSE:PATH",
        help="enroll the learner on a path once the packs are in (repeatable)",
    )
    args = parser.parse_args(argv)
    tidbit = open_store(args)
    try:
        installed, refused = import_packs(tidbit, args.packs, args.enroll)
    except ffi.TidbitError as error:
        print(f"tidbit-import: {error}", file=sys.stderr)
        return 1
    finally:
        tidbit.close_store()
    for report in installed:
        print(
            f"installed {report.course_id} {report.version}: {report.steps_added} steps added, "
            f"{report.steps_kept} kept, {len(report.steps_retired)} retired"
        )
    for pack, error in refused:
        print(f"refused {pack}: {error}", file=sys.stderr)
    for course, path in args.enroll:
        print(f"enrolled on {course}:{path}")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
