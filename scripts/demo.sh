#!/usr/bin/env bash
# Tidbit's main job on its embedded defaults: an author signs the two sample courses, a device
# verifies and installs them offline, and the catalog is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidbit-target}"
cargo build --release --locked -p tidbit-cli
tidbit="$CARGO_TARGET_DIR/release/tidbit"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$tidbit" keygen "$work/author"
for course in customer-objections field-safety; do
  "$tidbit" pack build "content/$course" --key "$work/author.key" --out "$work/$course.tidbit"
  "$tidbit" pack verify "$work/$course.tidbit" --trust "$work/author.pub"
  "$tidbit" install "$work/$course.tidbit" --data "$work/device" --trust "$work/author.pub"
done
"$tidbit" catalog --data "$work/device"
for course in customer-objections field-safety; do
  echo
  echo "== 30 simulated learners, 60 days: $course"
  "$tidbit" simulate "$work/$course.tidbit" --trust "$work/author.pub" --days 60 --learners 30 --seed 1
done
