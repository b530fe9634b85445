#!/usr/bin/env bash
# Kotlin bindings on the JVM: installs kotlinc (npm `kotlin-compiler`, with kotlin-stdlib and
# kotlinx-coroutines) and JNA (Debian `libjna-java`), generates the bindings with
# `android = false`, compiles them with the Android wrapper's platform-independent sources
# (android/tidbit-android/src/main/kotlin/dev/tidbit/*.kt) and runs tests/bindings/kotlin
# against the real cdylib. Exits non-zero when any test fails.
source "$(dirname "$0")/common.sh"

KOTLIN_HOME="$TOOLS/npm/node_modules/kotlin-compiler"
if [ ! -x "$KOTLIN_HOME/bin/kotlinc" ]; then
  step "npm install kotlin-compiler"
  npm install --prefix "$TOOLS/npm" --no-audit --no-fund --silent kotlin-compiler@2 >/dev/null
fi
JNA=/usr/share/java/jna.jar
if [ ! -f "$JNA" ]; then
  step "apt-get install libjna-java"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libjna-java >/dev/null
fi

build_library
make_fixture
start_sync_server

step "uniffi-bindgen generate --language kotlin (android = false)"
"$BINDGEN" generate --no-format --language kotlin --config tests/bindings/kotlin/uniffi-jvm.toml \
  --out-dir "$WORK/kotlin" "$LIB" >/dev/null

CLASSPATH="$JNA:$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar"
step "kotlinc (bindings + wrapper + suite)"
"$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 -cp "$CLASSPATH" -d "$WORK/suite.jar" \
  "$WORK/kotlin" android/tidbit-android/src/main/kotlin/dev/tidbit/*.kt tests/bindings/kotlin/*.kt \
  2> >(grep -v "^warning:" >&2)

step "java TidbitSuiteKt"
status=0
java -Xss4m -Djna.library.path="$(dirname "$LIB")" \
  -cp "$WORK/suite.jar:$CLASSPATH:$KOTLIN_HOME/lib/kotlin-stdlib.jar" TidbitSuiteKt "$@" || status=$?
echo "kotlin bindings: $([ $status -eq 0 ] && echo passed || echo FAILED) in ${SECONDS}s"
exit $status
