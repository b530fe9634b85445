#!/usr/bin/env bash
# The figures issue 5 asks for (not a test; nothing here fails on a number):
#   - next_activity() directly in Rust, through tidbit-ffi's Rust API, from Kotlin and Python;
#   - the release cdylib for this machine, stripped, with LTO (the workspace's release profile);
#   - 10,000 open / use / close cycles from Kotlin: resident memory at the start and the end,
#     what the JVM itself holds meanwhile, and the same cycles from Rust alone (the native side).
# Uses the release library without test hooks. Run after kotlin.sh and python.sh (their tools).
#   tests/bindings/measure.sh [CYCLES]
source "$(dirname "$0")/common.sh"
CYCLES="${1:-10000}"
KOTLIN_HOME="$TOOLS/npm/node_modules/kotlin-compiler"
JNA=/usr/share/java/jna.jar
[ -x "$KOTLIN_HOME/bin/kotlinc" ] && [ -f "$JNA" ] || { echo "run tests/bindings/kotlin.sh first"; exit 1; }
python_env pytest

step "cargo build --release -p tidbit-ffi (lib, example next_activity); debug build for bindgen"
cargo build --locked -q --release -p tidbit-ffi --example next_activity --example cycles
# The shipped library is built as a cdylib alone: with the manifest's three crate types at once
# (cdylib, staticlib, lib) LTO keeps about 750 KB more in the cdylib.
cargo rustc --locked -q --release -p tidbit-ffi --lib --crate-type cdylib
# The release library is stripped, so its UniFFI metadata is gone: the bindings are generated
# from a debug build with the same features (the same API).
cargo build --locked -q -p tidbit-ffi -p tidbit-cli
RELEASE_LIB="$CARGO_TARGET_DIR/release/libtidbit_ffi.so"
make_fixture

step "release cdylib (x86_64 Linux, cdylib alone, stripped, LTO, codegen-units = 1)"
bytes=$(stat -c %s "$RELEASE_LIB")
echo "libtidbit_ffi.so: $bytes bytes ($(awk "BEGIN { printf \"%.2f\", $bytes / 1048576 }") MiB)"
file "$RELEASE_LIB" 2>/dev/null | grep -o "stripped\|not stripped" || true

step "next_activity()"
"$CARGO_TARGET_DIR/release/examples/next_activity" "$TIDBIT_PACK" "$TIDBIT_AUTHOR_PUB" 5000
# The `tidbit` package as users import it: its two generated modules import each other.
cp -r python "$WORK/python"
"$BINDGEN" generate --no-format --language python --out-dir "$WORK/python/tidbit" "$LIB" >/dev/null
cp "$RELEASE_LIB" "$WORK/python/tidbit/"
PYTHONPATH="$WORK/python" "$PYTHON" tests/bindings/measure/measure_python.py 5000
"$BINDGEN" generate --no-format --language kotlin --config tests/bindings/kotlin/uniffi-jvm.toml \
  --out-dir "$WORK/kotlin" "$LIB" >/dev/null
CLASSPATH="$JNA:$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar"
"$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 -cp "$CLASSPATH" -d "$WORK/measure.jar" \
  "$WORK/kotlin" tests/bindings/measure/Measure.kt 2> >(grep -v "^warning:" >&2)
run_kotlin() {
  java -Xmx256m -Djna.library.path="$(dirname "$RELEASE_LIB")" \
    -cp "$WORK/measure.jar:$CLASSPATH:$KOTLIN_HOME/lib/kotlin-stdlib.jar" MeasureKt "$@"
}
run_kotlin next-activity 5000

step "$CYCLES open / use / close cycles from Rust, through tidbit-ffi's Rust API"
"$CARGO_TARGET_DIR/release/examples/cycles" "$TIDBIT_PACK" "$TIDBIT_AUTHOR_PUB" "$CYCLES"
step "$CYCLES open / use / close cycles from Kotlin"
run_kotlin cycles "$CYCLES"
