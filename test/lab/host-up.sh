#!/bin/bash
# host-up.sh NAME [--no-sshd] [--no-docker]
# Creates (or boots again, after a crash) one lab host: network namespace lab-NAME with eth0 on
# the lab switch, private mount/UTS/IPC/PID namespaces with its own /etc /srv /home /var
# /usr/local (copy-on-write over the machine's), /root /opt /var/lib/docker /var/log /tmp /run
# (see host-init.sh for the whole layout), its own sshd (own host key), the lab's non-root login
# (droverlab) and its own containerd + dockerd. Data under the host's folders survives a crash,
# as a disk does.
set -euo pipefail
LAB=${LAB:-$(cd "$(dirname "$0")" && pwd)}; . "$LAB/lab.env"
name=$1; shift
want_sshd=1; want_docker=1
for a in "$@"; do case $a in --no-sshd) want_sshd=0;; --no-docker) want_docker=0;; esac; done
ip=$(host_ip $name); H=$(host_dir $name); IN_H=$IN_STATE/hosts/$name
alive $name && { echo "host $name already running"; exit 0; }
nhosts=$(cat $STATE/lab.size 2>/dev/null || echo 16)

# ---- files ------------------------------------------------------------------------------
mkdir -p $H/{etc,root/.ssh,tmp,opt,var-lib-docker,var-log,log}
echo $name > $H/etc/hostname
[ -f $H/etc/machine-id ] || { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; echo; } > $H/etc/machine-id
{ echo "127.0.0.1 localhost"; echo "$ip $name"
  for i in $(seq 1 $nhosts); do [ h$i = $name ] || echo "$(host_ip h$i) h$i"; done; } > $H/etc/hosts
chmod 700 $H/root $H/root/.ssh; chmod 1777 $H/tmp; chmod 710 $H/var-lib-docker; chmod 755 $H/opt
[ -f $H/etc/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -C "root@$name" -f $H/etc/ssh_host_ed25519_key
install -m 600 $SSH_KEY.pub $H/root/.ssh/authorized_keys
cat > $H/etc/sshd_config <<EOC
# sshd for lab host $name ($ip). Paths are as seen inside the host's mount namespace.
ListenAddress 0.0.0.0
Port 22
HostKey $IN_H/etc/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
X11Forwarding no
AllowTcpForwarding yes
Subsystem sftp /usr/lib/openssh/sftp-server
MaxStartups 128:30:256
MaxSessions 64
EOC
cat > $H/etc/daemon.json <<EOC
{
  "data-root": "/var/lib/docker",
  "exec-root": "/run/docker",
  "pidfile": "/run/docker.pid",
  "hosts": ["unix:///run/docker.sock"],
  "storage-driver": "$STORAGE_DRIVER",
  "bridge": "none",
  "iptables": false,
  "ip6tables": false,
  "ip-masq": false,
  "ip-forward": false,
  "userland-proxy": false,
  "insecure-registries": ["$REG"],
  "cgroup-parent": "/$CG_ROOT/$name/docker",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "log-driver": "json-file",
  "log-opts": {"max-size": "1m", "max-file": "2"},
  "containerd": "/run/containerd/containerd.sock"
}
EOC
cat > $H/etc/containerd.toml <<EOC
# containerd for lab host $name, run separately from dockerd as Debian's units do.
version = 2
root = "/var/lib/docker/containerd-standalone"
state = "/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "/run/containerd/containerd.sock"
EOC
echo "want_sshd=$want_sshd want_docker=$want_docker" > $H/profile

# ---- network ----------------------------------------------------------------------------
if ! [ -e /run/netns/lab-$name ]; then
  ip netns add lab-$name
  nsenter --net=/run/netns/lab-$name sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link add sw-$name type veth peer name eth0 netns lab-$name
  ip link set sw-$name netns lab-sw
  ip -n lab-sw link set sw-$name master $BR up
  ip -n lab-$name addr add $ip/24 dev eth0
  ip -n lab-$name link set lo up
fi
ip -n lab-$name link set eth0 up
# No default route on purpose: a lab host can reach only 10.213.0.0/24.

# ---- namespaces + init ------------------------------------------------------------------
for c in $CG_CTRLS; do mkdir -p /sys/fs/cgroup/$c/$CG_ROOT/$name; done
(
  for c in $CG_CTRLS; do echo $BASHPID > /sys/fs/cgroup/$c/$CG_ROOT/$name/cgroup.procs; done
  exec setsid nsenter --net=/run/netns/lab-$name \
       unshare --mount --uts --ipc --pid --fork --propagation private $LAB/host-init.sh $name
) </dev/null >$H/log/init.log 2>&1 &
upid=$!
echo $upid > $H/unshare.pid
hp=
for _ in $(seq 500); do
  hp=$(cat /proc/$upid/task/$upid/children 2>/dev/null | awk '{print $1}')
  [ -n "$hp" ] && [ "$(cat /proc/$hp/comm 2>/dev/null)" = tini ] && break
  hp=; sleep 0.01
done
[ -n "$hp" ] || { echo "host $name: init did not start"; cat $H/log/init.log; exit 1; }
echo $hp > $H/holder.pid

# ---- the non-root login -----------------------------------------------------------------
# User droverlab (key-only, passwordless sudo) for tests of `become: true`. It is made inside the
# host, so it lives in the host's own /etc and /home, like a user an operator adds to a machine:
# the machine itself has no such user, and the login works wherever the checkout is. It survives
# a crash with the host's /etc; the key is installed again on every boot.
LAB_USER=droverlab
if [ $want_sshd = 1 ]; then
  $LAB/lab-exec.sh $name /bin/sh -eu -c '
    user=$1 key=$2
    id "$user" >/dev/null 2>&1 ||
      useradd --system --password "*" --home-dir /home/$user --shell /bin/sh "$user"
    group=$(id -g "$user")
    install -d -m 700 -o "$user" -g "$group" /home/$user /home/$user/.ssh
    install -m 600 -o "$user" -g "$group" "$key" /home/$user/.ssh/authorized_keys
    echo "$user ALL=(ALL) NOPASSWD: ALL" > /etc/sudoers.d/drover-lab
    chmod 440 /etc/sudoers.d/drover-lab
  ' sh $LAB_USER $IN_STATE/ssh/id_ed25519.pub
fi

# ---- sshd -------------------------------------------------------------------------------
if [ $want_sshd = 1 ]; then
  $LAB/lab-exec.sh $name /usr/sbin/sshd -f $IN_H/etc/sshd_config -E $IN_H/log/sshd.log
  for _ in $(seq 500); do timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22" 2>/dev/null && break; sleep 0.01; done
fi

# ---- containerd + dockerd ---------------------------------------------------------------
if [ $want_docker = 1 ]; then
  $LAB/lab-exec.sh $name /bin/sh -c \
    "setsid /usr/bin/containerd --config $IN_H/etc/containerd.toml </dev/null >>$IN_H/log/containerd.log 2>&1 &"
  for _ in $(seq 1000); do [ -S /proc/$hp/root/run/containerd/containerd.sock ] && break; sleep 0.01; done
  $LAB/lab-exec.sh $name /bin/sh -c \
    "setsid /usr/sbin/dockerd --config-file $IN_H/etc/daemon.json </dev/null >>$IN_H/log/dockerd.log 2>&1 &"
  ok=0
  for _ in $(seq 3000); do
    if curl -sf --noproxy '*' --unix-socket /proc/$hp/root/run/docker.sock http://d/_ping >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.02
  done
  [ $ok = 1 ] || { echo "host $name: dockerd did not come up"; tail -20 $H/log/dockerd.log; exit 1; }
fi
echo "host $name up ($ip)"
