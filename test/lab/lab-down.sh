#!/bin/bash
# lab-down.sh [--keep-files]
# Tears the whole lab down, then verifies that nothing remains: no lab namespaces, links,
# processes, mounts, cgroups or state folder. It finds the lab's kernel objects by name and its
# processes by network namespace, so it also cleans up after a crashed run or a lab started from
# another checkout. Exit 0 only when everything is gone. Safe to run twice.
LAB=${LAB:-$(cd "$(dirname "$0")" && pwd)}; . "$LAB/lab.env"
keep=0; [ "${1:-}" = --keep-files ] && keep=1

# 1. A frozen host would never die: thaw everything first.
for f in /sys/fs/cgroup/freezer/$CG_ROOT/*/freezer.state; do [ -e "$f" ] && echo THAWED > "$f" 2>/dev/null; done

# 2. Every process attached to a lab network namespace: each host's init (killing a PID
#    namespace's init kills everything in it), its unshare parent, sshd, dockerd, containers.
netns_pids() { for ns in $(ip netns list | awk '/^lab-/ {print $1}'); do ip netns pids $ns 2>/dev/null; done; }
for _ in $(seq 50); do
  pids=$(netns_pids | sort -u)
  [ -z "$pids" ] && break
  kill -KILL $pids 2>/dev/null
  sleep 0.1
done

# 3. The registry (root namespace, found by its config file under a lab state folder).
for p in $(pgrep -f 'docker-registry serve .*/state/registry/config.yml'); do kill -TERM $p 2>/dev/null; done
for _ in $(seq 50); do pgrep -f 'docker-registry serve .*/state/registry/config.yml' >/dev/null || break; sleep 0.1; done
for p in $(pgrep -f 'docker-registry serve .*/state/registry/config.yml'); do kill -KILL $p 2>/dev/null; done

# 4. Namespaces and links.
for ns in $(ip netns list | awk '/^lab-/ {print $1}'); do ip netns del $ns 2>/dev/null; done
ip link del labgw 2>/dev/null

# 5. cgroups, deepest first; they empty once their processes are reaped.
for _ in $(seq 50); do
  left=0
  for c in $CG_CTRLS; do
    d=/sys/fs/cgroup/$c/$CG_ROOT
    [ -d $d ] || continue
    find $d -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d $d ] && left=1
  done
  [ $left = 0 ] && break
  sleep 0.1
done

# 6. Files (never while anything is mounted below them). The hosts' own /etc, /home, ... (with
#    the login droverlab) are layers in the state folder and go with it. Labs of older checkouts
#    made droverlab on the machine itself: remove such a leftover too.
id droverlab >/dev/null 2>&1 && userdel droverlab 2>/dev/null
rm -f /etc/sudoers.d/drover-lab
if [ $keep = 0 ] && [ -d $STATE ]; then
  if grep -q " $STATE" /proc/self/mounts; then echo "mounts still under $STATE, not deleting it"
  else rm -rf $STATE; fi
fi

# 7. Verify.
left=0
ip netns list | grep -E '^lab-' && { echo "left: network namespaces"; left=1; }
ip -br link | grep -E '^(labgw|sw-h|labbr0)' && { echo "left: links"; left=1; }
[ -n "$(netns_pids)" ] && { echo "left: processes in lab namespaces"; left=1; }
pgrep -af 'tini -s -- /bin/sleep infinity|host-init.sh|docker-registry serve .*/state/registry' && { echo "left: processes"; left=1; }
grep -E " ($LAB|/run/lab)" /proc/self/mounts && { echo "left: mounts"; left=1; }
for c in $CG_CTRLS; do [ -d /sys/fs/cgroup/$c/$CG_ROOT ] && { echo "left: cgroup $c/$CG_ROOT"; left=1; }; done
ip -br addr | grep -F "$NET_PREFIX." && { echo "left: addresses"; left=1; }
id droverlab >/dev/null 2>&1 && { echo "left: user droverlab"; left=1; }
[ -e /etc/sudoers.d/drover-lab ] && { echo "left: /etc/sudoers.d/drover-lab"; left=1; }
[ $keep = 0 ] && [ -d $STATE ] && { echo "left: $STATE"; left=1; }
[ $left = 0 ] && echo "lab down: no lab namespaces, links, processes, mounts, cgroups, user or state remain"
exit $left
