import { ExitCode, TaskFailedError, UsageError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import {
  caRotationFiles,
  forgetRetiredCa,
  promoteNextCa,
  retirePreviousCa,
  startCaRotation,
  type CaRotationStage,
} from './tls-ca-rotation.js';
import { CA_ROTATION_STEPS, caFilesBeside, resolveTlsCa, TLS_CA_KEY_ENV } from './tls-material-source.js';

export interface CaRotationRun {
  readonly inventory: Inventory;
  readonly ask: (question: string) => Promise<boolean>;
  readonly warn: (line: string) => void;
  /** One roll of the rotate-tls playbook over every agent, with the trust the files now give. */
  readonly runStep: (stage: CaRotationStage) => Promise<number>;
}

/**
 * `drover rotate-tls --ca`: the three steps of tls-ca-rotation.ts, each a roll, each begun only
 * after the one before succeeded on every agent. Started again after any stop, it resumes at the
 * step the files beside the CA say. Returns the exit code of the step that failed, or ok.
 */
export async function rotateCa(r: CaRotationRun): Promise<number> {
  const beside = caFilesBeside(r.inventory.file);
  const resolved = await resolveTlsCa(r.inventory, { create: false });
  if (resolved.source !== 'file' || resolved.certFile !== beside.cert) {
    throw new UsageError(
      `rotate-tls --ca replaces the CA drover keeps beside the inventory (${beside.cert}); ` +
        `this inventory's CA comes from consul_tls_ca_crt, consul_tls_ca_key or ${TLS_CA_KEY_ENV}, and ` +
        'replacing it is yours: see "Replacing the CA" in docs/security.md',
    );
  }
  const files = caRotationFiles(beside);
  let stage = resolved.rotation;
  if (stage) r.warn(`resuming the CA rotation at ${CA_ROTATION_STEPS[stage]}`);
  else {
    const question =
      `Replace the CA of ${r.inventory.file}? Every agent trusts the old and the new one, the servers ` +
      'get certificates from the new one, then the old one is dropped (three rolls of reloads)';
    if (!(await r.ask(question))) throw new TaskFailedError('not rotated: not confirmed');
    await startCaRotation(files, {});
    stage = 'trust';
  }
  for (;;) {
    r.warn(`CA rotation, ${CA_ROTATION_STEPS[stage]}`);
    const code = await r.runStep(stage);
    if (code !== ExitCode.ok) {
      r.warn(
        `the CA rotation stopped at ${CA_ROTATION_STEPS[stage]}: run drover rotate-tls --ca again to resume`,
      );
      return code;
    }
    if (stage === 'drop') break;
    if (stage === 'trust') await promoteNextCa(files, beside);
    else await retirePreviousCa(files);
    stage = stage === 'trust' ? 'issue' : 'drop';
  }
  await forgetRetiredCa(files);
  r.warn(`CA rotation done: every agent trusts only the new CA in ${beside.cert}`);
  return ExitCode.ok;
}
