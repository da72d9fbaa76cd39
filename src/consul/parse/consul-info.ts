import { parseGoDuration } from './go-duration.js';
import { ConsulOutputError } from '../api/output-error.js';

export type InfoSections = ReadonlyMap<string, ReadonlyMap<string, string>>;
export type RaftState = 'Leader' | 'Follower' | 'Candidate' | 'Shutdown';

const SOURCE = 'consul info';

/**
 * What `consul info` (or `/v1/agent/self` → `Stats`) says about an agent, by section and key,
 * with typed accessors for what drover gates on. A key that is absent reads as undefined; a key
 * that is present but not what Consul prints (e.g. a non-numeric index) is an error, because a
 * health gate must never treat garbage as "caught up".
 */
export class ConsulInfo {
  constructor(
    readonly sections: InfoSections,
    readonly source: string = SOURCE,
  ) {}

  /** From the `Stats` object of `/v1/agent/self`: the same sections, values as strings. */
  static fromStats(
    stats: Readonly<Record<string, Readonly<Record<string, string>>>>,
    source: string,
  ): ConsulInfo {
    const sections = new Map<string, Map<string, string>>();
    for (const [name, entries] of Object.entries(stats)) {
      sections.set(name, new Map(Object.entries(entries).map(([k, v]) => [k, cleanValue(String(v))])));
    }
    return new ConsulInfo(sections, source);
  }

  value(section: string, key: string): string | undefined {
    return this.sections.get(section)?.get(key);
  }

  /** Clients have no `raft:` section at all. */
  get hasRaft(): boolean {
    return this.sections.has('raft');
  }

  get isServer(): boolean {
    return this.bool('consul', 'server') ?? this.hasRaft;
  }

  /** `consul.leader`: whether this agent is the leader. */
  get isLeader(): boolean {
    return this.bool('consul', 'leader') ?? false;
  }

  /** `consul.leader_addr`; undefined when empty (no leader) or not printed (clients). */
  get leaderAddr(): string | undefined {
    const v = this.value('consul', 'leader_addr');
    return v ? v : undefined;
  }

  /** `consul.known_servers`, printed by clients. */
  get knownServers(): number | undefined {
    return this.int('consul', 'known_servers');
  }

  get raftState(): RaftState | undefined {
    const v = this.value('raft', 'state');
    if (v === undefined || v === '') return undefined;
    if (v === 'Leader' || v === 'Follower' || v === 'Candidate' || v === 'Shutdown') return v;
    throw new ConsulOutputError(this.source, `raft.state is "${v}", expected Leader, Follower or Candidate`);
  }

  get commitIndex(): number | undefined {
    return this.int('raft', 'commit_index');
  }

  get lastLogIndex(): number | undefined {
    return this.int('raft', 'last_log_index');
  }

  get appliedIndex(): number | undefined {
    return this.int('raft', 'applied_index');
  }

  get numPeers(): number | undefined {
    return this.int('raft', 'num_peers');
  }

  get term(): number | undefined {
    return this.int('raft', 'term');
  }

  /** `raft.last_contact` in milliseconds (`0` on the leader). */
  get lastContactMs(): number | undefined {
    const v = this.value('raft', 'last_contact');
    if (v === undefined || v === '' || v === 'never') return undefined;
    return parseGoDuration(v, `${this.source}: raft.last_contact`);
  }

  /**
   * The upgrade guide's "caught up" test: `commit_index == last_log_index`. Undefined on clients
   * or when either index is missing.
   */
  get caughtUp(): boolean | undefined {
    const c = this.commitIndex;
    const l = this.lastLogIndex;
    return c === undefined || l === undefined ? undefined : c === l;
  }

  get serfLan(): {
    members: number | undefined;
    failed: number | undefined;
    left: number | undefined;
    encrypted: boolean | undefined;
  } {
    return {
      members: this.int('serf_lan', 'members'),
      failed: this.int('serf_lan', 'failed'),
      left: this.int('serf_lan', 'left'),
      encrypted: this.bool('serf_lan', 'encrypted'),
    };
  }

  get version(): string | undefined {
    return this.value('build', 'version') || undefined;
  }

  int(section: string, key: string): number | undefined {
    const v = this.value(section, key);
    if (v === undefined || v === '') return undefined;
    if (!/^-?\d+$/.test(v))
      throw new ConsulOutputError(this.source, `${section}.${key} is "${v}", expected an integer`);
    return Number(v);
  }

  bool(section: string, key: string): boolean | undefined {
    const v = this.value(section, key);
    if (v === undefined || v === '') return undefined;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new ConsulOutputError(this.source, `${section}.${key} is "${v}", expected true or false`);
  }
}

/**
 * Parses `consul info`: `section:` lines and `key = value` lines, indented with tabs, spaces or
 * nothing. Values may be empty (`prerelease =`, `leader_addr =` without a leader) and older builds
 * leave a stray quote (`revision = '21f2d5a`). Lines that are neither (a doc's `...`) are skipped.
 */
export function parseConsulInfo(text: string, source: string = SOURCE): ConsulInfo {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq < 0) {
      const header = /^([A-Za-z0-9_.-]+):$/.exec(trimmed);
      if (header) {
        current = new Map();
        sections.set(header[1] as string, current);
      }
      continue;
    }
    const key = trimmed.slice(0, eq).trim();
    if (key === '' || /\s/.test(key)) continue;
    if (!current) {
      throw new ConsulOutputError(
        source,
        `"${trimmed}" appears before any section header; is this consul info output?`,
      );
    }
    current.set(key, cleanValue(trimmed.slice(eq + 1)));
  }
  if (sections.size === 0) {
    const first = text.trim().split('\n')[0] ?? '';
    throw new ConsulOutputError(
      source,
      first ? `no sections found; it printed: ${first.slice(0, 200)}` : 'printed nothing',
    );
  }
  return new ConsulInfo(sections, source);
}

/** Trims and drops quotes that wrap a value, or one stray quote Consul leaves at either end. */
function cleanValue(raw: string): string {
  let v = raw.trim();
  const wrapped = /^(['"])(.*)\1$/.exec(v);
  if (wrapped) return wrapped[2] as string;
  if (/^['"]/.test(v)) v = v.slice(1);
  if (/['"]$/.test(v)) v = v.slice(0, -1);
  return v;
}
