#!/bin/sh
# Entrypoint of the lab's consul image, shaped like hashicorp/consul's docker-entrypoint.sh:
#   agent ...        -> consul agent -data-dir=/consul/data -config-dir=/consul/config ...
#   -flag ...        -> consul -flag ...
#   <consul subcmd>  -> consul <subcmd> ...
#   anything else    -> exec'd as given
# The real image drops to the consul user with su-exec; the stand-in image runs as root.
set -e

CONSUL_DATA_DIR=/consul/data
CONSUL_CONFIG_DIR=/consul/config

CONSUL_BIND=
if [ -n "$CONSUL_BIND_INTERFACE" ]; then
  CONSUL_BIND_ADDRESS=$(ip -o -4 addr list "$CONSUL_BIND_INTERFACE" | head -n 1 | awk '{print $4}' | cut -d/ -f1)
  if [ -z "$CONSUL_BIND_ADDRESS" ]; then
    echo "Could not find IP for interface '$CONSUL_BIND_INTERFACE', exiting"
    exit 1
  fi
  CONSUL_BIND="-bind=$CONSUL_BIND_ADDRESS"
  echo "==> Found address '$CONSUL_BIND_ADDRESS' for interface '$CONSUL_BIND_INTERFACE', setting bind option..."
fi

CONSUL_CLIENT=
if [ -n "$CONSUL_CLIENT_INTERFACE" ]; then
  CONSUL_CLIENT_ADDRESS=$(ip -o -4 addr list "$CONSUL_CLIENT_INTERFACE" | head -n 1 | awk '{print $4}' | cut -d/ -f1)
  if [ -z "$CONSUL_CLIENT_ADDRESS" ]; then
    echo "Could not find IP for interface '$CONSUL_CLIENT_INTERFACE', exiting"
    exit 1
  fi
  CONSUL_CLIENT="-client=$CONSUL_CLIENT_ADDRESS"
  echo "==> Found address '$CONSUL_CLIENT_ADDRESS' for interface '$CONSUL_CLIENT_INTERFACE', setting client option..."
fi

if [ -n "$CONSUL_LOCAL_CONFIG" ]; then
  echo "$CONSUL_LOCAL_CONFIG" > "$CONSUL_CONFIG_DIR/local.json"
fi

case "$1" in
  -*) set -- consul "$@" ;;
esac

if [ "$1" = 'agent' ]; then
  shift
  # shellcheck disable=SC2086 # empty CONSUL_BIND/CONSUL_CLIENT must vanish, as in the real script
  set -- consul agent \
    -data-dir="$CONSUL_DATA_DIR" \
    -config-dir="$CONSUL_CONFIG_DIR" \
    $CONSUL_BIND \
    $CONSUL_CLIENT \
    "$@"
else
  case "$1" in
    version|info|members|leave|force-leave|join|keygen|keyring|operator|reload|validate|monitor|catalog|kv|event|exec|lock|maint|rtt|snapshot|watch|acl|services|debug|intention|config|connect|tls|login|logout|troubleshoot|peering|resource)
      set -- consul "$@" ;;
  esac
fi

exec "$@"
