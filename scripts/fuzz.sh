#!/usr/bin/env bash
# Builds Tidbit's fuzz targets (fuzz/, cargo-fuzz with libFuzzer) and runs each for a bounded
# time on a copy of the committed seed corpus, so CI never grows the corpus. Fails if any target
# finds a crash (a panic, a failed assertion, an overflow), a timeout or an out-of-memory; the
# input that did it is kept in fuzz/artifacts/<target>/ (not committed).
#
#   bash scripts/fuzz.sh                               # every target, 15 s each
#   FUZZ_SECONDS=3600 bash scripts/fuzz.sh             # an hour each
#   FUZZ_TARGETS="pack_verify server_request" bash scripts/fuzz.sh
#   FUZZ_OPT_LEVEL=3 FUZZ_SECONDS=3600 bash scripts/fuzz.sh   # fully optimised, for long runs
#
# Needs only the machine's stable Rust toolchain: cargo-fuzz is installed into
# $TIDBIT_TOOLS (default ~/.cache/tidbit-tools) on first use. The targets are built without a
# sanitizer (safe Rust: the bugs sought are panics, overflows, unbounded allocation and hangs,
# which libFuzzer sees without one; a sanitizer would need nightly flags and halve the runs)
# and with debug assertions and overflow checks on. The instrumented build is most of the cost
# of a short run, so by default it is optimised at level 1 in 16 codegen units, which keeps both
# cores busy (cargo-fuzz's level 3 in one unit compiles each large crate on one core) for a
# similar number of runs per second.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
FUZZ_TARGETS="${FUZZ_TARGETS:-pack_verify source_compile exchange_decode document_apply certificate_verify server_request cohort_space}"
# More codegen units build the instrumented crates in parallel, at some cost in runs per second.
FUZZ_CODEGEN_UNITS="${FUZZ_CODEGEN_UNITS:-16}"
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${FUZZ_OPT_LEVEL:-1}"
CARGO_FUZZ_VERSION=0.13.2
TOOLS="${TIDBIT_TOOLS:-$HOME/.cache/tidbit-tools}"
export CARGO_TARGET_DIR="${TIDBIT_FUZZ_TARGET:-$HOME/.cache/tidbit-fuzz-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if [ "$("$TOOLS/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS"
    # A debug build: it only drives cargo, and builds in a fraction of the time.
    CARGO_TARGET_DIR="$TOOLS/build" cargo install cargo-fuzz --locked --debug \
        --version "$CARGO_FUZZ_VERSION" --root "$TOOLS"
fi
export PATH="$TOOLS/bin:$PATH"

echo "== building the fuzz targets (instrumented, opt-level $CARGO_PROFILE_RELEASE_OPT_LEVEL, debug assertions)"
build_start=$SECONDS
cargo fuzz build --fuzz-dir fuzz --sanitizer none --debug-assertions \
    --codegen-units "$FUZZ_CODEGEN_UNITS"
echo "built in $((SECONDS - build_start)) s"

triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$CARGO_TARGET_DIR/$triple/release"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
summary=()
for target in $FUZZ_TARGETS; do
    echo "== fuzzing $target for ${FUZZ_SECONDS} s"
    mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
    cp fuzz/corpus/"$target"/* "$work/$target/corpus/"
    log="$work/$target/log"
    start=$SECONDS
    status=0
    "$bin_dir/$target" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$work/$target/artifacts/" "$work/$target/corpus" >"$log" 2>&1 ||
        status=$?
    seconds=$((SECONDS - start))
    runs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)"
    # A run cut short by a failure has no closing line: take the last progress line's count.
    runs="${runs:-$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')}"
    coverage="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)"
    line="$(printf '%-20s %10s runs  %-22s %4d s' "$target" "${runs:-?}" "${coverage:-cov: ?}" "$seconds")"
    if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/$target/artifacts")" ]; then
        kept="fuzz/artifacts/$target"
        mkdir -p "$kept"
        cp "$work/$target/artifacts/"* "$kept/" 2>/dev/null || true
        cp "$log" "$kept/log"
        echo "!! $target failed (exit $status); the input and the log are kept in $kept:"
        ls "$kept"
        grep -A 2 -E "panicked at|ERROR: libFuzzer" "$log" | head -n 20 || true
        tail -n 5 "$log"
        failed+=("$target")
        line="$line  FAILED"
    fi
    echo "$line"
    summary+=("$line")
done

echo "== fuzzing summary (${FUZZ_SECONDS} s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzzing found failures in: ${failed[*]}"
    echo "reproduce with: $bin_dir/<target> fuzz/artifacts/<target>/<file>"
    exit 1
fi
