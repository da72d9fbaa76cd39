import { basename, dirname, join, resolve } from 'node:path';
import { PLAYBOOKS_DIR, PROJECT_ROOT } from '../paths.js';

/**
 * A playbook to run, and whether it is one of drover's Consul playbooks: those get the Consul
 * inventory checks, the `clients` group even when empty, and the gossip key.
 */
export interface PlaybookSpec {
  file: string;
  consul: boolean;
}

const consulPlaybook = (name: string): PlaybookSpec => ({ file: join(PLAYBOOKS_DIR, name), consul: true });

/** The playbooks drover ships, by the command (or use) they serve. */
export const PLAYBOOKS = {
  deploy: consulPlaybook('consul-deploy.yaml'),
  preflight: consulPlaybook('consul-preflight.yaml'),
  resetNode: consulPlaybook('consul-reset-node.yaml'),
  restart: consulPlaybook('consul-rolling-restart.yaml'),
  rotateGossipKey: consulPlaybook('consul-rotate-gossip-key.yaml'),
  rotateTls: consulPlaybook('consul-rotate-tls.yaml'),
  services: consulPlaybook('consul-services.yaml'),
  snapshotSave: consulPlaybook('consul-snapshot-save.yaml'),
  snapshotRestore: consulPlaybook('consul-snapshot-restore.yaml'),
  upgrade: consulPlaybook('consul-upgrade.yaml'),
} as const satisfies Record<string, PlaybookSpec>;

/** A playbook given by path (`drover run FILE`, `deploy -p FILE`): Consul's when it is one of PLAYBOOKS. */
export function playbookAt(file: string): PlaybookSpec {
  const path = resolve(file);
  const consul = Object.values(PLAYBOOKS).some((p) => p.file === path);
  return { file, consul };
}

/**
 * Relative `src:` paths in a playbook resolve against the project around it: the parent of a
 * `playbooks/` folder (where templates/ and schemas/ sit), else the playbook's own folder.
 */
export function playbookBaseDir(playbookFile: string): string {
  const dir = dirname(resolve(playbookFile));
  if (dir === PLAYBOOKS_DIR) return PROJECT_ROOT;
  return basename(dir) === 'playbooks' ? dirname(dir) : dir;
}
