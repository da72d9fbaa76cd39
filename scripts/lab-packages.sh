#!/bin/bash
# The Debian packages the lab and its tests need, installed when missing: the one list, used by
# .ci/run and by `npm run demo` (scripts/demo.sh). Needs root only when something is missing.
#
# The lab: real sshd per host, real dockerd + containerd per host, Debian's docker-registry,
# tini as each host's init, iproute2 + nftables for the network and its faults, a static
# busybox for the lab images, curl and dig for checks, sudo for the lab's non-root login; and
# for the lab's consul image, laid out like hashicorp/consul: dumb-init (PID 1), gosu (the
# privilege drop, Debian's su-exec) and setcap (libcap2-bin, CONSUL_ALLOW_PRIVILEGED_PORTS).
# openssl checks the certificates drover makes (test/tls).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(openssh-server openssh-client docker.io containerd docker-registry tini iproute2 nftables
          busybox-static curl bind9-dnsutils util-linux procps ca-certificates sudo
          dumb-init gosu libcap2-bin openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "lab: these Debian packages are missing: ${missing[*]}" >&2
  echo "lab: run as root (the lab needs root anyway), or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "lab: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
