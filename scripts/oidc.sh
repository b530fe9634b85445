#!/usr/bin/env bash
# A real OpenID Connect provider for tests: `oidc-provider` (npm, pinned below, a
# certified OpenID Connect implementation), with its built-in development login and
# consent pages. Needs only node and npm.
#
#   scripts/oidc.sh install          install into $TIDBIT_TOOLS/oidc (idempotent)
#   scripts/oidc.sh start ENV_FILE   start two providers on free 127.0.0.1 ports, write ENV_FILE:
#                                      OIDC_ISSUER=http://127.0.0.1:PORT   the organisation's provider
#                                      OIDC_CLIENT_ID=tidbit-app           the Tidbit app (public, PKCE)
#                                      OIDC_OTHER_CLIENT_ID=other-app      another app of the organisation
#                                      OIDC_REDIRECT_URI=org.tidbit.app:/signed-in
#                                      OIDC_OTHER_ISSUER=http://127.0.0.1:PORT2   a provider Tidbit does
#                                                                          not trust (same clients)
#                                      OIDC_PID=...
#                                    (log in ENV_FILE.log)
#   scripts/oidc.sh stop ENV_FILE    stop them
#
# Each provider signs ID tokens (RS256) with an RSA key made at start, so no key is shared
# between runs or between the two providers. The login page accepts any login and password
# (the provider's development interactions); the account's `email` claim is the login typed.
# Data lives in memory only.
set -euo pipefail

OIDC_PKG_VERSION=8.8.1
TOOLS_DIR="${TIDBIT_TOOLS:-$HOME/.cache/tidbit-tools}"
OIDC_DIR="$TOOLS_DIR/oidc"
START_TIMEOUT_S="${OIDC_START_TIMEOUT:-30}"

die() { echo "oidc.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not found"; }

installed_version() {
  node -e 'try { process.stdout.write(require(process.argv[1]).version) } catch (e) {}' \
    "$OIDC_DIR/node_modules/oidc-provider/package.json" 2>/dev/null || true
}

write_launcher() {
  # Regenerated on every start so that a change here takes effect without reinstalling; written
  # aside and renamed into place, so a provider starting meanwhile (tests start several at
  # once) never reads a half-written file.
  local launcher="$OIDC_DIR/oidc-server.mjs"
  cat >"$launcher.$$" <<'JS'
// Starts two oidc-provider instances on 127.0.0.1: the organisation's and an untrusted one.
import http from 'node:http';
import fs from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const readyFile = process.env.OIDC_READY_FILE;
const redirectUri = process.env.OIDC_REDIRECT_URI;

function config() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = randomBytes(8).toString('hex');
  jwk.use = 'sig';
  jwk.alg = 'RS256';
  const client = (id) => ({
    client_id: id,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [redirectUri],
  });
  return {
    clients: [client('tidbit-app'), client('other-app')],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // The ID token carries the scopes' claims (email), as most organisations' providers do.
    conformIdTokenClaims: false,
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: id, email_verified: true }),
    }),
    features: { devInteractions: { enabled: true } },
  };
}

function start() {
  return new Promise((resolve, reject) => {
    const server = http.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const issuer = `http://127.0.0.1:${server.address().port}`;
      const provider = new Provider(issuer, config());
      provider.on('server_error', (ctx, err) => console.error('oidc-server: server_error', err));
      server.on('request', provider.callback());
      resolve(issuer);
    });
  });
}

const issuer = await start();
const other = await start();
// Self-check: both answer their discovery documents.
for (const url of [issuer, other]) {
  const res = await fetch(`${url}/.well-known/openid-configuration`);
  if (res.status !== 200) {
    console.error(`oidc-server: ${url} discovery answered HTTP ${res.status}`);
    process.exit(1);
  }
}
fs.writeFileSync(readyFile + '.tmp', `${issuer}\n${other}\n`);
fs.renameSync(readyFile + '.tmp', readyFile);
console.log(`oidc-server: ready at ${issuer} (untrusted: ${other})`);
JS
  mv -f "$launcher.$$" "$launcher"
}

cmd_install() {
  need node
  need npm
  mkdir -p "$TOOLS_DIR"
  # One install at a time; the lock is held by this subshell only, so a provider started
  # afterwards never inherits it (and never makes the next start wait for it).
  (
  flock 9
  if [[ "$(installed_version)" == "$OIDC_PKG_VERSION" && -f "$OIDC_DIR/.installed" ]]; then
    echo "oidc.sh: oidc-provider@$OIDC_PKG_VERSION already installed in $OIDC_DIR (skipping)"
    exit 0
  fi
  echo "oidc.sh: installing oidc-provider@$OIDC_PKG_VERSION into $OIDC_DIR"
  mkdir -p "$OIDC_DIR"
  rm -f "$OIDC_DIR/.installed"
  if [[ ! -f "$OIDC_DIR/package.json" ]]; then
    printf '{\n  "name": "tidbit-oidc",\n  "private": true,\n  "description": "test OpenID provider installed by scripts/oidc.sh"\n}\n' \
      >"$OIDC_DIR/package.json"
  fi
  (cd "$OIDC_DIR" && npm install --no-audit --no-fund --loglevel=error --save-exact \
      "oidc-provider@$OIDC_PKG_VERSION")
  [[ "$(installed_version)" == "$OIDC_PKG_VERSION" ]] || die "install did not produce oidc-provider@$OIDC_PKG_VERSION"
  touch "$OIDC_DIR/.installed"
  ) 9>"$TOOLS_DIR/oidc.install.lock"
}

read_env_file() { # FILE KEY
  sed -n "s/^$2=//p" "$1" | head -n1
}

is_our_provider() { # PID
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'oidc-server\.mjs' || return 1
  fi
  return 0
}

cmd_start() {
  local env_file="${1:-}"
  [[ -n "$env_file" ]] || die "usage: oidc.sh start ENV_FILE"
  need node
  cmd_install >&2
  write_launcher

  mkdir -p "$(dirname "$env_file")"
  env_file="$(cd "$(dirname "$env_file")" && pwd)/$(basename "$env_file")"
  if [[ -f "$env_file" ]]; then
    local old_pid
    old_pid="$(read_env_file "$env_file" OIDC_PID)"
    if [[ -n "$old_pid" ]] && is_our_provider "$old_pid"; then
      die "a provider from $env_file is still running (pid $old_pid); stop it first"
    fi
    rm -f "$env_file"
  fi

  local log_file="$env_file.log"
  local ready_file="$env_file.ready"
  local redirect_uri="org.tidbit.app:/signed-in"
  rm -f "$ready_file"
  : >"$log_file"

  (
    cd "$OIDC_DIR"
    exec env OIDC_READY_FILE="$ready_file" OIDC_REDIRECT_URI="$redirect_uri" \
      NODE_ENV=test NODE_NO_WARNINGS=1 node "$OIDC_DIR/oidc-server.mjs"
  ) </dev/null >>"$log_file" 2>&1 &
  local pid=$!

  local deadline=$((SECONDS + START_TIMEOUT_S))
  while [[ ! -f "$ready_file" ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "oidc.sh: the provider exited during start-up; log $log_file:" >&2
      tail -n 30 "$log_file" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      kill "$pid" 2>/dev/null || true
      echo "oidc.sh: the provider was not ready after ${START_TIMEOUT_S}s; log $log_file:" >&2
      tail -n 30 "$log_file" >&2 || true
      exit 1
    fi
    sleep 0.2
  done

  local issuer other
  issuer="$(sed -n 1p "$ready_file")"
  other="$(sed -n 2p "$ready_file")"
  rm -f "$ready_file"
  {
    echo "OIDC_ISSUER=$issuer"
    echo "OIDC_CLIENT_ID=tidbit-app"
    echo "OIDC_OTHER_CLIENT_ID=other-app"
    echo "OIDC_REDIRECT_URI=$redirect_uri"
    echo "OIDC_OTHER_ISSUER=$other"
    echo "OIDC_PID=$pid"
  } >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
  echo "oidc.sh: provider running (pid $pid) at $issuer; env in $env_file, log in $log_file"
}

cmd_stop() {
  local env_file="${1:-}"
  [[ -n "$env_file" ]] || die "usage: oidc.sh stop ENV_FILE"
  [[ -f "$env_file" ]] || { echo "oidc.sh: no $env_file, nothing to stop"; return 0; }
  local pid
  pid="$(read_env_file "$env_file" OIDC_PID)"
  if [[ -n "$pid" ]] && is_our_provider "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "oidc.sh: stopped provider pid $pid"
  else
    echo "oidc.sh: provider pid ${pid:-?} from $env_file is not running"
  fi
  rm -f "$env_file"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) echo "usage: $0 install | start ENV_FILE | stop ENV_FILE" >&2; exit 2 ;;
esac
