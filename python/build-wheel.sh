#!/usr/bin/env bash
# Builds the `tidbit` wheel for this machine: the release library (stripped, LTO), the Python
# bindings generated from a debug build of the same crate (the stripped library carries no UniFFI
# metadata), and the package in python/. The wheel lands in python/dist/.
#   python/build-wheel.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidbit-target}"
# The cdylib alone: smaller than when built beside the staticlib and rlib (see README).
cargo rustc --locked -q --release -p tidbit-ffi --lib --crate-type cdylib
cargo build --locked -q -p tidbit-ffi
"$CARGO_TARGET_DIR/debug/uniffi-bindgen" generate --no-format --language python \
  --out-dir python/tidbit "$CARGO_TARGET_DIR/debug/libtidbit_ffi.so" >/dev/null
cp "$CARGO_TARGET_DIR/release/libtidbit_ffi.so" python/tidbit/
python3 -m pip wheel -q --no-deps --wheel-dir python/dist ./python
ls python/dist/*.whl
