#!/bin/bash
# lab-exec.sh NAME CMD...   Run CMD inside lab host NAME (its net/mount/uts/ipc/pid namespaces),
# charged to the host's cgroups. Inside a host the lab folder is at /run/lab.
LAB=${LAB:-$(cd "$(dirname "$0")" && pwd)}; . "$LAB/lab.env"
name=$1; shift
alive $name || { echo "lab host $name is not running" >&2; exit 1; }
pid=$(holder_pid $name)
for c in $CG_CTRLS; do echo $$ > /sys/fs/cgroup/$c/$CG_ROOT/$name/cgroup.procs 2>/dev/null || true; done
cd /
exec nsenter --target "$pid" --mount --uts --ipc --net --pid -- "$@"
