"""Progress reports for the L&D team: what a learner has unlocked, passed and mastered.

A report reads a learner store through the same calls the apps make (`catalog`, `stages`,
`mastery`, `streak`, `due_counts`), now or as of a given instant (recall, and so mastery, decays
with time); with a sync server and a token it first brings the learner's events from every device
into that store, so a report can be made away from the learner's phone. Reading records nothing.
"""

import argparse
import asyncio
import csv
import datetime
import io
import json
import sys
from typing import Any, Dict, Optional, Sequence

from . import tidbit_ffi as ffi
from .stores import add_store_arguments, instant_ms, open_store


def iso_instant(ms: Optional[int]) -> Optional[str]:
    """UTC milliseconds as ISO 8601 text to the second (`2026-09-21T14:13:20Z`)."""
    if ms is None:
        return None
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def progress_report(tidbit: ffi.Tidbit) -> Dict[str, Any]:
    """The learner's progress in every installed course, as plain data (JSON-ready)."""
    courses = []
    for course in tidbit.catalog():
        stages = tidbit.stages(course.id)
        courses.append(
            {
                "id": course.id,
                "title": course.title,
                "version": course.version,
                "enrolled": bool(stages),
                "stages": [
                    {
                        "stage": stage.stage,
                        "unlocked_at": iso_instant(stage.unlocked_ms),
                        "passed_at": iso_instant(stage.passed_ms),
                        "checks": stage.checks,
                    }
                    for stage in stages
                ],
                "mastery": {m.skill: round(m.mastery, 4) for m in tidbit.mastery(course.id)},
            }
        )
    streak = tidbit.streak()
    due = tidbit.due_counts()
    return {
        "courses": courses,
        "streak": {"current": streak.current, "longest": streak.longest},
        "due": {"now": due.due_now, "today": due.due_today, "remediations": due.remediations},
    }


def report_csv(report: Dict[str, Any], learner: str) -> str:
    """One row per learner, course and stage: the shape spreadsheets and BI imports take."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["learner", "course", "version", "stage", "unlocked_at", "passed_at", "checks", "mastery"])
    for course in report["courses"]:
        mastery = ";".join(f"{skill}={value}" for skill, value in sorted(course["mastery"].items()))
        for stage in course["stages"] or [{"stage": "", "unlocked_at": None, "passed_at": None, "checks": 0}]:
            writer.writerow(
                [
                    learner,
                    course["id"],
                    course["version"],
                    stage["stage"],
                    stage["unlocked_at"] or "",
                    stage["passed_at"] or "",
                    stage["checks"],
                    mastery,
                ]
            )
    return out.getvalue()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tidbit-report", description="Report a learner's progress from a Tidbit store."
    )
    add_store_arguments(parser)
    parser.add_argument("--sync-url", help="sync the learner's events from this server first")
    parser.add_argument("--token", help="the bearer token for --sync-url")
    parser.add_argument("--format", choices=["json", "csv"], default="json")
    parser.add_argument(
        "--at",
        type=instant_ms,
        metavar="ISO8601",
        help="report as of this instant (mastery and streaks depend on time); default now",
    )
    args = parser.parse_args(argv)
    if bool(args.sync_url) != bool(args.token):
        parser.error("--sync-url and --token go together")
    tidbit = open_store(args, args.at)
    try:
        if args.sync_url:
            synced = asyncio.run(tidbit.sync(args.sync_url, args.token))
            print(
                f"synced: {synced.events_received} events received in {synced.round_trips} round trips",
                file=sys.stderr,
            )
        report = progress_report(tidbit)
    except ffi.TidbitError as error:
        print(f"tidbit-report: {error}", file=sys.stderr)
        return 1
    finally:
        tidbit.close_store()
    if args.format == "csv":
        sys.stdout.write(report_csv(report, args.learner))
    else:
        as_of = iso_instant(args.at) if args.at is not None else None
        json.dump({"learner": args.learner, "as_of": as_of, **report}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
