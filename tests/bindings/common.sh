# Shared set-up for the binding suites; sourced by kotlin.sh, python.sh and swift.sh.
#
# Builds the FFI library (with the `test-hooks` feature, so the suites can force an internal
# panic), the `uniffi-bindgen` binary and the `tidbit` CLI; signs the fixture course into a
# pack in a fresh work directory. Tools the suites install go to $TIDBIT_TOOLS_DIR (default
# ~/.cache/tidbit-tools), reused between runs.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidbit-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
TOOLS="${TIDBIT_TOOLS_DIR:-$HOME/.cache/tidbit-tools}"
mkdir -p "$TOOLS"
LIB="$CARGO_TARGET_DIR/debug/libtidbit_ffi.so"
BINDGEN="$CARGO_TARGET_DIR/debug/uniffi-bindgen"
TIDBIT="$CARGO_TARGET_DIR/debug/tidbit"

step() { echo "== $*"; }

# The library, the bindgen and the CLI, in one cargo call.
build_library() {
  step "cargo build -p tidbit-ffi --features test-hooks, -p tidbit-cli"
  cargo build --locked -q -p tidbit-ffi --features test-hooks -p tidbit-cli
}

# A work directory removed on exit, holding the signed fixture pack and the issuer's keys.
make_fixture() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/tidbit-bindings.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  "$TIDBIT" keygen "$WORK/author" >/dev/null
  "$TIDBIT" keygen "$WORK/issuer" >/dev/null
  "$TIDBIT" pack build tests/bindings/fixtures/every-kind --key "$WORK/author.key" \
    --out "$WORK/tour.tidbit" --deny-warnings >/dev/null
  export TIDBIT_PACK="$WORK/tour.tidbit"
  export TIDBIT_AUTHOR_PUB="$WORK/author.pub"
  export TIDBIT_ISSUER_KEY="$WORK/issuer.key"
  export TIDBIT_ISSUER_PUB="$WORK/issuer.pub"
}

# A Python virtual environment in the tools directory with the given PyPI packages.
python_env() {
  local venv="$TOOLS/venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -m pip show -q "$@" >/dev/null 2>&1; then
    step "pip install $*"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@"
  fi
  PYTHON="$venv/bin/python"
}

# Seconds since the script started, for the summary line.
SECONDS=0
