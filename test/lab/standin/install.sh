#!/bin/sh
# Installs the Consul stand-in into an image root filesystem that already has busybox and
# /usr/bin/node:  install.sh ROOTFS
#   ROOTFS/opt/consul-standin/          the agent and CLI (plain ESM, Node built-ins only)
#   ROOTFS/bin/consul                   sh wrapper: exec /usr/bin/node .../consul.mjs "$@"
#   ROOTFS/usr/local/bin/docker-entrypoint.sh
#   ROOTFS/consul/data, ROOTFS/consul/config
# The image should use ENTRYPOINT ["docker-entrypoint.sh"], CMD ["agent"],
# PATH=/usr/local/bin:/usr/bin:/bin, and may bake CONSUL_STANDIN_VERSION=x.y.z.
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

mkdir -p "$ROOTFS/opt/consul-standin/lib/cli" "$ROOTFS/bin" "$ROOTFS/usr/local/bin" "$ROOTFS/consul/data" "$ROOTFS/consul/config"
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
