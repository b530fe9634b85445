#!/usr/bin/env bash
# A real headless browser for tests: Debian's chromium driven by
# playwright-core (npm, pinned below). playwright-core never downloads a
# browser; tests launch /usr/bin/chromium through `executablePath`.
#
#   scripts/browser.sh install             install Debian chromium if missing (apt,
#                                           needs root) and playwright-core into
#                                           $TIDBIT_TOOLS/browser (idempotent)
#   scripts/browser.sh run SCRIPT [ARGS]   node SCRIPT ARGS with NODE_PATH set so that
#                                           require('playwright-core') resolves
#
# NODE_PATH is honoured by require() only, not by ESM `import`: write browser
# tests as CommonJS (.cjs). CHROMIUM is exported to the script (default
# /usr/bin/chromium, override through the environment).
set -euo pipefail

PLAYWRIGHT_CORE_VERSION=1.65.2
TOOLS_DIR="${TIDBIT_TOOLS:-$HOME/.cache/tidbit-tools}"
BROWSER_DIR="$TOOLS_DIR/browser"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

die() { echo "browser.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not found"; }

installed_version() {
  node -e 'try { process.stdout.write(require(process.argv[1]).version) } catch (e) {}' \
    "$BROWSER_DIR/node_modules/playwright-core/package.json" 2>/dev/null || true
}

install_chromium() {
  if [[ -x "$CHROMIUM" ]]; then
    return 0
  fi
  [[ "$CHROMIUM" == /usr/bin/chromium ]] \
    || die "CHROMIUM=$CHROMIUM is not an executable; install it or unset CHROMIUM"
  need apt-get
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "chromium is missing and installing it needs root (apt-get install chromium)"
    sudo=(sudo)
  fi
  echo "browser.sh: installing Debian chromium"
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)
  if ! "${apt[@]}"; then
    echo "browser.sh: apt-get install failed; running apt-get update and retrying" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${apt[@]}"
  fi
  [[ -x "$CHROMIUM" ]] || die "apt-get installed chromium but $CHROMIUM is missing"
}

cmd_install() {
  need node
  need npm
  need flock
  # Tests may install in parallel: one install at a time (apt included).
  mkdir -p "$TOOLS_DIR"
  exec 9>"$TOOLS_DIR/browser.install.lock"
  flock 9
  install_chromium
  if [[ "$(installed_version)" == "$PLAYWRIGHT_CORE_VERSION" && -f "$BROWSER_DIR/.installed" ]]; then
    echo "browser.sh: playwright-core@$PLAYWRIGHT_CORE_VERSION already installed in $BROWSER_DIR (skipping)"
    return 0
  fi
  echo "browser.sh: installing playwright-core@$PLAYWRIGHT_CORE_VERSION into $BROWSER_DIR"
  mkdir -p "$BROWSER_DIR"
  rm -f "$BROWSER_DIR/.installed"
  if [[ ! -f "$BROWSER_DIR/package.json" ]]; then
    printf '{\n  "name": "tidbit-browser",\n  "private": true,\n  "description": "test browser driver installed by scripts/browser.sh"\n}\n' \
      >"$BROWSER_DIR/package.json"
  fi
  # playwright-core has no install script that fetches browsers; skip any anyway.
  (cd "$BROWSER_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund \
      --loglevel=error --save-exact --ignore-scripts "playwright-core@$PLAYWRIGHT_CORE_VERSION")
  [[ "$(installed_version)" == "$PLAYWRIGHT_CORE_VERSION" ]] \
    || die "install did not produce playwright-core@$PLAYWRIGHT_CORE_VERSION"
  touch "$BROWSER_DIR/.installed"
}

cmd_run() {
  local script="${1:-}"
  [[ -n "$script" ]] || die "usage: browser.sh run SCRIPT [ARGS...]"
  shift
  [[ -f "$script" ]] || die "no such script: $script"
  need node
  cmd_install >&2
  exec env NODE_PATH="$BROWSER_DIR/node_modules${NODE_PATH:+:$NODE_PATH}" CHROMIUM="$CHROMIUM" \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 node "$script" "$@"
}

case "${1:-}" in
  install) cmd_install ;;
  run) shift; cmd_run "$@" ;;
  *) echo "usage: $0 install | run SCRIPT [ARGS...]" >&2; exit 2 ;;
esac
