/**
 * Host pre-flight for a Consul agent in Docker (pure): what one probe script printed on a host,
 * judged before deploy touches anything. The probe prints `key=value` lines (see
 * src/remote/host-probe.ts); this file parses and judges them, so the rules are unit-tested.
 */
export interface HostProbe {
  dockerPresent: boolean;
  daemonVersion?: string;
  daemonError?: string;
  image: 'local' | 'remote' | 'unreachable' | 'unchecked';
  imageError?: string;
  /** `running`, `exited`, ... or `absent`. */
  container: string;
  /** CIDR addresses on the host's interfaces, e.g. `10.213.0.22/24`. */
  addresses: string[];
  /** Listening sockets: protocol and local `addr:port`. */
  listeners: { proto: 'tcp' | 'udp'; address: string; port: number }[];
  fsType?: string;
  mountPoint?: string;
  availableKb?: number;
  /** The host's clock, ms since the epoch. */
  hostTimeMs?: number;
}

export function parseHostProbe(stdout: string): HostProbe {
  const probe: HostProbe = {
    dockerPresent: false,
    image: 'unchecked',
    container: 'absent',
    addresses: [],
    listeners: [],
  };
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    switch (key) {
      case 'docker':
        probe.dockerPresent = value === 'present';
        break;
      case 'daemon':
        probe.daemonVersion = value;
        break;
      case 'daemon_error':
        probe.daemonError = value;
        break;
      case 'image':
        if (value === 'local' || value === 'remote') probe.image = value;
        break;
      case 'image_error':
        probe.image = 'unreachable';
        probe.imageError = value;
        break;
      case 'container':
        probe.container = value || 'absent';
        break;
      case 'addr':
        if (value) probe.addresses.push(value);
        break;
      case 'listen': {
        const m = /^(tcp|udp)\s+(.+):(\d+)$/.exec(value);
        if (m)
          probe.listeners.push({
            proto: m[1] as 'tcp' | 'udp',
            address: stripAddress(m[2] ?? ''),
            port: Number(m[3]),
          });
        break;
      }
      case 'fs':
        probe.fsType = value;
        break;
      case 'mount':
        probe.mountPoint = value;
        break;
      case 'avail_kb':
        if (/^\d+$/.test(value)) probe.availableKb = Number(value);
        break;
      case 'now_ns':
        if (/^\d+$/.test(value)) probe.hostTimeMs = Number(BigInt(value) / 1_000_000n);
        break;
    }
  }
  return probe;
}

/** `[::]` -> `::`, `127.0.0.53%lo` -> `127.0.0.53`, `*` -> `0.0.0.0`. */
function stripAddress(a: string): string {
  const s = a.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  return s === '*' ? '0.0.0.0' : s;
}

export interface PreflightWanted {
  bindAddr: string;
  /** Addresses the HTTP and DNS listeners use (client_addr), besides bind_addr. */
  clientAddrs: string[];
  ports: readonly number[];
  minFreeMb: number;
  maxClockSkewSeconds: number;
  /**
   * Control machine's clock just before the host read its clock, ms; with controlEndMs, just
   * after. The host's reading happened somewhere in that window, so only a distance outside it
   * is skew (a slow or busy SSH round trip is not).
   */
  controlTimeMs?: number;
  controlEndMs?: number;
}

export interface PreflightCheck {
  name: string;
  ok: boolean;
  /** A warning passes but is reported. */
  warning?: boolean;
  detail: string;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);
const VOLATILE_FS = new Set(['tmpfs', 'ramfs']);
const LAYERED_FS = new Set(['overlayfs', 'overlay', 'aufs']);

export function judgeHostProbe(p: HostProbe, w: PreflightWanted): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  const add = (name: string, ok: boolean, detail: string, warning = false) =>
    checks.push({ name, ok, detail, ...(warning ? { warning } : {}) });

  if (!p.dockerPresent) add('docker', false, 'docker is not installed (no docker command on PATH)');
  else if (!p.daemonVersion)
    add('docker', false, `the docker daemon does not answer: ${p.daemonError ?? 'no version'}`);
  else add('docker', true, `daemon ${p.daemonVersion}`);

  if (p.image === 'unreachable')
    add('image', false, `image cannot be found locally or in its registry: ${p.imageError ?? ''}`.trim());
  else if (p.image !== 'unchecked')
    add('image', true, p.image === 'local' ? 'present on the host' : 'found in the registry');

  const ips = p.addresses.map((a) => a.replace(/\/\d+$/, ''));
  if (ips.includes(w.bindAddr)) add('bind_addr', true, `${w.bindAddr} is on an interface`);
  else {
    add(
      'bind_addr',
      false,
      `bind_addr ${w.bindAddr} is not on any interface of this host (it has ${ips.join(', ') || 'none'}); ` +
        'Consul would fail to bind. Set bind_addr to one of them',
    );
  }

  const ours = p.container === 'running';
  const relevant = new Set([w.bindAddr, ...w.clientAddrs]);
  const busy = p.listeners.filter(
    (l) => w.ports.includes(l.port) && (WILDCARDS.has(l.address) || relevant.has(l.address)),
  );
  const uniq = [...new Set(busy.map((l) => `${l.port}/${l.proto} on ${l.address}`))];
  if (uniq.length === 0) add('ports', true, `${w.ports.join(', ')} free`);
  else if (ours) add('ports', true, `${w.ports.join(', ')} held by the running Consul container`);
  else add('ports', false, `in use by another program: ${uniq.join(', ')}`);

  if (!p.fsType) add('data_dir', false, 'could not tell the data dir file system');
  else if (VOLATILE_FS.has(p.fsType))
    add(
      'data_dir',
      false,
      `data dir is on ${p.fsType} (${p.mountPoint ?? '?'}): lost on reboot, with the node's identity and Raft state`,
    );
  else if (LAYERED_FS.has(p.fsType))
    add('data_dir', true, `data dir is on ${p.fsType}: is this host itself a container?`, true);
  else add('data_dir', true, `on ${p.fsType} (${p.mountPoint ?? '?'})`);

  if (p.availableKb === undefined) add('disk', false, 'could not read the free space of the data dir');
  else {
    const mb = Math.floor(p.availableKb / 1024);
    add(
      'disk',
      mb >= w.minFreeMb,
      mb >= w.minFreeMb ? `${mb} MiB free` : `only ${mb} MiB free, want ${w.minFreeMb} MiB`,
    );
  }

  if (p.hostTimeMs !== undefined && w.controlTimeMs !== undefined) {
    const end = Math.max(w.controlEndMs ?? w.controlTimeMs, w.controlTimeMs);
    const skew =
      p.hostTimeMs < w.controlTimeMs
        ? (p.hostTimeMs - w.controlTimeMs) / 1000
        : p.hostTimeMs > end
          ? (p.hostTimeMs - end) / 1000
          : 0;
    const ok = Math.abs(skew) <= w.maxClockSkewSeconds;
    const window =
      end > w.controlTimeMs ? ` (read within ${((end - w.controlTimeMs) / 1000).toFixed(2)}s)` : '';
    add(
      'clock',
      ok,
      `${skew >= 0 ? '+' : ''}${skew.toFixed(2)}s against this machine${window}${ok ? '' : ` (more than ${w.maxClockSkewSeconds}s)`}`,
    );
  } else add('clock', false, 'could not read the host clock');
  return checks;
}
