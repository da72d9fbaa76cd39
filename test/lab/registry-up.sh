#!/bin/bash
# registry-up.sh: Debian's docker-registry (distribution v2) on $REG, in the root namespace on
# the lab leg only (10.213.0.1), so only lab hosts and this machine can reach it.
set -euo pipefail
LAB=${LAB:-$(cd "$(dirname "$0")" && pwd)}; . "$LAB/lab.env"
R=$STATE/registry
mkdir -p $R/data
if [ -e $R/pid ] && [ "$(cat /proc/$(cat $R/pid)/comm 2>/dev/null)" = docker-registry ]; then echo "registry already running"; exit 0; fi
cat > $R/config.yml <<EOC
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $R/data
  delete:
    enabled: true
http:
  addr: $REG
EOC
mkdir -p /sys/fs/cgroup/memory/$CG_ROOT/registry
(
  echo $BASHPID > /sys/fs/cgroup/memory/$CG_ROOT/registry/cgroup.procs
  exec setsid /usr/bin/docker-registry serve $R/config.yml
) </dev/null >$R/registry.log 2>&1 &
echo $! > $R/pid
for _ in $(seq 300); do curl -sf --noproxy '*' http://$REG/v2/ >/dev/null && break; sleep 0.02; done
curl -sf --noproxy '*' http://$REG/v2/ >/dev/null || { echo "registry did not start"; cat $R/registry.log; exit 1; }
echo "registry up on $REG"
