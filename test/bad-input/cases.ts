/**
 * The corpus of bad input: each case is an inventory (plus, for some, an environment,
 * a key file or a file outside the project) that `drover deploy` must refuse with exit 3 and a
 * located message before any connection. bad-input.test.ts runs every one against listening
 * sockets standing in for the hosts, and checks that none of them was connected to.
 */
import { relative } from 'node:path';

/** A gossip key of 20 bytes: valid base64, but a length Consul's keyring refuses. */
export const BAD_KEY = 'QmFkS2V5QmFkS2V5QmFkS2V5QmE=';
/** A valid key of 16 bytes (AES-128): Consul takes it, so drover must too. */
export const KEY_16 = 'MDEyMzQ1Njc4OWFiY2RlZg==';

export interface CaseContext {
  /** `address: A, ssh_port: P` of a host's stand-in socket. */
  at(host: string): string;
  /** The folder of the inventory. */
  dir: string;
  /** A folder outside both the project and the inventory's folder. */
  outside: string;
  /** The project the deploy playbook reads its templates from. */
  project: string;
}

export interface Case {
  name: string;
  inventory(c: CaseContext): string;
  /** Each must match a line of stderr. */
  expect: readonly RegExp[];
  /**
   * The first expected message sits exactly at the value of `key` (its first occurrence in the
   * inventory text): stderr must have `inventory.yaml:LINE:COL PATH: ...` there.
   */
  at?: { key: string; path: string };
  /** Text that must appear nowhere in the output (a secret). */
  absent?: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** Files beside the inventory: name -> [text, mode]. */
  files?: Readonly<Record<string, readonly [string, number]>>;
  /** Files in the outside folder. */
  outsideFiles?: Readonly<Record<string, string>>;
}

/** The standard 3 servers + 1 client, with extra `all.vars` lines and per-host vars. */
export function cluster(
  c: CaseContext,
  vars: readonly string[] = [],
  hostVars: Readonly<Record<string, string>> = {},
): string {
  const host = (name: string) =>
    `        ${name}: { ${c.at(name)}${hostVars[name] ? `, ${hostVars[name]}` : ''} }`;
  return [
    'all:',
    '  vars:',
    '    ssh_user: root',
    ...vars.map((v) => `    ${v}`),
    '  children:',
    '    servers:',
    '      hosts:',
    host('s1'),
    host('s2'),
    host('s3'),
    '    clients:',
    '      hosts:',
    host('c1'),
    '',
  ].join('\n');
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A case whose one bad var is in all.vars: the message is located at it. */
function allVar(name: string, line: string, message: string): Case {
  const key = line.slice(0, line.indexOf(':'));
  return {
    name,
    inventory: (c) => cluster(c, [line]),
    expect: [new RegExp(`all\\.vars\\.${key}: ${esc(message)}`)],
    at: { key, path: `all.vars.${key}` },
  };
}

export const CASES: readonly Case[] = [
  {
    name: 'bind_addr that is not an IP, on one server only',
    inventory: (c) => cluster(c, [], { s2: 'bind_addr: not-an-ip' }),
    expect: [
      /all\.children\.servers\.hosts\.s2\.bind_addr: must be an IP address or a go-sockaddr template such as \{\{ GetPrivateIP \}\} \(bind_addr in the Consul agent config\), for host s2$/m,
    ],
    at: { key: 'bind_addr', path: 'all.children.servers.hosts.s2.bind_addr' },
  },
  {
    name: 'bind_addr 999.1.1.1',
    inventory: (c) => cluster(c, [], { s3: 'bind_addr: 999.1.1.1' }),
    expect: [/all\.children\.servers\.hosts\.s3\.bind_addr: must be an IP address or a go-sockaddr template/],
    at: { key: 'bind_addr', path: 'all.children.servers.hosts.s3.bind_addr' },
  },
  allVar(
    'datacenter "My DC"',
    'consul_datacenter: My DC',
    'must be lower-case letters, digits, "_" and "-" (datacenter in the Consul agent config), for hosts s1, s2, s3 and 1 more',
  ),
  allVar('datacenter "DC1"', 'consul_datacenter: DC1', 'must be lower-case letters, digits, "_" and "-"'),
  {
    name: 'a gossip key of 20 bytes in the inventory (never shown)',
    inventory: (c) => cluster(c, [`consul_encrypt: "${BAD_KEY}"`]),
    expect: [
      /all\.vars\.consul_encrypt: must be a gossip key: the base64 of 16, 24 or 32 bytes \(`drover keygen` makes one\) \(encrypt in the Consul agent config\)/,
    ],
    at: { key: 'consul_encrypt', path: 'all.vars.consul_encrypt' },
    absent: [BAD_KEY],
  },
  {
    name: 'a bad gossip key in DROVER_GOSSIP_KEY (never shown)',
    inventory: (c) => cluster(c),
    env: { DROVER_GOSSIP_KEY: BAD_KEY },
    expect: [/environment variable DROVER_GOSSIP_KEY: is not a gossip key \(base64 of 16, 24 or 32 bytes/],
    absent: [BAD_KEY],
  },
  {
    name: 'a gossip key file that others can read (never shown)',
    inventory: (c) => cluster(c),
    files: { 'inventory.gossip.key': [`${KEY_16}\n`, 0o644] },
    expect: [/inventory\.gossip\.key: gossip key file is readable by others \(mode 644\); chmod 600 it/],
    absent: [KEY_16],
  },
  allVar(
    'consul_retry_interval: 30 seconds',
    'consul_retry_interval: 30 seconds',
    'must be a Go duration such as 30s, 1m30s or 500ms (not negative) (retry_interval in the Consul agent config)',
  ),
  allVar(
    'consul_log_level: verbose',
    'consul_log_level: verbose',
    'must be one of trace, debug, info, warn, err, error (in any case) (log_level in the Consul agent config)',
  ),
  allVar(
    'a garbage consul_client_addr',
    'consul_client_addr: garbage',
    'must be IP addresses or go-sockaddr templates, separated by spaces (client_addr in the Consul agent config)',
  ),
  {
    name: 'a node name with $(...)',
    inventory: (c) => cluster(c, [], { c1: 'consul_node_name: "$(reboot)"' }),
    expect: [
      /all\.children\.clients\.hosts\.c1\.consul_node_name: must be letters, digits, "-", "_" and "\.", starting with a letter or digit \(at most 128\) \(node_name in the Consul agent config\), for host c1/,
    ],
    at: { key: 'consul_node_name', path: 'all.children.clients.hosts.c1.consul_node_name' },
  },
  {
    name: 'consul_role pointing the template path outside the project',
    // The deploy playbook reads templates/consul/{{consul_role}}.json.hbs from the project.
    inventory: (c) =>
      cluster(c, [`consul_role: "${relative(`${c.project}/templates/consul`, `${c.outside}/evil`)}"`]),
    outsideFiles: { 'evil.json.hbs': '{ "datacenter": "dc1" }\n' },
    expect: [
      /all\.vars\.consul_role: \S+\/evil\.json\.hbs is outside the project \(\S+\) and the inventory's folder \(\S+\); drover reads templates and schemas only there \(src of task "agent config"\)/,
    ],
    at: { key: 'consul_role', path: 'all.vars.consul_role' },
  },
  allVar(
    'a templated serial of 150%',
    'consul_roll_serial: "150%"',
    'serial "150%": a percentage must be above 0% and at most 100% (the serial of play "Consul clients, in batches"), for host c1',
  ),
  allVar(
    'consul_raft_multiplier: 11',
    'consul_raft_multiplier: 11',
    'must be a whole number from 1 to 10 (performance.raft_multiplier in the Consul agent config)',
  ),
  allVar(
    'consul_raft_multiplier as a string',
    'consul_raft_multiplier: "5"',
    'must be a whole number from 1 to 10',
  ),
  allVar('a consul_uid that is not a number', 'consul_uid: consul', 'must be an integer'),
  allVar(
    'consul_config_extra with a key Consul does not know',
    'consul_config_extra: { telemetryy: { disable_hostname: true } }',
    'unknown key (telemetryy in the Consul agent config)',
  ),
  allVar(
    'consul_config_extra giving another value to a key drover renders',
    'consul_config_extra: { datacenter: other }',
    'consul_config_extra.datacenter: drover renders this key itself; set the var that renders it instead',
  ),
  allVar(
    'a gate timeout of a later play that is not a number',
    'consul_server_gate_timeout: soon',
    'must be a number (timeout of task "server is back"), for hosts s1, s2, s3',
  ),
  allVar(
    'an HTTP port out of range',
    'consul_http_port: 99999',
    'must be <= 65535 (port of task "HTTP API answers")',
  ),
  {
    name: 'three bad values at once: every one is listed',
    inventory: (c) =>
      cluster(c, ['consul_log_level: verbose', 'consul_retry_interval: 30 seconds'], {
        s1: 'bind_addr: 10.0.0.300',
      }),
    expect: [
      /all\.vars\.consul_log_level: must be one of/,
      /all\.vars\.consul_retry_interval: must be a Go duration/,
      /all\.children\.servers\.hosts\.s1\.bind_addr: must be an IP address/,
    ],
  },
  {
    name: 'a YAML alias bomb',
    inventory: () =>
      [
        'all:',
        '  vars:',
        '    a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
        ...'bcdefghij'
          .split('')
          .map((ch, i) => `    ${ch}: &${ch} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(', ')}]`),
        '',
      ].join('\n'),
    expect: [
      /inventory\.yaml:4:\d+: its YAML aliases expand to more than 100 copies of anchored values; drover refuses such files/,
    ],
  },
  {
    name: 'YAML nested 150 levels deep',
    inventory: (c) =>
      `all:\n  vars:\n    deep: ${'['.repeat(150)}${']'.repeat(150)}\n  hosts:\n    s1: { ${c.at('s1')} }\n`,
    expect: [/inventory\.yaml:3:\d+: nested more than 100 levels deep; drover refuses deeper YAML/],
  },
  {
    name: 'an inventory over the size limit',
    inventory: () => `all:\n  vars:\n    pad: "${'x'.repeat(17 * 1024 * 1024)}"\n`,
    expect: [/inventory\.yaml: the file is 17\.0 MB; drover reads YAML files of at most 16\.0 MB/],
  },
  // Mistakes in the file's shape, refused before this issue: still refused, still before connecting.
  {
    name: 'tab indentation',
    inventory: () => 'all:\n\tchildren: {}\n',
    expect: [/inventory\.yaml:2:1: invalid YAML: Tabs are not allowed as indentation/],
  },
  {
    name: 'a duplicate key',
    inventory: (c) => cluster(c).replace('    ssh_user: root\n', '    ssh_user: root\n    ssh_user: admin\n'),
    expect: [/inventory\.yaml:4:5: invalid YAML: Map keys must be unique/],
  },
  {
    name: 'a host name with a shell metacharacter',
    inventory: (c) => cluster(c).replace('        c1:', '        "c1;reboot":'),
    expect: [/all\.children\.clients\.hosts\.c1;reboot: "c1;reboot" is not a valid host name/],
  },
  {
    name: 'no servers',
    inventory: (c) => `all:\n  children:\n    clients:\n      hosts:\n        c1: { ${c.at('c1')} }\n`,
    expect: [/inventory\.yaml: no "servers" group: a Consul cluster needs servers/],
  },
];

/** Line:col of the value of `key:` at its first occurrence, 1-based. */
export function valuePosition(text: string, key: string): string {
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    const k = line.search(new RegExp(`\\b${esc(key)}: `));
    if (k >= 0) return `${i + 1}:${k + key.length + 3}`;
  }
  throw new Error(`no ${key} in the inventory`);
}
