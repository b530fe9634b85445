# Shared set-up for the binding suites; sourced by kotlin.sh, python.sh and swift.sh.
#
# Builds the FFI library (with the `test-hooks` feature, so the suites can force an internal
# panic), the `uniffi-bindgen` binary and the `tidbit` CLI; signs the fixture course into a
# pack in a fresh work directory; starts a `tidbit serve` on a free local port for the sync
# tests. Tools the suites install go to $TIDBIT_TOOLS_DIR (default
# ~/.cache/tidbit-tools), reused between runs.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidbit-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
TOOLS="${TIDBIT_TOOLS_DIR:-$HOME/.cache/tidbit-tools}"
mkdir -p "$TOOLS"
LIB="$CARGO_TARGET_DIR/debug/libtidbit_ffi.so"
BINDGEN="$CARGO_TARGET_DIR/debug/uniffi-bindgen"
TIDBIT="$CARGO_TARGET_DIR/debug/tidbit"

step() { echo "== $*"; }

# The library and the bindgen, then the CLI: two cargo calls, so the library is built as apps
# get it, without the core's reqwest transport (the CLI's), and every request the suites make
# travels through the package's own platform transport.
build_library() {
  step "cargo build -p tidbit-ffi --features test-hooks; cargo build -p tidbit-cli"
  cargo build --locked -q -p tidbit-ffi --features test-hooks
  cargo build --locked -q -p tidbit-cli
}

# A work directory removed on exit, holding the signed fixture packs (every item kind, and the
# spoken course for the voice tests) and the issuer's keys.
make_fixture() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/tidbit-bindings.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  "$TIDBIT" keygen "$WORK/author" >/dev/null
  "$TIDBIT" keygen "$WORK/issuer" >/dev/null
  "$TIDBIT" pack build tests/bindings/fixtures/every-kind --key "$WORK/author.key" \
    --out "$WORK/tour.tidbit" --deny-warnings >/dev/null
  "$TIDBIT" pack build tests/bindings/fixtures/spoken --key "$WORK/author.key" \
    --out "$WORK/spoken.tidbit" --deny-warnings >/dev/null
  # The customer-objections sample course, for the cohort tests (its reflections have criteria
  # peers rate).
  "$TIDBIT" pack build content/customer-objections --key "$WORK/author.key" \
    --out "$WORK/customer-objections.tidbit" --deny-warnings >/dev/null
  export TIDBIT_PACK="$WORK/tour.tidbit"
  export TIDBIT_VOICE_PACK="$WORK/spoken.tidbit"
  export TIDBIT_COHORT_PACK="$WORK/customer-objections.tidbit"
  export TIDBIT_AUTHOR_PUB="$WORK/author.pub"
  export TIDBIT_ISSUER_KEY="$WORK/issuer.key"
  export TIDBIT_ISSUER_PUB="$WORK/issuer.pub"
}

# A `tidbit serve` on 127.0.0.1 (a free port) with a data directory in $WORK, and bearer tokens
# for two devices of the suites' learner and for an L&D report store, with the fixture course
# published and assigned to the learner; the server is killed on exit. Exports
# TIDBIT_SYNC_URL, TIDBIT_PHONE_TOKEN, TIDBIT_TABLET_TOKEN and TIDBIT_REPORT_TOKEN, the admin
# token TIDBIT_ADMIN_TOKEN, and for the cohort tests the phones of two other learners, ana and
# ben (TIDBIT_ANA_TOKEN for ana-phone, TIDBIT_BEN_TOKEN for ben-phone) and ana's tablet
# (TIDBIT_ANA_TABLET_TOKEN).
start_sync_server() {
  local data="$WORK/server" log="$WORK/server.log" learner="ada@example.org"
  step "tidbit serve --addr 127.0.0.1:0"
  mkdir -p "$data"
  # Tokens first: the first command to open the data directory creates the server's key.
  TIDBIT_PHONE_TOKEN="$("$TIDBIT" serve token --data "$data" --learner "$learner" --device phone)"
  TIDBIT_TABLET_TOKEN="$("$TIDBIT" serve token --data "$data" --learner "$learner" --device tablet)"
  TIDBIT_REPORT_TOKEN="$("$TIDBIT" serve token --data "$data" --learner "$learner" --device lnd-report)"
  # A learner the suites erase on the server (DELETE /v1/admin/learners/...), with the admin token.
  TIDBIT_ERASED_TOKEN="$("$TIDBIT" serve token --data "$data" --learner erased@example.org --device phone)"
  TIDBIT_ADMIN_TOKEN="$("$TIDBIT" serve token --data "$data" --admin)"
  # Two members of a cohort the cohort tests form with the admin token (POST /v1/admin/cohorts).
  TIDBIT_ANA_TOKEN="$("$TIDBIT" serve token --data "$data" --learner ana --device ana-phone)"
  TIDBIT_ANA_TABLET_TOKEN="$("$TIDBIT" serve token --data "$data" --learner ana --device ana-tablet)"
  TIDBIT_BEN_TOKEN="$("$TIDBIT" serve token --data "$data" --learner ben --device ben-phone)"
  # The fixture course, published and assigned to the suites' learner, for the course-update
  # tests (Tidbit.update_courses).
  "$TIDBIT" serve publish "$TIDBIT_PACK" --data "$data" --trust "$TIDBIT_AUTHOR_PUB" >/dev/null
  "$TIDBIT" serve assign --data "$data" --course binding-tour --learner "$learner" >/dev/null
  : >"$log"
  "$TIDBIT" serve --data "$data" --addr 127.0.0.1:0 --trust "$TIDBIT_AUTHOR_PUB" 2>>"$log" &
  SERVER_PID=$!
  # Keeps the suite's exit status: under `set -e` a failing `wait` (143 after the kill) would
  # replace it.
  trap 'exit_status=$?; kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true
        rm -rf "$WORK"; exit $exit_status' EXIT
  local url="" tries=0
  while [ -z "$url" ]; do
    url="$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$log")"
    if [ -z "$url" ]; then
      if ! kill -0 "$SERVER_PID" 2>/dev/null || [ $tries -ge 100 ]; then
        echo "tidbit serve did not start:" >&2
        cat "$log" >&2
        return 1
      fi
      tries=$((tries + 1))
      sleep 0.1
    fi
  done
  export TIDBIT_SYNC_URL="$url" TIDBIT_PHONE_TOKEN TIDBIT_TABLET_TOKEN TIDBIT_REPORT_TOKEN \
    TIDBIT_ERASED_TOKEN TIDBIT_ADMIN_TOKEN TIDBIT_ANA_TOKEN TIDBIT_ANA_TABLET_TOKEN TIDBIT_BEN_TOKEN
}

# A Python virtual environment in the tools directory with the given PyPI packages.
python_env() {
  local venv="$TOOLS/venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  # One at a time: `pip show A B` succeeds when only some of them are installed.
  local package missing=()
  for package in "$@"; do
    "$venv/bin/python" -m pip show -q "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "pip install ${missing[*]}"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}"
  fi
  PYTHON="$venv/bin/python"
}

# Seconds since the script started, for the summary line.
SECONDS=0
