#!/bin/sh
# Installs the Consul stand-in into an image root filesystem and lays it out as hashicorp/consul
# is laid out:  install.sh ROOTFS
# The image also needs busybox, /usr/bin/node, /usr/bin/dumb-init (the entrypoint's shebang),
# /usr/sbin/gosu and /usr/sbin/setcap, with their libraries: images.sh puts them there.
#   ROOTFS/opt/consul-standin/          the agent and CLI (plain ESM, Node built-ins only)
#   ROOTFS/bin/consul                   sh wrapper: exec /usr/bin/node .../consul.mjs "$@"
#   ROOTFS/usr/local/bin/docker-entrypoint.sh
#   ROOTFS/etc/passwd, /etc/group       + user consul (uid 100) in group consul (gid 1000), as
#                                       alpine's `addgroup consul && adduser -S -G consul consul`
#   ROOTFS/consul, /consul/data, /consul/config, /home/consul   owned by 100:1000
# Run as root (as images.sh does) to chown; otherwise the files stay the caller's, with a note.
# The image should use ENTRYPOINT ["docker-entrypoint.sh"],
# CMD ["agent", "-dev", "-client", "0.0.0.0"], VOLUME /consul/data, no USER,
# PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin, and may bake
# CONSUL_STANDIN_VERSION=x.y.z.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 ROOTFS" >&2
  exit 2
fi
ROOTFS=$1
HERE=$(cd "$(dirname "$0")" && pwd)

if [ ! -d "$ROOTFS" ]; then
  echo "install.sh: $ROOTFS is not a directory" >&2
  exit 1
fi

mkdir -p "$ROOTFS/opt/consul-standin/lib/cli" "$ROOTFS/bin" "$ROOTFS/usr/local/bin" \
         "$ROOTFS/consul/data" "$ROOTFS/consul/config" "$ROOTFS/home/consul" "$ROOTFS/etc"
cp "$HERE/consul.mjs" "$ROOTFS/opt/consul-standin/consul.mjs"
cp "$HERE"/lib/*.mjs "$ROOTFS/opt/consul-standin/lib/"
cp "$HERE"/lib/cli/*.mjs "$ROOTFS/opt/consul-standin/lib/cli/"

cat > "$ROOTFS/bin/consul" <<'WRAPPER'
#!/bin/sh
exec /usr/bin/node /opt/consul-standin/consul.mjs "$@"
WRAPPER
chmod 0755 "$ROOTFS/bin/consul"

cp "$HERE/docker-entrypoint.sh" "$ROOTFS/usr/local/bin/docker-entrypoint.sh"
chmod 0755 "$ROOTFS/usr/local/bin/docker-entrypoint.sh"

# The consul user, with the ids alpine gives it in the real image (a system user takes uid 100,
# the first ordinary group gid 1000). `id -u consul` in the entrypoint reads these.
grep -q '^consul:' "$ROOTFS/etc/group" 2>/dev/null || echo 'consul:x:1000:consul' >> "$ROOTFS/etc/group"
grep -q '^consul:' "$ROOTFS/etc/passwd" 2>/dev/null ||
  echo 'consul:x:100:1000:Linux User,,,:/home/consul:/sbin/nologin' >> "$ROOTFS/etc/passwd"
[ -e "$ROOTFS/sbin/nologin" ] || { mkdir -p "$ROOTFS/sbin"; ln -sf /bin/busybox "$ROOTFS/sbin/nologin"; }

# `chown -R consul:consul /consul` in the real Dockerfile; its home, as adduser makes it.
chmod 0755 "$ROOTFS/consul" "$ROOTFS/consul/data" "$ROOTFS/consul/config"
chmod 2755 "$ROOTFS/home/consul"
if [ "$(id -u)" = 0 ]; then
  chown -R 100:1000 "$ROOTFS/consul" "$ROOTFS/home/consul"
else
  echo "install.sh: not root, so /consul and /home/consul are not chowned to consul (100:1000)" >&2
fi
