#!/usr/bin/env bash
# The long run of the sync fault scenarios (server/tests/sync_faults.rs), in release: 10,000
# seeded scenarios by default, then every hostile action once. Each prints a summary: the
# scenarios and seeds, the faults injected by kind, the requests that timed out and were cut by
# a kill, the syncs through the proxy that completed, and the hostile actions taken and refused;
# a failure names each failed seed and the hostile action that broke the honest devices.
#
#   scripts/sync-faults-long.sh                  # 10,000 scenarios
#   scripts/sync-faults-long.sh 2000             # another count
#   TIDBIT_SYNC_HOSTILE=0 scripts/sync-faults-long.sh   # faults only, no hostile device
#   TIDBIT_SYNC_HOSTILE=far-future scripts/sync-faults-long.sh  # that action in every scenario
#   TIDBIT_SYNC_SEED=4711 TIDBIT_SYNC_HOSTILE=0 scripts/sync-faults-long.sh  # replay one scenario
#
# TIDBIT_SYNC_THREADS (default 6) and TIDBIT_SYNC_TIMEOUT_MS (default 400) pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidbit-target}"
export TIDBIT_SYNC_SCENARIOS="${1:-${TIDBIT_SYNC_SCENARIOS:-10000}}"
exec cargo test --release --locked -p tidbit-server --test sync_faults -- --nocapture --test-threads=1 \
    devices_converge_through_a_faulty_link_in_every_seeded_scenario \
    every_hostile_action_leaves_the_honest_devices_converging
