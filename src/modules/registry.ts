import { commandModule } from './command.js';
import { consulAclModule } from './consul-acl.js';
import { consulAgentStateModule } from './consul-agent-state.js';
import { consulAutopilotModule } from './consul-autopilot.js';
import { consulCliModule } from './consul-cli.js';
import { consulConfigCheckModule } from './consul-config-check.js';
import { consulGateModule } from './consul-gate.js';
import { consulGossipKeyModule } from './consul-gossip-key.js';
import { consulLeaderTransferModule } from './consul-leader-transfer.js';
import { consulMaintenanceModule } from './consul-maintenance.js';
import { consulHostPreflightModule } from './consul-host-preflight.js';
import { consulImageVersionModule } from './consul-image-version.js';
import { consulKeyringModule } from './consul-keyring.js';
import { consulMemberModule } from './consul-member.js';
import { consulPreflightModule } from './consul-preflight.js';
import { consulServicesModule } from './consul-services.js';
import { consulSnapshotModule } from './consul-snapshot.js';
import { consulSnapshotRestoreModule } from './consul-snapshot-restore.js';
import { consulTlsCertModule } from './consul-tls-cert.js';
import { consulVerifyModule } from './consul-verify.js';
import { copyModule } from './copy.js';
import { dockerContainerModule } from './docker-container.js';
import { dockerImageModule } from './docker-image.js';
import { mkdirModule } from './mkdir.js';
import type { AnyModule } from './module.js';
import { templateModule } from './template.js';
import { waitForModule } from './wait-for.js';

/** The modules every playbook can use, by the name written in YAML. */
export function builtinModules(): ReadonlyMap<string, AnyModule> {
  const modules: AnyModule[] = [
    mkdirModule,
    templateModule,
    copyModule,
    commandModule,
    dockerImageModule,
    dockerContainerModule,
    waitForModule,
    consulVerifyModule,
    consulPreflightModule,
    consulGateModule,
    consulGossipKeyModule,
    consulKeyringModule,
    consulMemberModule,
    consulHostPreflightModule,
    consulImageVersionModule,
    consulConfigCheckModule,
    consulServicesModule,
    consulAgentStateModule,
    consulTlsCertModule,
    consulAclModule,
    consulCliModule,
    consulLeaderTransferModule,
    consulAutopilotModule,
    consulMaintenanceModule,
    consulSnapshotModule,
    consulSnapshotRestoreModule,
  ];
  return new Map(modules.map((m) => [m.name, m]));
}
