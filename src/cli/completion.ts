import type { Command, Option } from 'commander';
import { loadInventory } from '../inventory/load.js';
import { isInventoryScript } from '../inventory/sources/script.js';

/**
 * Shell completion the way cobra and clap do it: the script a shell sources is small and
 * fixed, and on each Tab it asks drover itself (`drover __complete -- WORDS...`) what fits
 * there, so commands, options, and the host and group names of the `-i` inventory are always
 * those of the drover that runs. The answer is one line with what to complete (`values`, or
 * `files` for the shell's own file completion), then one candidate per line.
 */
export interface Completion {
  kind: 'values' | 'files';
  values: string[];
}

/** Options whose value is a file: the shell completes paths. */
const FILE_OPTIONS = new Set(['--inventory', '--playbook', '--events', '--junit', '--ssh-key', '--dir']);
/** Positional arguments, by name, that are files or hosts. */
const FILE_ARGUMENTS = new Set(['file', 'playbook']);
const HOST_ARGUMENTS = new Set(['host']);

/**
 * What fits the last of `words` (the words after `drover`, the last one being typed, maybe
 * empty). `env` gives DROVER_INVENTORY when no `-i` is on the line. Never throws: an
 * inventory that does not load completes no names.
 */
export async function complete(
  root: Command,
  words: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<Completion> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  let cmd = root;
  let positionals = 0;
  for (let i = 0; i < before.length; i++) {
    const w = before[i] as string;
    if (w.startsWith('-')) {
      if (!w.includes('=') && takesValue(optionOf(cmd, w))) i++;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) {
      cmd = sub;
      positionals = 0;
    } else positionals++;
  }
  const previous = optionOf(cmd, before.at(-1) ?? '');
  if (previous && takesValue(previous)) {
    const long = previous.long ?? '';
    if (FILE_OPTIONS.has(long)) return { kind: 'files', values: [] };
    if (long === '--limit') return { kind: 'values', values: await limitCandidates(words, env, current) };
    return { kind: 'values', values: [] };
  }
  if (current.startsWith('-')) {
    const names = visibleOptions(cmd).flatMap((o) => [o.long, o.short].filter((n): n is string => !!n));
    return { kind: 'values', values: filter([...names, '--help'], current) };
  }
  const subs = cmd.commands.filter((c) => !hidden(c)).map((c) => c.name());
  if (subs.length > 0) return { kind: 'values', values: filter(subs, current) };
  const arg = cmd.registeredArguments[positionals]?.name();
  if (arg && FILE_ARGUMENTS.has(arg)) return { kind: 'files', values: [] };
  if (arg && HOST_ARGUMENTS.has(arg))
    return { kind: 'values', values: filter(await inventoryNames(words, env, 'hosts'), current) };
  return { kind: 'values', values: [] };
}

/** The answer as `drover __complete` prints it. */
export const formatCompletion = (c: Completion): string => `${[c.kind, ...c.values].join('\n')}\n`;

const hidden = (c: Command): boolean => (c as unknown as { _hidden?: boolean })._hidden === true;

function visibleOptions(cmd: Command): readonly Option[] {
  return cmd.options.filter((o) => !o.hidden);
}

function optionOf(cmd: Command, word: string): Option | undefined {
  if (!word.startsWith('-')) return undefined;
  return cmd.options.find((o) => o.long === word || o.short === word);
}

const takesValue = (o: Option | undefined): boolean => !!o && (o.required || o.optional);

const filter = (values: readonly string[], prefix: string): string[] =>
  [...new Set(values)].filter((v) => v.startsWith(prefix));

/** The inventory the line names (`-i FILE`, `--inventory FILE`, `--inventory=FILE`), else DROVER_INVENTORY. */
function inventoryOf(
  words: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if ((w === '-i' || w === '--inventory') && i + 1 < words.length - 1) return words[i + 1];
    if (w.startsWith('--inventory=')) return w.slice('--inventory='.length);
  }
  return env['DROVER_INVENTORY'];
}

async function inventoryNames(
  words: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  which: 'hosts' | 'hosts and groups',
): Promise<string[]> {
  const file = inventoryOf(words, env);
  // A script would run on every Tab (up to its 30 s): its names are not completed.
  if (!file || (await isInventoryScript(file))) return [];
  try {
    const inventory = await loadInventory(file);
    const hosts = [...inventory.hosts.keys()];
    return which === 'hosts'
      ? hosts
      : [...hosts, ...[...inventory.groups.keys()].filter((g) => g !== 'ungrouped')];
  } catch {
    return [];
  }
}

/** A --limit pattern is names joined by `:` or `,` (with `!` and `&`): the last one is completed. */
async function limitCandidates(
  words: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  current: string,
): Promise<string[]> {
  const cut = Math.max(current.lastIndexOf(':'), current.lastIndexOf(','));
  let head = current.slice(0, cut + 1);
  let last = current.slice(cut + 1);
  const sigil = /^[!&]/.exec(last)?.[0] ?? '';
  head += sigil;
  last = last.slice(sigil.length);
  const names = await inventoryNames(words, env, 'hosts and groups');
  return filter(names, last).map((n) => `${head}${n}`);
}

/** What `drover completion SHELL` prints: a script that asks `drover __complete` on each Tab. */
export function completionScript(shell: 'bash' | 'zsh' | 'fish'): string {
  switch (shell) {
    case 'bash':
      return `# drover completion for bash: source it, or put it in /etc/bash_completion.d/drover
_drover() {
  local IFS=$'\\n' out kind
  out=$(drover __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  kind=\${out%%$'\\n'*}
  if [ "$kind" = files ]; then
    COMPREPLY=($(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}"))
    compopt -o filenames 2>/dev/null
  else
    [ "$out" = "$kind" ] && COMPREPLY=() || COMPREPLY=($(printf '%s\\n' "\${out#*$'\\n'}"))
  fi
}
complete -F _drover drover
`;
    case 'zsh':
      return `#compdef drover
# drover completion for zsh: put it in a directory of $fpath as _drover, or source it
_drover() {
  local -a lines
  lines=("\${(@f)$(drover __complete -- "\${words[@]:1:$((CURRENT-1))}" 2>/dev/null)}")
  if [[ "\${lines[1]}" == files ]]; then
    _files
  else
    compadd -- "\${lines[@]:1}"
  fi
}
compdef _drover drover
`;
    case 'fish':
      return `# drover completion for fish: put it in ~/.config/fish/completions/drover.fish
function __drover_complete
  set -l words (commandline -opc) (commandline -ct)
  set -l out (drover __complete -- $words[2..-1] 2>/dev/null)
  if test "$out[1]" = files
    __fish_complete_path (commandline -ct)
  else
    printf '%s\\n' $out[2..-1]
  end
end
complete -c drover -f -a '(__drover_complete)'
`;
  }
}
