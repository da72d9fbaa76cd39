#!/bin/bash
# A/B of two drover builds on the bench's job, interleaved run by run, so a change can be shown
# to cost nothing: `bash bench/ab.sh OLD_ENTRY [NEW_ENTRY] [RUNS]`, e.g. with a worktree of the
# commit before the change (`git worktree add /tmp/old REV && (cd /tmp/old && npm ci &&
# node scripts/bundle.mjs)`, then `bash bench/ab.sh /tmp/old/bin/drover.js`).
# Needs the bench's lab and inventories (a previous `npm run bench` leaves both); the job's hosts
# are already converged, so this times the no-change case. Prints each run and the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?usage: bench/ab.sh OLD_ENTRY [NEW_ENTRY] [RUNS]}
NEW=${2:-bin/drover.js}
RUNS=${3:-10}
INV=bench/out/docker/inventory.yaml
[ -f "$INV" ] || { echo "no $INV: run npm run bench first" >&2; exit 2; }
once() {
  local start end
  start=$(date +%s%N)
  node "$1" run bench/job/drover/site.yaml -i "$INV" -f 8 >/dev/null 2>&1 || { echo "$1 failed" >&2; exit 1; }
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
once "$OLD" >/dev/null
once "$NEW" >/dev/null
old=() new=()
for _ in $(seq "$RUNS"); do
  old+=("$(once "$OLD")")
  new+=("$(once "$NEW")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "old ms: ${old[*]}"
echo "new ms: ${new[*]}"
echo "median: old $(median "${old[@]}") ms, new $(median "${new[@]}") ms"
