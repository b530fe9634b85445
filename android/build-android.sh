#!/usr/bin/env bash
# Builds the Rust core for Android (arm64-v8a, armeabi-v7a, x86_64) into the library module's
# jniLibs layout, linked for 16 KB pages, and generates the Kotlin bindings (android = true) into
# tidbit-android/src/main/kotlin/dev/tidbit/ffi (the core's own records and enums into its core/
# folder, package dev.tidbit.ffi.core). Needs the Android NDK (ANDROID_NDK_HOME) and cargo-ndk
# (`cargo install cargo-ndk`), and the Rust targets:
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
# Then: cd android && gradle :tidbit-android:assembleRelease :sample:assembleDebug (Gradle 8.9+;
# no wrapper is committed: run `gradle wrapper` once where the Gradle distribution is reachable).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidbit-target}"
JNI=android/tidbit-android/src/main/jniLibs

# 16 KB page alignment for Android 15+ devices (NDK r28 does this by default; older NDKs
# need the flag).
export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-z,max-page-size=16384"
# The cdylib alone (cargo-ndk wraps any cargo subcommand): smaller than when the staticlib and
# rlib of the manifest are built beside it.
cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -o "$JNI" \
  rustc --locked --release --lib -p tidbit-ffi --crate-type cdylib

# A host debug build feeds uniffi-bindgen: library mode reads the metadata that stripping
# removes from release builds (the API is the same).
cargo build --locked -p tidbit-ffi
rm -rf android/tidbit-android/src/main/kotlin/dev/tidbit/ffi
"$CARGO_TARGET_DIR/debug/uniffi-bindgen" generate --language kotlin \
  --out-dir android/tidbit-android/src/main/kotlin "$CARGO_TARGET_DIR/debug/libtidbit_ffi.so"

for abi in arm64-v8a armeabi-v7a x86_64; do
  so="$JNI/$abi/libtidbit_ffi.so"
  [ -f "$so" ] || { echo "missing $so"; exit 1; }
  # Every LOAD segment must be aligned to 16 KB (2**14).
  if command -v llvm-readelf >/dev/null; then
    llvm-readelf -lW "$so" | awk '/LOAD/ && $NF != "0x4000" { bad = 1 } END { exit bad }' \
      || { echo "$so is not 16 KB aligned"; exit 1; }
  fi
  echo "$so: $(du -h "$so" | cut -f1)"
done
