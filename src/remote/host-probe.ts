import { exec, type Cmd } from '../shell/cmd.js';

/**
 * One read-only script that gathers everything the Consul host pre-flight judges, as `key=value`
 * lines (parsed by src/consul/agent/host-preflight.ts). Arguments are positional ("$1"...), never
 * spliced into the script. Each docker call is bounded by `timeout` when the host has it.
 */
const PROBE_SCRIPT = [
  'c=$1 img=$2 dir=$3 check_image=$4',
  't=; command -v timeout >/dev/null 2>&1 && t="timeout 20"',
  'if command -v docker >/dev/null 2>&1; then',
  '  echo docker=present',
  `  if v=$($t docker version --format '{{.Server.Version}}' 2>&1); then echo "daemon=$v"; else echo "daemon_error=$(printf %s "$v" | tail -n 1)"; fi`,
  '  if [ "$check_image" = yes ]; then',
  '    if $t docker image inspect --format x "$img" >/dev/null 2>&1; then echo image=local',
  '    elif out=$($t docker manifest inspect --insecure "$img" 2>&1); then echo image=remote',
  '    else echo "image_error=$(printf %s "$out" | tail -n 1)"; fi',
  '  fi',
  `  echo "container=$($t docker inspect -f '{{.State.Status}}' "$c" 2>/dev/null || echo absent)"`,
  'else echo docker=absent; fi',
  'if command -v ip >/dev/null 2>&1; then ip -o addr show | awk \'{print "addr=" $4}\'',
  'else for a in $(hostname -I 2>/dev/null); do echo "addr=$a"; done; fi',
  'if command -v ss >/dev/null 2>&1; then ss -Hlntu | awk \'{print "listen=" $1 " " $5}\'; fi',
  'p=$dir',
  'while [ ! -e "$p" ] && [ "$p" != / ]; do p=$(dirname -- "$p"); done',
  'echo "fs=$(stat -f -c %T -- "$p")"',
  'df -Pk -- "$p" | awk \'NR == 2 {print "avail_kb=" $4; print "mount=" $6}\'',
].join('\n');

/**
 * The host's clock as `now_ns=...`, alone: a short call, so the window in which the host read
 * it (measured on the control machine) stays narrow even when the probe's docker calls are slow.
 */
export const hostClock = (): Cmd => exec('sh', '-c', 'echo "now_ns=$(date +%s%N)"');

export const hostProbe = (o: {
  container: string;
  image: string;
  dataDir: string;
  checkImage: boolean;
}): Cmd => exec('sh', '-c', PROBE_SCRIPT, 'sh', o.container, o.image, o.dataDir, o.checkImage ? 'yes' : 'no');
