// Node maintenance (agent/agent.go EnableNodeMaintenance / DisableNodeMaintenance): a critical
// `_node_maintenance` check on the node, which takes every service of the node out of
// `?passing` and DNS. Consul adds it with persist = true, so it is kept in data_dir/checks
// (with the token of the request that set it, 0600) and comes back after a restart until it is
// disabled. Enabling twice, or disabling when not in maintenance, does nothing.
import fs from 'node:fs';
import path from 'node:path';

export const NODE_MAINT_ID = '_node_maintenance';
export const NODE_MAINT_NAME = 'Node Maintenance Mode';
const DEFAULT_REASON = 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.';

export class NodeMaintenance {
  constructor(dataDir) {
    this.file = path.join(dataDir, 'checks', `${NODE_MAINT_ID}.json`);
    try {
      this.state = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch {
      this.state = null;
    }
  }

  /** True when it was not in maintenance before. */
  enable(reason, token) {
    if (this.state) return false;
    this.state = { reason: reason || DEFAULT_REASON, token: token ?? '' };
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    return true;
  }

  /** True when it was in maintenance. */
  disable() {
    if (!this.state) return false;
    this.state = null;
    fs.rmSync(this.file, { force: true });
    return true;
  }

  /** The check as anti-entropy syncs it (no service), or null. */
  check() {
    if (!this.state) return null;
    return {
      checkId: NODE_MAINT_ID, name: NODE_MAINT_NAME, status: 'critical', notes: this.state.reason, output: '',
      serviceId: '', type: 'maintenance', interval: '', timeout: '',
    };
  }

  /** The token of the request that set it, which the check syncs with ('' : the agent's). */
  token() {
    return this.state?.token ?? '';
  }
}
