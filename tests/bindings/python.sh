#!/usr/bin/env bash
# Python bindings: builds the library, generates `tidbit_ffi.py` with uniffi-bindgen (library
# mode) and runs the pytest suite in tests/bindings/python against the real library.
# Exit status is pytest's: non-zero when any test fails.
source "$(dirname "$0")/common.sh"

python_env pytest
build_library
make_fixture
start_sync_server

step "uniffi-bindgen generate --language python"
"$BINDGEN" generate --no-format --language python --out-dir "$WORK/python" "$LIB" >/dev/null
cp "$LIB" "$WORK/python/"

step "pytest tests/bindings/python"
status=0
PYTHONPATH="$WORK/python:$ROOT/tests/bindings/python" \
  "$PYTHON" -m pytest -q -p no:cacheprovider tests/bindings/python "$@" || status=$?
echo "python bindings: $([ $status -eq 0 ] && echo passed || echo FAILED) in ${SECONDS}s"
exit $status
