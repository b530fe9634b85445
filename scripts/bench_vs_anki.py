"""Anki's side of scripts/bench_vs_anki.sh, and the report that sets both sides side by side.

    bench_vs_anki.py build EXPORT.json COLLECTION.anki2
    bench_vs_anki.py measure COLLECTION.anki2 --tidbit TIDBIT.json [--opens N] [--synchronous MODE]
    bench_vs_anki.py report --anki A.json ... --tidbit T.json ... [--anki-normal N.json ...]

build: an Anki collection holding the history Tidbit's `vs_anki export` wrote, through Anki's
Python package (its Rust backend): one Basic note per item, FSRS on with Tidbit's parameters,
desired retention and learning steps, and no review limit below the due count (as Tidbit's home
screen counts every due card); each card's FSRS memory state, phase, step and due date set from
Tidbit's card state with `update_cards`, and the review log inserted row by row with the
collection's own database call. Anki's scheduler runs on the system clock, so the whole history
is shifted: Anki's "now" is the instant Tidbit runs at (a week after the history ends).

measure: in a fresh process, the peak resident set before and after the first open to the first
card, then, call by call (wall and process CPU time):
  open:   Collection(path), sched.get_queued_cards() (the next card, its FSRS states and the
          new/learning/review counts), rendering that card's question; closing is not timed;
  answer: sched.answer_card() with the state the queue gave (the review log row, the card, the
          undo entry, in one committed transaction), then get_queued_cards() and the next card's
          question; with Tidbit's grades and response times, in the same order.

report: the medians and 95th percentiles over every run, each side's figure and their ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time

DAY_MS = 86_400_000


def memory() -> dict:
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0])
    return {"hwm_kb": fields.get("VmHWM"), "rss_kb": fields.get("VmRSS")}


class Samples:
    def __init__(self) -> None:
        self.wall_ns: list[int] = []
        self.cpu_ns: list[int] = []

    def time(self, call):
        cpu = time.process_time_ns()
        started = time.perf_counter_ns()
        out = call()
        self.wall_ns.append(time.perf_counter_ns() - started)
        self.cpu_ns.append(time.process_time_ns() - cpu)
        return out

    def json(self) -> dict:
        return {"wall_ns": self.wall_ns, "cpu_ns": self.cpu_ns}


class Parts:
    """One open to the first card, or one answer plus next: its calls and their sum."""

    def __init__(self, first: str) -> None:
        self.first_name = first
        self.first = Samples()
        self.queue = Samples()
        self.render = Samples()
        self.total = Samples()

    def add_total(self) -> None:
        parts = (self.first, self.queue, self.render)
        self.total.wall_ns.append(sum(p.wall_ns[-1] for p in parts))
        self.total.cpu_ns.append(sum(p.cpu_ns[-1] for p in parts))

    def json(self) -> dict:
        return {
            "total": self.total.json(),
            self.first_name: self.first.json(),
            "get_queued_cards": self.queue.json(),
            "render_question": self.render.json(),
        }


# ---------------------------------------------------------------------------------------------
# build


def anki_day(secs: float, rollover_hours: int) -> dt.date:
    """The day Anki files an instant under: local time (TZ) less the rollover hour."""
    return (dt.datetime.fromtimestamp(secs) - dt.timedelta(hours=rollover_hours)).date()


def build(export_path: str, collection_path: str) -> None:
    from anki.collection import AddNoteRequest, Collection  # first: anki.cards needs it
    from anki.cards import Card
    from anki.cards_pb2 import FsrsMemoryState
    from anki.consts import (
        CARD_TYPE_LRN,
        CARD_TYPE_RELEARNING,
        CARD_TYPE_REV,
        QUEUE_TYPE_LRN,
        QUEUE_TYPE_REV,
    )
    from anki.decks import DeckId, UpdateDeckConfigs

    started = time.monotonic()
    with open(export_path) as f:
        history = json.load(f)
    items, reviews, cards = history["items"], history["reviews"], history["cards"]
    if os.path.exists(collection_path):
        os.remove(collection_path)
    col = Collection(collection_path)
    deck = DeckId(1)

    # Deck options: FSRS with Tidbit's parameters, retention and steps; every due card counted.
    options = col.decks.get_deck_configs_for_update(deck)
    config = options.all_config[0].config
    config.config.desired_retention = history["desired_retention"]
    del config.config.fsrs_params_6[:]
    config.config.fsrs_params_6.extend(history["fsrs_parameters"])
    del config.config.learn_steps[:]
    config.config.learn_steps.extend(history["learning_steps_minutes"])
    del config.config.relearn_steps[:]
    config.config.relearn_steps.extend(history["relearning_steps_minutes"])
    config.config.reviews_per_day = 9999
    col.decks.update_deck_configs(
        UpdateDeckConfigs(
            target_deck_id=deck,
            configs=[config],
            limits=options.current_deck.limits,
            fsrs=True,
        )
    )
    decay = history["fsrs_parameters"][20]

    basic = col.models.by_name("Basic")
    requests = []
    for item in items:
        note = col.new_note(basic)
        note["Front"] = item["prompt"] + "<br>" + " / ".join(item["choices"])
        note["Back"] = item["explanation"]
        requests.append(AddNoteRequest(note=note, deck_id=deck))
    col.add_notes(requests)
    phases = {"notes": time.monotonic() - started}
    card_of_note = dict(col.db.all("select nid, id from cards"))
    card_ids = [card_of_note[request.note.id] for request in requests]

    # Tidbit runs at `now_ms` (a week after the history); Anki runs now.
    now_ms = int(time.time() * 1000)
    shift_ms = now_ms - history["now_ms"]
    rollover = col.get_preferences().scheduling.rollover
    today = col.sched.today
    now_day = anki_day(now_ms / 1000, rollover)

    updated = []
    for state in cards:
        card = Card(col, card_ids[state["item"]])
        due_ms = state["due_ms"] + shift_ms
        last_ms = state["last_review_ms"] + shift_ms
        if state["phase"] == "review":
            card.type, card.queue = CARD_TYPE_REV, QUEUE_TYPE_REV
            card.due = today + (anki_day(due_ms / 1000, rollover) - now_day).days
            card.ivl = max(1, round((state["due_ms"] - state["last_review_ms"]) / DAY_MS))
            card.left = 0
        else:
            relearning = state["phase"] == "relearning"
            steps = history["relearning_steps_minutes" if relearning else "learning_steps_minutes"]
            card.type = CARD_TYPE_RELEARNING if relearning else CARD_TYPE_LRN
            card.queue = QUEUE_TYPE_LRN
            card.due = due_ms // 1000
            card.ivl = max(1, round(state["stability"])) if relearning else 0
            card.left = max(1, len(steps) - state["learning_step"])
        card.factor = 2500
        card.reps = state["reps"]
        card.lapses = state["lapses"]
        card.memory_state = FsrsMemoryState(
            stability=state["stability"], difficulty=state["difficulty"]
        )
        card.desired_retention = history["desired_retention"]
        card.decay = decay
        card.last_review_time = last_ms // 1000
        updated.append(card)
    col.update_cards(updated, skip_undo_entry=True)
    phases["cards"] = time.monotonic() - started - sum(phases.values())

    rows, last_id = [], 0
    for item, at_ms, rating, response_ms, kind, ivl, last_ivl in reviews:
        revlog_id = max(at_ms + shift_ms, last_id + 1)
        last_id = revlog_id
        factor = 2500 if kind == 1 else 0
        rows.append(
            (revlog_id, card_ids[item], -1, rating, ivl, last_ivl, factor,
             min(response_ms, 60_000), kind)
        )
    # One transaction: row by row, each insert would commit (and sync) on its own.
    col.db.transact(
        lambda: col.db.executemany(
            "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    )
    phases["review log"] = time.monotonic() - started - sum(phases.values())
    queued = col.sched.get_queued_cards()
    col.close()
    print(
        f"Anki collection: {len(items)} notes, {len(cards)} cards with history, "
        f"{len(rows)} review log rows; queue now: {queued.review_count} review, "
        f"{queued.learning_count} learning, {queued.new_count} new "
        f"(Tidbit at the same instant: {history['due_counts']}); "
        f"built in {time.monotonic() - started:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()) + ")",
        file=sys.stderr,
    )


# ---------------------------------------------------------------------------------------------
# measure


def measure(collection_path: str, tidbit_path: str, opens: int, synchronous: str | None) -> dict:
    # Importing the package (Python modules and the backend library) comes before the baseline.
    from anki.collection import Collection  # first: anki.cards needs it
    from anki.cards import Card
    from anki.scheduler_pb2 import CardAnswer

    with open(tidbit_path) as f:
        tidbit = json.load(f)
    grades, response_ms = tidbit["grades"], tidbit["response_ms"]

    def open_collection() -> Collection:
        col = Collection(collection_path)
        if synchronous:
            col.db.execute(f"pragma synchronous = {synchronous}")
        return col

    def show(col: Collection, queued) -> str:
        return Card(col, backend_card=queued.cards[0].card).question()

    def first_card(parts: Parts):
        col = parts.first.time(open_collection)
        queued = parts.queue.time(lambda: col.sched.get_queued_cards(fetch_limit=1))
        parts.render.time(lambda: show(col, queued))
        parts.add_total()
        return col, queued

    load_average = os.getloadavg()[0]
    before_open = memory()
    first_open = Parts("open")
    col, queued = first_card(first_open)
    after_open = memory()
    first_counts = {
        "review": queued.review_count,
        "learning": queued.learning_count,
        "new": queued.new_count,
    }
    col.close()

    home = Parts("open")
    for _ in range(opens):
        col, _ = first_card(home)
        col.close()

    col = open_collection()
    queued = col.sched.get_queued_cards(fetch_limit=1)
    loop = Parts("answer_card")
    ratings = [CardAnswer.AGAIN, CardAnswer.HARD, CardAnswer.GOOD, CardAnswer.EASY]
    kinds = {}
    first_answer_ns = None
    for grade, ms in zip(grades, response_ms):
        if not queued.cards:
            break
        top = queued.cards[0]
        kinds[top.queue] = kinds.get(top.queue, 0) + 1
        states = top.states
        new_state = (states.again, states.hard, states.good, states.easy)[grade - 1]
        answer = CardAnswer(
            card_id=top.card.id,
            current_state=states.current,
            new_state=new_state,
            rating=ratings[grade - 1],
            answered_at_millis=int(time.time() * 1000),
            milliseconds_taken=ms,
        )
        loop.first.time(lambda: col.sched.answer_card(answer))
        if first_answer_ns is None:
            first_answer_ns = loop.first.wall_ns[-1]
        queued = loop.queue.time(lambda: col.sched.get_queued_cards(fetch_limit=1))
        if queued.cards:
            loop.render.time(lambda: show(col, queued))
        else:
            loop.render.wall_ns.append(0)
            loop.render.cpu_ns.append(0)
        loop.add_total()
    counts_after = {
        "review": queued.review_count,
        "learning": queued.learning_count,
        "new": queued.new_count,
    }
    pragmas = {
        "journal_mode": col.db.scalar("pragma journal_mode"),
        "synchronous": col.db.scalar("pragma synchronous"),
    }
    col.close()
    import anki.buildinfo

    return {
        "engine": "anki",
        "version": anki.buildinfo.version,
        "load_average": load_average,
        "pragmas": pragmas,
        "memory": {"before_open": before_open, "after_open": after_open, "at_end": memory()},
        "first_open": first_open.json(),
        "first_counts": first_counts,
        "counts_after": counts_after,
        "open": home.json(),
        "answer": loop.json(),
        "first_answer_wall_ns": first_answer_ns,
        "answers": len(loop.total.wall_ns),
        "answered_from_queue": {str(k): v for k, v in kinds.items()},
    }


# ---------------------------------------------------------------------------------------------
# report


def quantile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[round((len(ordered) - 1) * q)]


def pooled(runs: list[dict], *path: str) -> list[int]:
    values: list[int] = []
    for run in runs:
        node = run
        for key in path:
            node = node[key]
        values.extend(node)
    return values


def fmt_ms(ns: float) -> str:
    ms = ns / 1e6
    return f"{ms:.3f} ms" if ms < 10 else f"{ms:.1f} ms"


def report(anki: list[dict], tidbit: list[dict], anki_normal: list[dict]) -> None:
    rows = []  # (measure, Anki, Tidbit, Tidbit/Anki, verdict); None is a blank line

    def ratio_cells(av: float, tv: float, judged: bool) -> tuple[str, str]:
        ratio = tv / av if av else float("nan")
        return f"{ratio:.3f}x", (("yes" if ratio <= 0.5 else "NO") if judged else "")

    def time_rows(label, anki_runs, anki_path, tidbit_path, clock="wall_ns", judged=True):
        a = pooled(anki_runs, *anki_path, clock)
        t = pooled(tidbit, *tidbit_path, clock)
        for name, q in (("median", 0.5), ("p95", 0.95)):
            av, tv = quantile(a, q), quantile(t, q)
            rows.append((f"{label}, {name}", fmt_ms(av), fmt_ms(tv), *ratio_cells(av, tv, judged)))

    def memory_row(label, at, above_baseline, judged):
        def figure(run):
            peak = run["memory"][at]["hwm_kb"]
            return peak - (run["memory"]["before_open"]["hwm_kb"] if above_baseline else 0)

        av = statistics.median(figure(r) for r in anki)
        tv = statistics.median(figure(r) for r in tidbit)
        rows.append((label, f"{av / 1024:.1f} MB", f"{tv / 1024:.1f} MB",
                     *ratio_cells(av, tv, judged)))

    shipped = "vs Anki FULL"
    normal = "vs Anki NORMAL"
    time_rows("(a) open to the first card + due counts", anki, ("open", "total"),
              ("open", "total"))
    time_rows(f"(b) answer + next card + due counts, {shipped}", anki, ("answer", "total"),
              ("answer", "total"))
    if anki_normal:
        time_rows(f"(b) answer + next card + due counts, {normal}", anki_normal,
                  ("answer", "total"), ("answer", "total"))
    memory_row("(c) peak RSS after open, above before open", "after_open", True, True)
    rows.append(None)
    time_rows("(a) CPU time", anki, ("open", "total"), ("open", "total"), "cpu_ns", False)
    time_rows("(b) CPU time", anki, ("answer", "total"), ("answer", "total"), "cpu_ns", False)
    time_rows(f"(b') answer + next planned card, {shipped}", anki,
              ("answer", "total"), ("session", "total"), judged=False)
    if anki_normal:
        time_rows(f"(b') answer + next planned card, {normal}",
                  anki_normal, ("answer", "total"), ("session", "total"), judged=False)
    time_rows("open alone", anki, ("open", "open"), ("open", "open"), judged=False)
    time_rows(f"answer alone, {shipped}", anki, ("answer", "answer_card"), ("answer", "answer"),
              judged=False)
    if anki_normal:
        time_rows(f"answer alone, {normal}", anki_normal, ("answer", "answer_card"),
                  ("answer", "answer"), judged=False)
    memory_row("peak RSS after open, whole process", "after_open", False, False)
    memory_row("peak RSS after the answers, above before open", "at_end", True, False)
    memory_row("peak RSS after the answers, whole process", "at_end", False, False)

    print("Anki FULL: Anki as it ships (WAL, synchronous=FULL: a sync per commit); Anki NORMAL: the")
    print("same with synchronous=NORMAL, the durability Tidbit's store runs at (WAL, NORMAL).")
    print("(b') is Tidbit's session loop (one plan, then answer + the next planned step, no counts)")
    print("against Anki's (b). Times are wall clock unless marked CPU (process CPU, every thread).")
    print()
    shown = [r for r in rows if r]
    widths = [max(len(str(r[i])) for r in shown + [HEADER]) for i in range(5)]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    print(line(HEADER))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r) if r else "")

    def parts(runs, section):
        out = []
        for name in runs[0][section]:
            if name != "total":
                out.append(f"{name} {fmt_ms(quantile(pooled(runs, section, name, 'wall_ns'), 0.5))}")
        return ", ".join(out)

    a, t = anki[0], tidbit[0]
    print()
    print(f"medians of the parts (wall): Anki open: {parts(anki, 'open')}; "
          f"Anki answer: {parts(anki, 'answer')}")
    print(f"  Tidbit open: {parts(tidbit, 'open')}; Tidbit answer: {parts(tidbit, 'answer')}; "
          f"Tidbit session loop: {parts(tidbit, 'session')}")
    print(f"Anki {a['version']} ({a['pragmas']}); {len(anki)} run(s) of "
          f"{len(a['open']['total']['wall_ns'])} opens and {a['answers']} answers each; "
          f"cards answered by queue: {a['answered_from_queue']} (0 new, 1 learning, 2 review)")
    print(f"Tidbit: {len(tidbit)} run(s) of {len(t['open']['total']['wall_ns'])} opens and "
          f"{t['answers']} answers (and {len(t['session']['total']['wall_ns'])} in the session "
          f"loop) each; {sum(r['lessons_viewed'] for r in tidbit)} remediation lessons viewed "
          "(untimed)")
    print(f"due at open: Anki {a['first_counts']}; Tidbit {t['first_counts']}")
    first = lambda runs: fmt_ms(statistics.median(r["first_answer_wall_ns"] for r in runs))  # noqa: E731
    print(f"first answer after open (median of runs): Anki {first(anki)}, Tidbit {first(tidbit)}")
    mem = lambda r: ", ".join(  # noqa: E731
        f"{k} {r['memory'][k]['hwm_kb'] / 1024:.1f} MB" for k in ("before_open", "after_open", "at_end"))
    print(f"peak RSS, first run: Anki {mem(a)}; Tidbit {mem(t)}")
    loads = [r["load_average"] for r in anki + tidbit if r.get("load_average") is not None]
    if loads:
        print(f"load average (1 min) when each side started: {min(loads):.1f} to {max(loads):.1f} "
              f"on {os.cpu_count()} cores")


HEADER = ("measure", "Anki", "Tidbit", "Tidbit/Anki", "<= 0.5x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("export")
    b.add_argument("collection")
    m = sub.add_parser("measure")
    m.add_argument("collection")
    m.add_argument("--tidbit", required=True, help="a Tidbit run's JSON: its grades are reused")
    m.add_argument("--opens", type=int, default=20)
    m.add_argument("--synchronous", choices=["normal", "full"])
    r = sub.add_parser("report")
    r.add_argument("--anki", nargs="+", required=True)
    r.add_argument("--tidbit", nargs="+", required=True)
    r.add_argument("--anki-normal", nargs="*", default=[])
    args = parser.parse_args()
    if args.command == "build":
        build(args.export, args.collection)
    elif args.command == "measure":
        print(json.dumps(measure(args.collection, args.tidbit, args.opens, args.synchronous)))
    else:
        load = lambda paths: [json.load(open(p)) for p in paths]  # noqa: E731
        report(load(args.anki), load(args.tidbit), load(args.anki_normal))


if __name__ == "__main__":
    main()
