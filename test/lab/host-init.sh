#!/bin/sh
# Runs as PID 1 of a lab host's new PID namespace, inside its private mount/UTS/IPC
# namespaces and its network namespace (started by host-up.sh via
#   nsenter --net=/run/netns/lab-NAME unshare --mount --uts --ipc --pid --fork --propagation private host-init.sh NAME).
# Builds the host's private view of the filesystem, then execs tini as a reaping init.
set -eu
LAB=${LAB:-$(cd "$(dirname "$0")" && pwd)}; . "$LAB/lab.env"
name=$1
H=$(host_dir $name)

# Mount points for the per-host bind mounts must exist on the machine (a fresh one may lack them).
mkdir -p /var/lib/docker /var/log
[ -e /etc/machine-id ] || : > /etc/machine-id
# 1. our own /proc for the new PID namespace (ps shows only this host's processes)
mount -t proc proc /proc
# 2. sysfs for this netns (so /sys/class/net shows eth0/lo of this host), keeping cgroups:
#    park the cgroup tree, mount a fresh sysfs, move the cgroup tree back.
mkdir -p $H/.cgpark
mount --rbind /sys/fs/cgroup $H/.cgpark
mount -t sysfs sysfs /sys
mount --move $H/.cgpark /sys/fs/cgroup
# 3. private /run (docker.sock, sshd pid, containerd state, ...) and a door back to the lab files
mount -t tmpfs -o mode=755,size=64m tmpfs /run
mkdir -p /run/sshd /run/lock /run/lab
chmod 755 /run/sshd
mount --bind $LAB /run/lab
# 4. per-host persistent dirs
mount --bind $H/root /root
mount --bind $H/opt /opt
# /var/lib is the host's own: a copy-on-write layer over the machine's, so state programs keep
# there (a deploy lock, package state) is per host and survives a crash, as on a real disk.
mkdir -p $H/var-lib-upper $H/var-lib-work
mount -t overlay overlay -o lowerdir=/var/lib,upperdir=$H/var-lib-upper,workdir=$H/var-lib-work /var/lib
mount --bind $H/var-lib-docker /var/lib/docker
mount -t tmpfs -o mode=1777,size=64m tmpfs /dev/shm
mount --bind $H/var-log /var/log
# per-host identity files (file bind mounts; the rest of /etc stays shared with the VM)
mount --bind $H/etc/hostname /etc/hostname
mount --bind $H/etc/hosts /etc/hosts
mount --bind $H/etc/machine-id /etc/machine-id
# /tmp last: it hides the lab folder (use /run/lab/... inside the host)
mount --bind $H/tmp /tmp
# 5. identity
hostname $name
# 6. reaping init; SIGTERM to it (from outside) ends the host: kernel SIGKILLs everything in the PID ns
exec /usr/bin/tini -s -- /bin/sleep infinity
