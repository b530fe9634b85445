#!/usr/bin/env bash
# Python bindings: builds the library, generates `tidbit_ffi.py` with uniffi-bindgen (library
# mode), installs the `tidbit` package (python/) holding both into the test environment and runs
# the pytest suite in tests/bindings/python against the installed package.
# Exit status is pytest's: non-zero when any test fails.
source "$(dirname "$0")/common.sh"

python_env pytest setuptools wheel
build_library
make_fixture
start_sync_server

step "the tidbit package: python/ with the generated bindings and the library, installed"
cp -r python "$WORK/package"
"$BINDGEN" generate --no-format --language python --out-dir "$WORK/package/tidbit" "$LIB" >/dev/null
cp "$LIB" "$WORK/package/tidbit/"
"$PYTHON" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
  --force-reinstall "$WORK/package"
export TIDBIT_VENV_BIN="$(dirname "$PYTHON")"

step "pytest tests/bindings/python"
status=0
PYTHONPATH="$ROOT/tests/bindings/python" \
  "$PYTHON" -m pytest -q -p no:cacheprovider tests/bindings/python "$@" || status=$?
echo "python bindings: $([ $status -eq 0 ] && echo passed || echo FAILED) in ${SECONDS}s"
exit $status
