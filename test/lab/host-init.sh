#!/bin/sh
# Runs as PID 1 of a lab host's new PID namespace, inside its private mount/UTS/IPC
# namespaces and its network namespace (started by host-up.sh via
#   nsenter --net=/run/netns/lab-NAME unshare --mount --uts --ipc --pid --fork --propagation private host-init.sh NAME).
# Builds the host's private view of the filesystem, then execs tini as a reaping init.
#
# What a host has of its own, and what it shares with the machine (and so with every other host):
#   own, persistent (under state/hosts/NAME/, survives crash/boot as a disk does):
#     /etc /srv /home /var /usr/local   copy-on-write overlays: the machine's dir is the lower
#                                       layer (read only to the host), fs/<dir>/upper holds what
#                                       the host changed; the machine never sees a host's writes
#     /etc/hostname /etc/hosts /etc/machine-id   files of the host (etc/), bound over the overlay
#     /root /opt /tmp /var/lib/docker /var/log   plain dirs of the host (start empty)
#   own, gone with the host:   /run (tmpfs), /dev/shm (tmpfs), /proc (its PID namespace),
#                              /sys (its network namespace; /sys/fs/cgroup is the machine's tree)
#   shared with the machine, read-write:   everything else on the root filesystem: /usr (but
#     /usr/local), /bin /sbin /lib* (programs and libraries), /boot /mnt /media, other top-level
#     dirs (such as the one holding the checkout), /dev, and the cgroup tree
#   the lab folder:   at /run/lab in every host (the path outside may be hidden, e.g. under /tmp)
# Changes the machine makes to a lower dir while hosts run are not guaranteed to show (overlayfs).
set -eu
LAB=${LAB:-$(cd "$(dirname "$0")" && pwd)}; . "$LAB/lab.env"
name=$1
H=$(host_dir $name)

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
# From here on the host's files are reached through /run/lab: the overlays below may hide the
# path of the checkout itself (one under /home, /srv, /var, /usr/local or /etc).
IN_H=$IN_STATE/hosts/$name
# 4. the host's own /etc /srv /home /var /usr/local: the machine's dir below, the host's changes
#    above. A lower dir must exist; the machine's is never created or written by the lab.
for d in /etc /srv /home /var /usr/local; do
  [ -d $d ] || { echo "host-init: the machine has no $d to lay $name's own over" >&2; exit 1; }
  layer=$IN_H/fs/$(echo ${d#/} | tr / -)
  mkdir -p $layer/upper $layer/work
  mount -t overlay overlay -o lowerdir=$d,upperdir=$layer/upper,workdir=$layer/work $d
done
# 5. per-host plain dirs, over the overlays (mount points are made inside the host's layers)
mount --bind $IN_H/root /root
mount --bind $IN_H/opt /opt
mkdir -p /var/lib/docker /var/log
mount --bind $IN_H/var-lib-docker /var/lib/docker
mount --bind $IN_H/var-log /var/log
mount -t tmpfs -o mode=1777,size=64m tmpfs /dev/shm
# per-host identity files (host-up.sh rewrites them on every boot)
for f in hostname hosts machine-id; do
  [ -e /etc/$f ] || : > /etc/$f
  mount --bind $IN_H/etc/$f /etc/$f
done
# /tmp last: it hides a lab folder under /tmp (use /run/lab/... inside the host)
mount --bind $IN_H/tmp /tmp
# 6. identity
hostname $name
# 7. reaping init; SIGTERM to it (from outside) ends the host: kernel SIGKILLs everything in the PID ns
exec /usr/bin/tini -s -- /bin/sleep infinity
