import { exec, type Cmd } from '../shell/cmd.js';

/**
 * What a later run must know about an agent lives on its host, never only in the memory of the
 * run that changed a file (runs are interrupted, refused and killed): drover touches a mark
 * before it writes a config change the agent has not read yet, and the agent's own start time
 * (Docker's State.StartedAt) says whether it read it since. The marks are empty files, their
 * modification time the only content, kept outside the config dir (Consul reads that).
 *
 *   restart-owed   touched before a change the agent reads only at start
 *   reload-owed    touched around a change `consul reload` applies (services, log_level, ...)
 *   reloaded       touched after a `consul reload` that succeeded
 */
export type AgentMark = 'restart-owed' | 'reload-owed' | 'reloaded';

export const AGENT_MARKS: readonly AgentMark[] = ['restart-owed', 'reload-owed', 'reloaded'];

/** Where one container's marks live on its host. */
export const agentMarkDir = (container: string): string => `/var/lib/drover/agents/${container}`;

const TOUCH_SCRIPT = 'mkdir -p -- "$1" && chmod 0700 -- "$1" && touch -- "$1/$2"';

export const touchAgentMark = (container: string, mark: AgentMark, dir = agentMarkDir(container)): Cmd =>
  exec('sh', '-c', TOUCH_SCRIPT, 'sh', dir, mark);

/**
 * Prints `started RFC3339NANO RUNNING` (or `started absent`), then `MARK NANOSECONDS` for each
 * mark that exists. Both clocks are the host's own: dockerd's and the filesystem's.
 */
const READ_SCRIPT = [
  'd=$1 c=$2; shift 2',
  `if s=$(docker container inspect -f '{{.State.StartedAt}} {{.State.Running}}' "$c" 2>/dev/null); then echo "started $s"; else echo 'started absent'; fi`,
  'for m in "$@"; do if [ -e "$d/$m" ]; then echo "$m $(date -r "$d/$m" +%s%N)"; fi; done',
].join('\n');

export const readAgentMarks = (container: string, dir = agentMarkDir(container)): Cmd =>
  exec('sh', '-c', READ_SCRIPT, 'sh', dir, container, ...AGENT_MARKS);
