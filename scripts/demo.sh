#!/usr/bin/env bash
# Tidbit's main job on its embedded defaults: an embedded sync server on a free loopback port,
# one learner's phone and tablet learning offline on different days, syncing, and converging.
# The last line reads `converged: phone=<digest> tablet=<digest> server=<digest>`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidbit-target}"
cargo build --release --locked -p tidbit-cli
"$CARGO_TARGET_DIR/release/tidbit" demo "$@"
