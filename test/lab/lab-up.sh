#!/bin/bash
# lab-up.sh [--hosts N] [--no-docker]
# Brings up the lab: switch namespace lab-sw (bridge labbr0), root-namespace leg labgw
# (10.213.0.1/24), docker-registry on 10.213.0.1:5000, a build host that pushes the lab images,
# and hosts h1..hN (10.213.0.11 upward), each with sshd and dockerd (sshd only with --no-docker).
# Writes $STATE/ssh/{id_ed25519,known_hosts,config} and $STATE/hosts.json.
# Idempotent: a running lab that covers the request is left as it is, a smaller one grows in
# place, and anything else (a crashed lab, leftovers of another checkout) is torn down first.
set -euo pipefail
LAB=${LAB:-$(cd "$(dirname "$0")" && pwd)}; . "$LAB/lab.env"
N=6; docker=1
while [ $# -gt 0 ]; do
  case $1 in
    --hosts) N=$2; shift 2;;
    --hosts=*) N=${1#--hosts=}; shift;;
    --no-docker) docker=0; shift;;
    *) echo "usage: lab-up.sh [--hosts N] [--no-docker]" >&2; exit 64;;
  esac
done
[[ $N =~ ^[0-9]+$ ]] && [ $N -ge 1 ] && [ $N -le 200 ] || { echo "--hosts must be 1..200" >&2; exit 64; }
[ "$(id -u)" = 0 ] || { echo "the lab needs root (network namespaces, cgroups)" >&2; exit 1; }
T0=$(date +%s.%N)

# alive_upto K: hosts h1..hK all running
alive_upto() { for i in $(seq 1 $1); do alive h$i || return 1; done; }
# docker_upto K: hosts h1..hK all run dockerd (hosts added with --no-docker do not)
docker_upto() { for i in $(seq 1 $1); do grep -q want_docker=1 $(host_dir h$i)/profile 2>/dev/null || return 1; done; }
have=$(cat $STATE/lab.size 2>/dev/null || echo 0)
lab_docker=$(sed -n 's/.*docker=\([01]\).*/\1/p' $STATE/lab.shape 2>/dev/null || true)
running() { [ -e /run/netns/lab-sw ] && [ $have -ge 1 ] && alive_upto $have; }
# A running lab serves any request it covers: at least N hosts, with dockerd where asked.
if running && [ $have -ge $N ] && { [ $docker = 0 ] || { docker_upto $N && curl -sf --noproxy '*' -m 2 http://$REG/v2/ >/dev/null; }; }; then
  echo "lab already up ($have hosts)"; exit 0
fi

# A running lab with fewer hosts grows in place (h<have+1>..hN), so a larger test can start
# without tearing down what others are using. A registry exists only in a lab made with docker.
grow=0
if running && [ $have -lt $N ] && { [ $docker = 0 ] || [ "$lab_docker" = 1 ]; }; then
  grow=1
  echo "lab: growing from $have to $N hosts"
elif [ -d $STATE ] || ip netns list | grep -q '^lab-' || ip link show labgw >/dev/null 2>&1; then
  echo "lab: cleaning up a previous lab first"
  $LAB/lab-down.sh >/dev/null || { echo "lab: cleanup of the previous lab failed" >&2; $LAB/lab-down.sh; exit 1; }
fi

flags=(); [ $docker = 1 ] || flags+=(--no-docker)
first=1
if [ $grow = 0 ]; then
  mkdir -p $STATE/hosts $STATE/ssh
  echo $N > $STATE/lab.size
  ssh-keygen -q -t ed25519 -N '' -C drover-lab-client -f $SSH_KEY

  # The bridge lives in its own namespace so the root namespace's firewall (docker.io leaves
  # FORWARD policy DROP with br_netfilter) never sees bridged lab traffic.
  ip netns add lab-sw
  nsenter --net=/run/netns/lab-sw sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n lab-sw link set lo up
  ip -n lab-sw link add $BR type bridge
  ip -n lab-sw link set $BR up
  ip link add labgw type veth peer name gw netns lab-sw
  sysctl -q -w net.ipv6.conf.labgw.disable_ipv6=1
  ip -n lab-sw link set gw master $BR up
  ip addr add $GW_IP/24 dev labgw
  ip link set labgw up
  for c in $CG_CTRLS; do mkdir -p /sys/fs/cgroup/$c/$CG_ROOT; done

  if [ $docker = 1 ]; then
    $LAB/registry-up.sh
    $LAB/host-up.sh build --no-sshd >/dev/null
  fi
else
  first=$((have + 1))
  echo $N > $STATE/lab.size
fi
# Hosts come up eight at a time: in parallel, but without starving a 2-core machine.
pids=()
for i in $(seq $first $N); do
  $LAB/host-up.sh h$i "${flags[@]}" > $STATE/hosts-up-h$i.out 2>&1 & pids+=($!)
  if [ ${#pids[@]} -ge 8 ]; then for p in "${pids[@]}"; do wait $p || { cat $STATE/hosts-up-h*.out; exit 1; }; done; pids=(); fi
done
for p in "${pids[@]}"; do wait $p || { cat $STATE/hosts-up-h*.out; exit 1; }; done
rm -f $STATE/hosts-up-h*.out
[ $docker = 1 ] && [ $grow = 0 ] && $LAB/images.sh

# The non-root login (droverlab, for tests of `become: true`) is made by host-up.sh inside each
# host's own /etc and /home; the machine gets no user.

# Client side: known_hosts with every host key (strict checking), ssh_config, hosts.json.
# Each file is written beside its final name and renamed, so runs using the lab while it grows
# never read a half-written one.
: > $KNOWN_HOSTS.new
{
  echo "# drover lab: ssh -F $SSH_CFG h1"
  for i in $(seq 1 $N); do
    n=h$i; ip=$(host_ip $n)
    echo "$ip $(cut -d' ' -f1,2 $(host_dir $n)/etc/ssh_host_ed25519_key.pub)" >> $KNOWN_HOSTS.new
    printf 'Host %s\n  HostName %s\n' $n $ip
  done
  cat <<EOC
Host h* $NET_PREFIX.*
  User root
  IdentityFile $SSH_KEY
  IdentitiesOnly yes
  UserKnownHostsFile $KNOWN_HOSTS
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
EOC
} > $SSH_CFG.new
{ printf '['; for i in $(seq 1 $N); do [ $i = 1 ] || printf ','; printf '{"name":"h%d","address":"%s"}' $i $(host_ip h$i); done; echo ']'; } > $STATE/hosts.json.new
mv -f $KNOWN_HOSTS.new $KNOWN_HOSTS; mv -f $SSH_CFG.new $SSH_CFG; mv -f $STATE/hosts.json.new $STATE/hosts.json
[ $grow = 1 ] || echo "docker=$docker" > $STATE/lab.shape
awk -v a=$T0 -v b=$(date +%s.%N) -v n=$N 'BEGIN{printf "lab up: %d hosts in %.1fs\n", n, b-a}'
echo "  ssh:      ssh -F $SSH_CFG h1"
echo "  hosts:    $STATE/hosts.json"
[ $docker = 1 ] && echo "  registry: http://$REG (consul:1.20.1, consul:1.20.2, busybox:test)"
exit 0
