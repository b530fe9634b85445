#!/usr/bin/env bash
# Builds TidbitFFI.xcframework (device arm64, simulator arm64 + x86_64) and the generated Swift
# bindings for the Swift package in this folder. Needs macOS with Xcode and the Rust targets
# (rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios).
#   ios/build-xcframework.sh [--test-hooks]   # --test-hooks: for the XCTest suite only
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidbit-target}"
FEATURES=()
[ "${1:-}" = "--test-hooks" ] && FEATURES=(--features test-hooks)

for target in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  # The staticlib alone, as the cdylib is built alone for Android.
  cargo rustc --locked --release --lib -p tidbit-ffi "${FEATURES[@]}" --target "$target" \
    --crate-type staticlib
done
# A host debug build feeds uniffi-bindgen: library mode reads the metadata that stripping
# removes from release builds (the API is the same).
cargo build --locked -p tidbit-ffi "${FEATURES[@]}"

OUT=ios/build
rm -rf "$OUT" ios/TidbitFFI.xcframework
mkdir -p "$OUT/headers" "$OUT/simulator"
"$CARGO_TARGET_DIR/debug/uniffi-bindgen" generate --language swift \
  --out-dir "$OUT/generated" "$CARGO_TARGET_DIR/debug/libtidbit_ffi.dylib"
# Two generated files, one Swift module: TidbitFFI.swift (the facade) and TidbitCore.swift (the
# core's records and enums, see core/uniffi.toml). Their two C headers form the one C module
# TidbitFFIFFI that both import.
cp "$OUT/generated/TidbitFFI.swift" "$OUT/generated/TidbitCore.swift" ios/Sources/TidbitFFI/
cp "$OUT/generated/TidbitFFIFFI.h" "$OUT/generated/TidbitCoreFFI.h" "$OUT/headers/"
awk '{ print } /header "TidbitFFIFFI.h"/ { sub(/TidbitFFIFFI/, "TidbitCoreFFI"); print }' \
  "$OUT/generated/TidbitFFIFFI.modulemap" >"$OUT/headers/module.modulemap"

lipo -create \
  "$CARGO_TARGET_DIR/aarch64-apple-ios-sim/release/libtidbit_ffi.a" \
  "$CARGO_TARGET_DIR/x86_64-apple-ios/release/libtidbit_ffi.a" \
  -output "$OUT/simulator/libtidbit_ffi.a"
xcodebuild -create-xcframework \
  -library "$CARGO_TARGET_DIR/aarch64-apple-ios/release/libtidbit_ffi.a" -headers "$OUT/headers" \
  -library "$OUT/simulator/libtidbit_ffi.a" -headers "$OUT/headers" \
  -output ios/TidbitFFI.xcframework
echo "ios/TidbitFFI.xcframework and ios/Sources/TidbitFFI/{TidbitFFI,TidbitCore}.swift are ready"
