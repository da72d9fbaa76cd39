import { exec, type Cmd } from '../shell/cmd.js';

/**
 * Exit 0 when something accepts TCP connections on host:port, as seen from the target host.
 * Hosts differ in what they have, so it tries, in order: bash's /dev/tcp (bounded by `timeout`
 * when present), `nc -z`, and finally a LISTEN socket on that port in /proc/net/tcp{,6}, which
 * is right for local addresses and needs nothing but awk.
 */
const TCP_CHECK_SCRIPT = [
  'h=$1 p=$2 t=',
  'command -v timeout >/dev/null 2>&1 && t="timeout 3"',
  `if command -v bash >/dev/null 2>&1; then exec $t bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$h" "$p" 2>/dev/null; fi`,
  'if command -v nc >/dev/null 2>&1; then exec nc -z -w 2 "$h" "$p"; fi',
  `hex=$(printf '%04X' "$p")`,
  'for f in /proc/net/tcp /proc/net/tcp6; do',
  `  [ -r "$f" ] && awk -v port="$hex" 'NR > 1 { a = $2; sub(/.*:/, "", a); if (a == port && $4 == "0A") found = 1 } END { exit !found }' "$f" && exit 0`,
  'done',
  'exit 1',
].join('\n');

export const tcpCheck = (host: string, port: number): Cmd =>
  exec('sh', '-c', TCP_CHECK_SCRIPT, 'sh', host, String(port));
