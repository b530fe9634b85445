#!/usr/bin/env bash
# A real xAPI Learning Record Store for tests: Learning Locker's xAPI
# statements service (npm package `xapi-statements`, pinned below) with its
# in-memory models repo. Needs only node and npm.
#
#   scripts/lrs.sh install          install into $TIDBIT_TOOLS/lrs (idempotent)
#   scripts/lrs.sh start ENV_FILE   start on a free 127.0.0.1 port, write ENV_FILE:
#                                     LRS_ENDPOINT=http://127.0.0.1:PORT/xAPI
#                                     LRS_USER=...  LRS_PASSWORD=...  LRS_PID=...
#                                   ($LRS_ENDPOINT/statements is the statements
#                                   resource; log in ENV_FILE.log)
#   scripts/lrs.sh stop ENV_FILE    stop it
#
# Auth: Learning Locker's service asks an "client info" endpoint which client
# owns the request's Authorization header (AUTH_REPO=fetch). The launcher runs
# that endpoint in the same node process on another loopback port and accepts
# exactly HTTP Basic $LRS_USER:$LRS_PASSWORD (defaults tidbit / tidbit-secret,
# override through the environment when calling `start`); anything else -> 401.
# Data lives in memory only: a restart empties the store.
set -euo pipefail

LRS_PKG_VERSION=5.0.1
TOOLS_DIR="${TIDBIT_TOOLS:-$HOME/.cache/tidbit-tools}"
LRS_DIR="$TOOLS_DIR/lrs"
START_TIMEOUT_S="${LRS_START_TIMEOUT:-30}"

die() { echo "lrs.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not found"; }

installed_version() {
  node -e 'try { process.stdout.write(require(process.argv[1]).version) } catch (e) {}' \
    "$LRS_DIR/node_modules/xapi-statements/package.json" 2>/dev/null || true
}

write_launcher() {
  # Regenerated on every start so that a change here takes effect without reinstalling.
  cat >"$LRS_DIR/lrs-server.js" <<'JS'
'use strict';
// Launches xapi-statements bound to 127.0.0.1 with a basic-auth client endpoint.
const http = require('http');
const net = require('net');
const fs = require('fs');
const path = require('path');

const user = process.env.LRS_USER;
const pass = process.env.LRS_PASSWORD;
const readyFile = process.env.LRS_READY_FILE;
const wantedPort = Number(process.env.LRS_PORT || 0);
const expected = 'Basic ' + Buffer.from(user + ':' + pass).toString('base64');
const client = {
  _id: '5988f0f00000000000000002',
  title: 'tidbit-tests',
  authority: { objectType: 'Agent', name: 'tidbit-tests', mbox: 'mailto:lrs-client@tidbit.invalid' },
  isTrusted: true,
  lrs_id: '5988f0f00000000000000001',
  organisation: '5988f0f00000000000000000',
  scopes: ['all'],
};

// The service calls app.listen(EXPRESS_PORT) on all interfaces; pin it to loopback.
const origListen = net.Server.prototype.listen;
let lrsServer = null;
net.Server.prototype.listen = function (...args) {
  if (lrsServer === null && typeof args[0] === 'number') {
    lrsServer = this;
    const cb = args.find((a) => typeof a === 'function');
    this.once('listening', onLrsListening);
    return cb ? origListen.call(this, args[0], '127.0.0.1', cb) : origListen.call(this, args[0], '127.0.0.1');
  }
  return origListen.apply(this, args);
};

function onLrsListening() {
  const port = lrsServer.address().port;
  const endpoint = `http://127.0.0.1:${port}/xAPI`;
  // Self-check through the real auth path before declaring ready.
  const req = http.get(`${endpoint}/statements?limit=1`, {
    headers: { 'X-Experience-API-Version': '1.0.3', Authorization: expected },
  }, (res) => {
    res.resume();
    if (res.statusCode !== 200) {
      console.error(`lrs-server: self-check got HTTP ${res.statusCode}`);
      process.exit(1);
    }
    fs.writeFileSync(readyFile + '.tmp', `${endpoint}\n`);
    fs.renameSync(readyFile + '.tmp', readyFile);
    console.log(`lrs-server: ready at ${endpoint}`);
  });
  req.on('error', (e) => { console.error('lrs-server: self-check failed', e); process.exit(1); });
}

const authServer = http.createServer((req, res) => {
  if (req.headers.authorization === expected) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(client));
  } else {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{}');
  }
});
origListen.call(authServer, 0, '127.0.0.1', () => {
  process.env.LL_CLIENT_INFO_ENDPOINT = `http://127.0.0.1:${authServer.address().port}/auth/client/info`;
  process.env.EXPRESS_PORT = String(wantedPort);
  require(path.join(__dirname, 'node_modules', 'xapi-statements', 'dist', 'index.js'));
});
JS
}

cmd_install() {
  need node
  need npm
  # Tests start LRSs in parallel: one install at a time.
  mkdir -p "$TOOLS_DIR"
  exec 9>"$TOOLS_DIR/lrs.install.lock"
  flock 9
  if [[ "$(installed_version)" == "$LRS_PKG_VERSION" && -f "$LRS_DIR/.installed" ]]; then
    echo "lrs.sh: xapi-statements@$LRS_PKG_VERSION already installed in $LRS_DIR (skipping)"
    return 0
  fi
  echo "lrs.sh: installing xapi-statements@$LRS_PKG_VERSION into $LRS_DIR"
  mkdir -p "$LRS_DIR"
  rm -f "$LRS_DIR/.installed"
  if [[ ! -f "$LRS_DIR/package.json" ]]; then
    printf '{\n  "name": "tidbit-lrs",\n  "private": true,\n  "description": "test LRS installed by scripts/lrs.sh"\n}\n' \
      >"$LRS_DIR/package.json"
  fi
  (cd "$LRS_DIR" && npm install --no-audit --no-fund --loglevel=error --save-exact \
      "xapi-statements@$LRS_PKG_VERSION")
  [[ "$(installed_version)" == "$LRS_PKG_VERSION" ]] || die "install did not produce xapi-statements@$LRS_PKG_VERSION"
  touch "$LRS_DIR/.installed"
}

read_env_file() { # FILE KEY
  sed -n "s/^$2=//p" "$1" | head -n1
}

is_our_lrs() { # PID
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'lrs-server\.js' || return 1
  fi
  return 0
}

cmd_start() {
  local env_file="${1:-}"
  [[ -n "$env_file" ]] || die "usage: lrs.sh start ENV_FILE"
  need node
  cmd_install >&2
  write_launcher

  mkdir -p "$(dirname "$env_file")"
  env_file="$(cd "$(dirname "$env_file")" && pwd)/$(basename "$env_file")"
  if [[ -f "$env_file" ]]; then
    local old_pid
    old_pid="$(read_env_file "$env_file" LRS_PID)"
    if [[ -n "$old_pid" ]] && is_our_lrs "$old_pid"; then
      die "an LRS from $env_file is still running (pid $old_pid); stop it first"
    fi
    rm -f "$env_file"
  fi

  local log_file="$env_file.log"
  local data_dir="$env_file.data"
  local ready_file="$data_dir/ready"
  local user="${LRS_USER:-tidbit}"
  local password="${LRS_PASSWORD:-tidbit-secret}"
  rm -rf "$data_dir"
  mkdir -p "$data_dir/storage" "$data_dir/accessLogs"
  : >"$log_file"

  # cwd = data dir so that dotenv finds no stray .env file.
  (
    cd "$data_dir"
    exec env \
      LRS_USER="$user" LRS_PASSWORD="$password" LRS_READY_FILE="$ready_file" \
      LRS_PORT="${LRS_PORT:-0}" \
      MODELS_REPO=memory STORAGE_REPO=local EVENTS_REPO=test AUTH_REPO=fetch \
      FS_LOCAL_STORAGE_DIR="$data_dir/storage" \
      EXPRESS_MORGAN_DIRECTORY="$data_dir/accessLogs" \
      EXPRESS_BODY_PARSER_LIMIT=20mb \
      SERVICE_AWAIT_UPDATES=true \
      WINSTON_CONSOLE_LEVEL=warning WINSTON_CLOUDWATCH_ENABLED=false \
      NODE_NO_WARNINGS=1 \
      node "$LRS_DIR/lrs-server.js"
  ) </dev/null >>"$log_file" 2>&1 &
  local pid=$!

  local deadline=$((SECONDS + START_TIMEOUT_S))
  while [[ ! -f "$ready_file" ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "lrs.sh: LRS exited during start-up; log $log_file:" >&2
      tail -n 30 "$log_file" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      kill "$pid" 2>/dev/null || true
      echo "lrs.sh: LRS not ready after ${START_TIMEOUT_S}s; log $log_file:" >&2
      tail -n 30 "$log_file" >&2 || true
      exit 1
    fi
    sleep 0.2
  done

  local endpoint
  endpoint="$(head -n1 "$ready_file")"
  {
    echo "LRS_ENDPOINT=$endpoint"
    echo "LRS_USER=$user"
    echo "LRS_PASSWORD=$password"
    echo "LRS_PID=$pid"
  } >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
  echo "lrs.sh: LRS running (pid $pid) at $endpoint/statements; env in $env_file, log in $log_file"
}

cmd_stop() {
  local env_file="${1:-}"
  [[ -n "$env_file" ]] || die "usage: lrs.sh stop ENV_FILE"
  [[ -f "$env_file" ]] || { echo "lrs.sh: no $env_file, nothing to stop"; return 0; }
  local pid
  pid="$(read_env_file "$env_file" LRS_PID)"
  if [[ -n "$pid" ]] && is_our_lrs "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "lrs.sh: stopped LRS pid $pid"
  else
    echo "lrs.sh: LRS pid ${pid:-?} from $env_file is not running"
  fi
  rm -f "$env_file"
  rm -rf "$env_file.data"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) echo "usage: $0 install | start ENV_FILE | stop ENV_FILE" >&2; exit 2 ;;
esac
