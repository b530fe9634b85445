#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: a fresh initdb in a
# temporary directory, superuser `tidbit`, trust auth, listening only on
# 127.0.0.1 at a free port. Uses the distribution's server binaries directly;
# Debian's own clusters and service (/etc/postgresql, port 5432) are never used.
#
#   scripts/postgres.sh install          find initdb (/usr/lib/postgresql/*/bin, newest
#                                        first, then PATH); if none, apt-get install
#                                        Debian's `postgresql` package (idempotent)
#   scripts/postgres.sh start ENV_FILE   start a new cluster, write ENV_FILE:
#                                          TIDBIT_TEST_DATABASE=postgres://tidbit@127.0.0.1:PORT/postgres
#                                          PG_PORT=...  PG_DATA=...  PG_BIN=...  PG_USER=...
#                                        (log in ENV_FILE.log)
#   scripts/postgres.sh stop ENV_FILE    stop it, delete its directory and ENV_FILE
#   scripts/postgres.sh run CMD ARGS...  start a cluster, run CMD with the ENV_FILE
#                                        values exported, stop the cluster however
#                                        CMD ends; exits with CMD's status (a TERM
#                                        sent to this script alone, not its process
#                                        group, takes effect only once CMD exits)
#
# Server settings: max_connections=300, shared_buffers=128MB, unix sockets only
# in the cluster's own directory (mktemp -d under ${TMPDIR:-/tmp}). initdb and
# postgres refuse to run as root, so as root the cluster runs as the `postgres`
# system user (created by Debian's package) or else `nobody`; $TMPDIR must then
# be reachable by that user. PG_START_TIMEOUT (seconds, default 60) bounds start-up.
set -euo pipefail

TOOLS_DIR="${TIDBIT_TOOLS:-$HOME/.cache/tidbit-tools}"
START_TIMEOUT_S="${PG_START_TIMEOUT:-60}"
SUPERUSER=tidbit
RUN_AS=""      # OS user to run initdb/pg_ctl as ("" = ourselves)
PG_BIN_DIR=""  # server binaries in use
START_DIR=""   # cluster directory of a start in progress (removed if it fails)
RUN_ENV_DIR="" # ENV_FILE directory of `run`

die() { echo "postgres.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not found"; }

has_server_bins() { [[ -x "$1/initdb" && -x "$1/pg_ctl" && -x "$1/pg_isready" && -x "$1/postgres" ]]; }

find_pg_bin() { # prints the directory holding initdb, pg_ctl, pg_isready, postgres
  local d
  while IFS= read -r d; do
    if has_server_bins "$d"; then echo "$d"; return 0; fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
  d="$(command -v initdb 2>/dev/null)" || return 1
  d="$(dirname "$(readlink -f "$d")")"
  has_server_bins "$d" && echo "$d"
}

as_root() { if ((EUID == 0)); then "$@"; else need sudo; sudo "$@"; fi; }

as_user() { # CMD ARGS... as $RUN_AS
  if [[ -z "$RUN_AS" ]]; then "$@"
  elif command -v runuser >/dev/null 2>&1; then runuser -u "$RUN_AS" -- "$@"
  else su -s /bin/sh "$RUN_AS" -c "$(printf '%q ' "$@")"; fi
}

set_run_as() { # USER: run server commands as USER (only root can, and needs to)
  RUN_AS=""; if ((EUID == 0)) && [[ "$1" != root ]]; then RUN_AS="$1"; fi
}

cmd_install() {
  local bin
  if bin="$(find_pg_bin)"; then
    echo "postgres.sh: found $("$bin/postgres" --version) in $bin (skipping install)"
    return 0
  fi
  need apt-get; need flock
  # Tests start clusters in parallel: one install at a time. The subshell
  # releases the lock, so that no postmaster inherits it.
  mkdir -p "$TOOLS_DIR"
  (
    flock 9
    if ! bin="$(find_pg_bin)"; then
      echo "postgres.sh: no initdb found; installing Debian's postgresql package"
      local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql)
      if ! as_root "${install[@]}"; then
        echo "postgres.sh: apt-get install failed; running apt-get update and retrying" >&2
        as_root apt-get update
        as_root "${install[@]}"
      fi
      bin="$(find_pg_bin)" || die "installed postgresql, but still no initdb/pg_ctl/pg_isready/postgres found"
    fi
    echo "postgres.sh: using $("$bin/postgres" --version) in $bin"
  ) 9>"$TOOLS_DIR/postgres.install.lock"
}

read_env_file() { sed -n "s/^$2=//p" "$1" | head -n1; } # FILE KEY

cluster_pid() { # DATA_DIR: prints the pid of the postmaster running on it
  local pid
  [[ -n "$1" && -f "$1/postmaster.pid" ]] || return 1
  pid="$(head -n1 "$1/postmaster.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/stat" ]]; then # an exited postmaster may linger as a zombie
    [[ "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z && "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *postgres* ]] || return 1
  fi
  echo "$pid"
}

remove_cluster_dir() { # DIR: only directories this script made
  if [[ "$(basename "$1")" == tidbit-pg.* && -d "$1" ]]; then rm -rf -- "$1"; fi
}

stop_cluster() { # DATA_DIR fast|immediate
  local pid signal=INT
  pid="$(cluster_pid "$1")" || return 0
  [[ "$2" == fast ]] || signal=QUIT
  (cd "$(dirname "$1")" && as_user "$PG_BIN_DIR/pg_ctl" -D "$1" -m "$2" -w stop) </dev/null >/dev/null 2>&1 \
    || kill "-$signal" "$pid" 2>/dev/null || true
}

on_exit() { # abandon a half-made cluster; tear down the cluster of `run`
  if [[ -n "$START_DIR" ]]; then
    stop_cluster "$START_DIR/data" immediate || true
    remove_cluster_dir "$START_DIR" || true
  fi
  if [[ -n "$RUN_ENV_DIR" ]]; then
    (cmd_stop "$RUN_ENV_DIR/env") >&2 || true
    rm -rf -- "$RUN_ENV_DIR"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 12000))
}

start_failed() { # MESSAGE LOG_FILE
  echo "postgres.sh: $1; log $2:" >&2
  tail -n 30 "$2" >&2 || true
  exit 1 # on_exit removes the half-made cluster
}

cmd_start() {
  local env_file="${1:-}"
  [[ -n "$env_file" ]] || die "usage: postgres.sh start ENV_FILE"
  cmd_install >&2
  PG_BIN_DIR="$(find_pg_bin)" || die "no PostgreSQL server binaries found"

  mkdir -p "$(dirname "$env_file")"
  env_file="$(cd "$(dirname "$env_file")" && pwd)/$(basename "$env_file")"
  if [[ -f "$env_file" ]]; then
    local old_data old_pid
    old_data="$(read_env_file "$env_file" PG_DATA)"
    if old_pid="$(cluster_pid "$old_data")"; then
      die "a cluster from $env_file is still running (pid $old_pid, data $old_data); stop it first"
    fi
    [[ -z "$old_data" ]] || remove_cluster_dir "$(dirname "$old_data")"
    rm -f "$env_file"
  fi

  local user log_file="$env_file.log"
  user="$(id -un)"
  if ((EUID == 0)); then user=nobody; if id -u postgres >/dev/null 2>&1; then user=postgres; fi; fi
  set_run_as "$user"
  START_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tidbit-pg.XXXXXX")"
  local dir="$START_DIR" data="$START_DIR/data"
  if [[ -n "$RUN_AS" ]]; then
    chown "$RUN_AS:" "$dir"
    as_user test -w "$dir" 2>/dev/null || die "$dir is not reachable by user $RUN_AS (set TMPDIR elsewhere)"
  fi
  # The server's output goes to the log through an inherited descriptor, so
  # $RUN_AS needs no access to ENV_FILE's directory.
  : >"$log_file"
  (cd "$dir" && as_user "$PG_BIN_DIR/initdb" -D "$data" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C --no-sync) \
    </dev/null >>"$log_file" 2>&1 || start_failed "initdb failed" "$log_file"
  cat >>"$data/postgresql.conf" <<EOF

# scripts/postgres.sh (the port is given on the command line)
listen_addresses = '127.0.0.1'
unix_socket_directories = '${dir//\'/\'\'}'
max_connections = 300
shared_buffers = 128MB
EOF

  local attempt port offset
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    offset="$(wc -c <"$log_file")"
    if (cd "$dir" && as_user "$PG_BIN_DIR/pg_ctl" -D "$data" -w -t "$START_TIMEOUT_S" -o "-p $port" start) \
      </dev/null >>"$log_file" 2>&1; then
      break
    fi
    if ((attempt < 5)) && tail -c "+$((offset + 1))" "$log_file" | grep -q 'Address already in use'; then
      echo "postgres.sh: port $port was taken, retrying with another" >&2
      stop_cluster "$data" immediate
      continue
    fi
    start_failed "pg_ctl start failed" "$log_file"
  done

  local deadline=$((SECONDS + START_TIMEOUT_S))
  until "$PG_BIN_DIR/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres; do
    ((SECONDS < deadline)) || start_failed "not accepting connections after ${START_TIMEOUT_S}s" "$log_file"
    sleep 0.2
  done

  printf '%s\n' "TIDBIT_TEST_DATABASE=postgres://$SUPERUSER@127.0.0.1:$port/postgres" \
    "PG_PORT=$port" "PG_DATA=$data" "PG_BIN=$PG_BIN_DIR" "PG_USER=$user" >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
  START_DIR=""
  echo "postgres.sh: PostgreSQL running on 127.0.0.1:$port as $user (data $data); env in $env_file, log in $log_file"
}

cmd_stop() {
  local env_file="${1:-}"
  [[ -n "$env_file" ]] || die "usage: postgres.sh stop ENV_FILE"
  [[ -f "$env_file" ]] || return 0
  local data pid
  data="$(read_env_file "$env_file" PG_DATA)"
  PG_BIN_DIR="$(read_env_file "$env_file" PG_BIN)"
  set_run_as "$(read_env_file "$env_file" PG_USER)"
  if pid="$(cluster_pid "$data")"; then
    stop_cluster "$data" fast
    for _ in {1..50}; do cluster_pid "$data" >/dev/null || break; sleep 0.2; done
    ! cluster_pid "$data" >/dev/null || die "postmaster $pid (data $data) did not stop; $env_file kept"
    echo "postgres.sh: stopped PostgreSQL (pid $pid, data $data)"
  fi
  [[ -z "$data" ]] || remove_cluster_dir "$(dirname "$data")"
  rm -f "$env_file"
}

cmd_run() {
  (($# > 0)) || die "usage: postgres.sh run CMD ARGS..."
  RUN_ENV_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tidbit-pg-run.XXXXXX")"
  cmd_start "$RUN_ENV_DIR/env" >&2
  local key value status=0
  while IFS='=' read -r key value; do export "$key=$value"; done <"$RUN_ENV_DIR/env"
  "$@" || status=$?
  exit "$status" # on_exit stops the cluster
}

trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  run) shift; cmd_run "$@" ;;
  *) echo "usage: $0 install | start ENV_FILE | stop ENV_FILE | run CMD [ARGS...]" >&2; exit 2 ;;
esac
