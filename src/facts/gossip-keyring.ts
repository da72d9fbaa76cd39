import { join } from 'node:path/posix';
import { parseKeyringFile } from '../consul/agent/gossip-key.js';
import { Secret } from '../shell/secret.js';
import { FactParseError, type Fact } from './fact.js';
import { fileState } from './file-state.js';

/**
 * An agent's gossip keyring as Consul keeps it after its first start with `encrypt`:
 * `data_dir/serf/local.keyring`, a JSON list of keys with the primary first. The keys come back
 * as Secrets, so nothing that handles the fact can print them. `undefined`: no keyring file.
 */
export function gossipKeyring(dataDir: string): Fact<Secret[] | undefined> {
  const path = join(dataDir, 'serf', 'local.keyring');
  const file = fileState(path);
  return {
    command: file.command,
    parse(result) {
      const state = file.parse(result);
      if (!state.exists) return undefined;
      const keys = parseKeyringFile(state.content);
      // Never quote the content: it is the keys.
      if (!keys) throw new FactParseError(`${path} is not a JSON list of keys`);
      return keys.map((k) => new Secret(k));
    },
  };
}

/** `data_dir/node-id` exists once an agent has started with that data dir. */
export const nodeIdPath = (dataDir: string): string => join(dataDir, 'node-id');
