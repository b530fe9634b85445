#!/usr/bin/env bash
# Tidbit beside Anki's Rust backend (the PyPI package `anki`) on the same history: 20,000 items
# and 200,000 reviews, with the same times and grades, FSRS on both sides. A figure, never a
# test: nothing here fails on a number.
#
#   scripts/bench_vs_anki.sh [--rounds N] [--opens N] [--answers N]
#
# 1. Tidbit's benchmark history (core/benches/support/history.rs: generated through the real
#    engine the first time, cached under the target directory) is exported: items, review log,
#    card states (core/examples/vs_anki.rs).
# 2. Anki is installed from the package index into a virtual environment under the target
#    directory (once; ANKI_VERSION pins it), and each round builds an Anki collection holding the
#    same history, shifted to end now (scripts/bench_vs_anki.py build).
# 3. Each round runs each side in its own fresh process on a fresh copy: Tidbit, then Anki as it
#    ships (synchronous=FULL), then Anki with synchronous=NORMAL as Tidbit's store runs; each
#    times open-to-first-card and answer-plus-next call by call and reads its peak RSS.
# 4. The report: medians and p95 over all rounds, Anki, Tidbit, Tidbit/Anki, and whether that is
#    at most 0.5x. Raw samples stay in $CARGO_TARGET_DIR/bench-vs-anki/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
OPENS=20
ANSWERS=400
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --opens) OPENS="$2"; shift 2 ;;
    --answers) ANSWERS="$2"; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--opens N] [--answers N]" >&2; exit 2 ;;
  esac
done

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
WORK="$TARGET/bench-vs-anki"
ANKI_VERSION="${ANKI_VERSION:-26.9.3}"
VENV="$WORK/venv"
VPY="$VENV/bin/python"
# The history's learner lives in Europe/Berlin; Anki takes its day boundaries from TZ.
export TZ=Europe/Berlin
mkdir -p "$WORK"

step() { printf '\n== %s\n' "$*"; }

step "Anki $ANKI_VERSION in $VENV"
if ! "$VPY" -c "import sys, importlib.metadata as m; sys.exit(m.version('anki') != '$ANKI_VERSION')" 2>/dev/null; then
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VPY" -m pip install --quiet --disable-pip-version-check "anki==$ANKI_VERSION"
fi
"$VPY" -c "import importlib.metadata as m; print('anki', m.version('anki'))"

step "cargo build --release -p tidbit-core --example vs_anki"
cargo build --locked --release -q -p tidbit-core --example vs_anki
BIN="$TARGET/release/examples/vs_anki"

step "the history (generated once through the engine: minutes) and its export"
"$BIN" export "$WORK/history.json"

rm -f "$WORK"/tidbit-*.json "$WORK"/anki-*.json
for round in $(seq 1 "$ROUNDS"); do
  step "round $round/$ROUNDS: Tidbit"
  "$BIN" measure --opens "$OPENS" --answers "$ANSWERS" > "$WORK/tidbit-$round.json"
  step "round $round/$ROUNDS: Anki (a fresh collection with the same history, ending now)"
  rm -rf "$WORK/collection"
  mkdir -p "$WORK/collection"
  "$VPY" scripts/bench_vs_anki.py build "$WORK/history.json" "$WORK/collection/pristine.anki2"
  for variant in full normal; do
    cp "$WORK/collection/pristine.anki2" "$WORK/collection/$variant.anki2"
    sync_flag=()
    [ "$variant" = normal ] && sync_flag=(--synchronous normal)
    "$VPY" scripts/bench_vs_anki.py measure "$WORK/collection/$variant.anki2" \
      --tidbit "$WORK/tidbit-$round.json" --opens "$OPENS" "${sync_flag[@]}" \
      > "$WORK/anki-$variant-$round.json"
  done
done

step "Tidbit beside Anki: $ROUNDS round(s), $OPENS opens and up to $ANSWERS answers each"
"$VPY" scripts/bench_vs_anki.py report \
  --anki "$WORK"/anki-full-*.json --tidbit "$WORK"/tidbit-*.json \
  --anki-normal "$WORK"/anki-normal-*.json
