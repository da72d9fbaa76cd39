#!/bin/bash
# fault.sh ACTION HOST [ARG]  Fault injection for lab hosts.
#   partition|heal H         drop every frame to/from H at the switch (H's link stays up)
#   cut|uncut H1 H2          drop traffic between two hosts only
#   link-down|link-up H      eth0 down/up inside H
#   sshd-kill|sshd-start H   kill / start H's listening sshd (open sessions survive)
#   dockerd-kill|dockerd-start H   SIGKILL / start H's dockerd (containers keep running via containerd)
#   freeze|thaw H            cgroup freezer: the whole host hangs; TCP handshakes still complete
#   crash|boot H             power cut: every process of H dies at once; boot starts it again on
#                            the same disk (its /etc /home /var /opt /var/lib/docker ..., host key kept)
set -uo pipefail
LAB=${LAB:-$(cd "$(dirname "$0")" && pwd)}; . "$LAB/lab.env"
act=${1:-}; h=${2:-}; arg=${3:-}
SW="ip netns exec lab-sw"
usage() { sed -n 2,11p $0; exit 64; }
[ -n "$h" ] || usage
[ -d $(host_dir $h) ] || { echo "no lab host $h" >&2; exit 1; }
ensure_table() {
  $SW nft list table bridge labfault >/dev/null 2>&1 || $SW nft -f - <<'EOC'
table bridge labfault {
  chain filt { type filter hook forward priority 0; policy accept; }
}
EOC
}
del_rules_with() {
  $SW nft -a list chain bridge labfault filt 2>/dev/null | awk -v c="\"$1\"" '$0 ~ "comment " c {print $NF}' |
    while read -r hd; do $SW nft delete rule bridge labfault filt handle $hd; done
}
# outer pid of H's daemon with comm $2 (a child of the host's init)
child_pid() {
  local hp p; hp=$(holder_pid $1)
  for p in $(cat /proc/$hp/task/$hp/children 2>/dev/null); do [ "$(cat /proc/$p/comm)" = "$2" ] && { echo $p; return; }; done
}
IN_H=$IN_STATE/hosts/$h
case $act in
  partition) ensure_table
             $SW nft add rule bridge labfault filt iifname "sw-$h" drop comment "\"part-$h\""
             $SW nft add rule bridge labfault filt oifname "sw-$h" drop comment "\"part-$h\"" ;;
  heal)      del_rules_with part-$h ;;
  cut)       [ -n "$arg" ] || usage; ensure_table; a=$(host_ip $h); b=$(host_ip $arg)
             $SW nft add rule bridge labfault filt ip saddr $a ip daddr $b drop comment "\"cut-$h-$arg\""
             $SW nft add rule bridge labfault filt ip saddr $b ip daddr $a drop comment "\"cut-$h-$arg\"" ;;
  uncut)     [ -n "$arg" ] || usage; del_rules_with cut-$h-$arg ;;
  link-down) ip -n lab-$h link set eth0 down ;;
  link-up)   ip -n lab-$h link set eth0 up ;;
  sshd-kill) p=$(child_pid $h sshd); [ -n "$p" ] && kill -KILL $p ;;
  sshd-start) $LAB/lab-exec.sh $h /usr/sbin/sshd -f $IN_H/etc/sshd_config -E $IN_H/log/sshd.log ;;
  dockerd-kill) p=$(child_pid $h dockerd); [ -n "$p" ] && kill -KILL $p
             for _ in $(seq 100); do [ -d /proc/$p ] || break; sleep 0.05; done ;;
  dockerd-start)
             $LAB/lab-exec.sh $h /bin/sh -c \
               "setsid /usr/sbin/dockerd --config-file $IN_H/etc/daemon.json </dev/null >>$IN_H/log/dockerd.log 2>&1 &"
             hp=$(holder_pid $h)
             for _ in $(seq 1500); do curl -sf --noproxy '*' --unix-socket /proc/$hp/root/run/docker.sock http://d/_ping >/dev/null 2>&1 && exit 0; sleep 0.02; done
             echo "dockerd on $h did not come back" >&2; exit 1 ;;
  freeze)    echo FROZEN > /sys/fs/cgroup/freezer/$CG_ROOT/$h/freezer.state ;;
  thaw)      echo THAWED > /sys/fs/cgroup/freezer/$CG_ROOT/$h/freezer.state ;;
  crash)     hp=$(holder_pid $h); up=$(cat $(host_dir $h)/unshare.pid 2>/dev/null)
             alive $h && kill -KILL $hp
             for _ in $(seq 200); do [ -d /proc/$hp ] || [ -d /proc/${up:-0} ] || break; sleep 0.05; done
             ip -n lab-$h link set eth0 down ;;
  boot)      . $(host_dir $h)/profile
             f=(); [ $want_sshd = 1 ] || f+=(--no-sshd); [ $want_docker = 1 ] || f+=(--no-docker)
             $LAB/host-up.sh $h "${f[@]}" ;;
  *) usage ;;
esac
