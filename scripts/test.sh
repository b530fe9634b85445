#!/usr/bin/env bash
# Sets up and runs every Tidbit check: formatting, lints, and all tests.
# Needs the machine's Rust toolchain, JDK, Python and Node.js; cargo fetches every crate it
# needs, npm the LRS the learning-records tests deliver to and the OpenID provider the identity
# tests sign in through.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidbit-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One build from scratch: incremental state would only fill the disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== a real xAPI LRS for the learning-records tests (npm: xapi-statements, pinned)"
bash scripts/lrs.sh install
echo "== a real OpenID Connect provider for the identity tests (npm: oidc-provider, pinned)"
bash scripts/oidc.sh install
echo "== Debian Chromium and playwright-core for the dashboard's browser test"
bash scripts/browser.sh install
echo "== cargo test"
cargo test --workspace --locked
echo "== the server's suite again, on PostgreSQL (a throwaway cluster from Debian's packages)"
bash scripts/postgres.sh install
bash scripts/postgres.sh run bash -c 'cargo test -p tidbit-server --tests --locked &&
  cargo test -p tidbit-cli --test serve_copy --locked -- --include-ignored'
echo "== native bindings (Kotlin on the JVM, Python, Swift syntax)"
bash tests/bindings/kotlin.sh
bash tests/bindings/python.sh
bash tests/bindings/swift.sh

echo "== fuzzing (bounded; FUZZ_SECONDS per target)"
bash scripts/fuzz.sh
