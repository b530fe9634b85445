#!/usr/bin/env bash
# Swift bindings: there is no Swift compiler here. Generates the Swift bindings (UniFFI library
# mode) and checks that they and every .swift file in the repository (the package's wrapper,
# its XCTest suite and the SwiftUI sample) parse without error under tree-sitter-swift (PyPI).
# Also checks the package layout build-xcframework.sh fills in. Exits non-zero on any failure.
source "$(dirname "$0")/common.sh"

python_env tree-sitter tree-sitter-swift
build_library
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tidbit-swift.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

step "uniffi-bindgen generate --language swift"
"$BINDGEN" generate --no-format --language swift --out-dir "$WORK/generated" "$LIB" >/dev/null
# The facade's bindings and the core's records and enums (core/uniffi.toml), one Swift module.
for file in TidbitFFI.swift TidbitCore.swift TidbitFFIFFI.h TidbitCoreFFI.h TidbitFFIFFI.modulemap; do
  [ -s "$WORK/generated/$file" ] || { echo "missing generated $file"; exit 1; }
done
grep -q "module TidbitFFIFFI" "$WORK/generated/TidbitFFIFFI.modulemap" || {
  echo "the module map does not declare TidbitFFIFFI, which Package.swift's binaryTarget names"; exit 1; }

step "tree-sitter-swift: generated bindings and every .swift file in the repository"
status=0
mapfile -t repo_swift < <(git ls-files --cached --others --exclude-standard -- '*.swift')
"$PYTHON" tests/bindings/swift/parse_swift.py "$WORK/generated/TidbitFFI.swift" \
  "$WORK/generated/TidbitCore.swift" "${repo_swift[@]}" || status=$?
echo "swift bindings: $([ $status -eq 0 ] && echo passed || echo FAILED) in ${SECONDS}s"
exit $status
