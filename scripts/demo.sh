#!/bin/bash
# `npm run demo` on any machine, fresh or not: the lab's Debian packages when missing
# (scripts/lab-packages.sh, the list .ci/run uses too), `npm ci` when there is no node_modules,
# then the demo itself (test/lab/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/lab-packages.sh
[ -d node_modules/tsx ] || npm ci --no-audit --no-fund </dev/null
exec node --import tsx test/lab/demo.ts "$@"
