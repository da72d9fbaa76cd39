#!/bin/bash
# images.sh: builds the lab's images on the "build" host and pushes them to the lab registry:
#   $REG/busybox:test          static busybox, for lab self-tests
#   $REG/consul:1.20.1         busybox + node + the Consul stand-in (test/lab/standin), laid out
#                              like hashicorp/consul: user consul (100:1000) owning /consul/*,
#                              docker-entrypoint.sh under dumb-init that drops to consul with gosu
#                              (Debian's su-exec), setcap, `consul` on PATH, VOLUME /consul/data,
#                              CMD ["agent", "-dev", "-client", "0.0.0.0"], no USER (exec is root),
#                              the labels version and org.opencontainers.image.version
#   $REG/consul:1.20.2         the same agent reporting version 1.20.2, for upgrade tests
# With LAB_CONSUL_IMAGE_TAR=/path/to/hashicorp-consul.tar (from `docker save hashicorp/consul:X`),
# that real image is loaded and pushed as $REG/consul:1.20.1 instead of the stand-in.
set -euo pipefail
LAB=${LAB:-$(cd "$(dirname "$0")" && pwd)}; . "$LAB/lab.env"
W=$STATE/imgbuild; rm -rf $W; mkdir -p $W
bx() { $LAB/lab-exec.sh build "$@"; }

mk_busybox() {
  local r=$1; mkdir -p $r/bin $r/etc $r/tmp $r/root $r/proc $r/sys $r/dev $r/usr/bin $r/usr/local/bin
  cp /bin/busybox $r/bin/busybox
  for a in $(/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox $r/bin/$a; done
  echo 'root:x:0:0:root:/root:/bin/sh' > $r/etc/passwd; echo 'root:x:0:' > $r/etc/group
  echo 'hosts: files dns' > $r/etc/nsswitch.conf
  chmod 1777 $r/tmp
}

# copy_with_libs ROOTFS BIN: BIN at the same path in ROOTFS, with the libraries ldd names.
copy_with_libs() {
  local r=$1 bin=$2 lib
  [ -x "$bin" ] || { echo "images: $bin is missing (.ci/run installs it)" >&2; return 1; }
  mkdir -p "$r$(dirname "$bin")"
  cp -L "$bin" "$r$bin"
  # A static binary has no libraries ("not a dynamic executable", ldd exits 1).
  { ldd "$bin" 2>/dev/null || true; } | awk '/=>/ {print $3} /ld-linux/ {print $1}' | while read -r lib; do
    case $lib in /lib64/*) cp -L $lib $r/lib64/;; *) cp -L $lib $r/lib/x86_64-linux-gnu/;; esac
  done
}

mk_busybox $W/busybox
tar -C $W/busybox -c . | bx docker import --change 'CMD ["/bin/sh"]' - $REG/busybox:test >/dev/null
bx docker push -q $REG/busybox:test >/dev/null

if [ -n "${LAB_CONSUL_IMAGE_TAR:-}" ]; then
  # A real hashicorp/consul image saved with `docker save`; the lab file is visible in the host at /run/lab.
  cp "$LAB_CONSUL_IMAGE_TAR" $W/consul-image.tar
  src=$(bx docker load -q -i $IN_STATE/imgbuild/consul-image.tar | awk -F': ' '/Loaded image/ {print $2; exit}')
  bx docker tag "$src" $REG/consul:1.20.1
  bx docker push -q $REG/consul:1.20.1 >/dev/null
  echo "images: loaded $src from $LAB_CONSUL_IMAGE_TAR as $REG/consul:1.20.1"
else
  r=$W/consul; mk_busybox $r
  mkdir -p $r/lib/x86_64-linux-gnu $r/lib64 $r/usr/sbin
  # The machine's own binaries, each with the shared libraries it needs (node's glibc serves
  # dumb-init and setcap too; gosu is static). Same paths as on Debian, which the entrypoint uses.
  for bin in /usr/bin/node /usr/bin/dumb-init /usr/sbin/gosu /usr/sbin/setcap; do
    copy_with_libs $r $bin
  done
  sh $LAB/standin/install.sh $r
  # --numeric-owner: the image's consul user (100:1000) need not exist on this machine.
  tar --numeric-owner -C $r -c . | bx docker import \
     --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["agent", "-dev", "-client", "0.0.0.0"]' \
     --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
     --change 'EXPOSE 8300 8301 8301/udp 8302 8302/udp 8500 8600 8600/udp' \
     --change 'VOLUME ["/consul/data"]' \
     --change 'LABEL version=1.20.1 org.opencontainers.image.version=1.20.1' - $REG/consul:1.20.1 >/dev/null
  bx docker push -q $REG/consul:1.20.1 >/dev/null
fi
# The second tag: same image, another version, so upgrades have somewhere to go.
cid=$(bx docker create --net=none $REG/consul:1.20.1)
bx docker commit --change 'ENV CONSUL_STANDIN_VERSION=1.20.2' \
   --change 'LABEL version=1.20.2 org.opencontainers.image.version=1.20.2' "$cid" $REG/consul:1.20.2 >/dev/null
bx docker rm -v "$cid" >/dev/null   # -v: with the anonymous /consul/data volume
bx docker push -q $REG/consul:1.20.2 >/dev/null
rm -rf $W
echo "images: $(curl -s --noproxy '*' http://$REG/v2/_catalog) in $REG"
