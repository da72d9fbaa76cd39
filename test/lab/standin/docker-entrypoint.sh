#!/usr/bin/dumb-init /bin/sh
# Entrypoint of the lab's consul image. It does what hashicorp/consul's docker-entrypoint.sh
# does, step for step, because drover must work with that image and the lab must not be kinder:
#   - dumb-init is PID 1 (the shebang): it reaps zombies and forwards signals to the agent.
#   - CONSUL_BIND_INTERFACE / CONSUL_CLIENT_INTERFACE become -bind= / -client= with the
#     interface's first IPv4 address (unless CONSUL_BIND / CONSUL_CLIENT are set already).
#   - CONSUL_LOCAL_CONFIG is written to $CONSUL_CONFIG_DIR/local.json.
#   - `-flag ...` runs `consul -flag ...`; `agent ...` runs `consul agent -data-dir=...
#     -config-dir=... $CONSUL_BIND $CONSUL_CLIENT ...`; `version` and any other word that
#     `consul --help WORD` knows run `consul WORD ...`; anything else is exec'd as given.
#   - When it runs consul (and CONSUL_DISABLE_PERM_MGMT is unset): chowns the data and config
#     dirs (the dirs only, not what is in them) to CONSUL_UID:CONSUL_GID (default: the image's
#     consul user, 100:1000) when their owner differs, and drops to that user. A read-only
#     mount owned by someone else therefore fails here, under set -e, as in the real image.
# The real image drops privileges with su-exec; Debian's gosu takes the same arguments.
set -e

# The stand-in's /bin/consul is a script that execs node: file capabilities only take effect
# on the binary that is finally exec'd, so CONSUL_ALLOW_PRIVILEGED_PORTS sets them on node.
CONSUL_BIN=/usr/bin/node

# first_ipv4 IFACE: the interface's first IPv4 address, empty when it has none (or is missing;
# ip's complaint about a missing device goes to stderr, as in the real image).
first_ipv4() {
  ip -o -4 addr list "$1" | head -n 1 | awk '{print $4}' | cut -d/ -f1
}

if [ -z "$CONSUL_BIND" ] && [ -n "$CONSUL_BIND_INTERFACE" ]; then
  CONSUL_BIND_ADDRESS=$(first_ipv4 "$CONSUL_BIND_INTERFACE")
  if [ -z "$CONSUL_BIND_ADDRESS" ]; then
    echo "Could not find IP for interface '$CONSUL_BIND_INTERFACE', exiting"
    exit 1
  fi
  CONSUL_BIND="-bind=$CONSUL_BIND_ADDRESS"
  echo "==> Found address '$CONSUL_BIND_ADDRESS' for interface '$CONSUL_BIND_INTERFACE', setting bind option..."
fi

if [ -z "$CONSUL_CLIENT" ] && [ -n "$CONSUL_CLIENT_INTERFACE" ]; then
  CONSUL_CLIENT_ADDRESS=$(first_ipv4 "$CONSUL_CLIENT_INTERFACE")
  if [ -z "$CONSUL_CLIENT_ADDRESS" ]; then
    echo "Could not find IP for interface '$CONSUL_CLIENT_INTERFACE', exiting"
    exit 1
  fi
  CONSUL_CLIENT="-client=$CONSUL_CLIENT_ADDRESS"
  echo "==> Found address '$CONSUL_CLIENT_ADDRESS' for interface '$CONSUL_CLIENT_INTERFACE', setting client option..."
fi

# /consul/data is the image's volume; both dirs can be moved with these variables.
CONSUL_DATA_DIR=${CONSUL_DATA_DIR:-/consul/data}
CONSUL_CONFIG_DIR=${CONSUL_CONFIG_DIR:-/consul/config}

# Config without a mount: written as root, before any chown, like the real image does.
if [ -n "$CONSUL_LOCAL_CONFIG" ]; then
  echo "$CONSUL_LOCAL_CONFIG" > "$CONSUL_CONFIG_DIR/local.json"
fi

# Which program to run.
case "$1" in
  -*) set -- consul "$@" ;;
esac
if [ "$1" = agent ]; then
  shift
  # Unquoted on purpose: an unset CONSUL_BIND / CONSUL_CLIENT must vanish, not become "".
  # shellcheck disable=SC2086
  set -- consul agent \
    -data-dir="$CONSUL_DATA_DIR" \
    -config-dir="$CONSUL_CONFIG_DIR" \
    $CONSUL_BIND \
    $CONSUL_CLIENT \
    "$@"
elif [ "$1" = version ]; then
  # Asked by name, as the real script does.
  set -- consul "$@"
elif consul --help "$1" 2>&1 | grep -q "consul $1"; then
  # Consul's exit code does not tell a subcommand from an unknown word; its help text does.
  set -- consul "$@"
fi

# Running consul: give it its dirs and drop root, unless told to leave permissions alone.
if [ "$1" = consul ] && [ -z "${CONSUL_DISABLE_PERM_MGMT+set}" ]; then
  CONSUL_UID=${CONSUL_UID:-$(id -u consul)}
  CONSUL_GID=${CONSUL_GID:-$(id -g consul)}

  # Bind mounts usually arrive owned by root. Only the dirs themselves are chowned: files a
  # deploy put inside keep their owner and mode, so one the agent cannot read stays unreadable.
  for dir in "$CONSUL_DATA_DIR" "$CONSUL_CONFIG_DIR"; do
    if [ "$(stat -c %u "$dir")" != "$CONSUL_UID" ]; then
      chown "$CONSUL_UID:$CONSUL_GID" "$dir"
    fi
  done

  # Ports below 1024 (DNS on 53) without root: a file capability, set before root is dropped.
  if [ -n "${CONSUL_ALLOW_PRIVILEGED_PORTS+set}" ]; then
    setcap "cap_net_bind_service=+ep" "$CONSUL_BIN"
  fi

  set -- gosu "$CONSUL_UID:$CONSUL_GID" "$@"
fi

exec "$@"
