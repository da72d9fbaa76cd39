import { TaskFailedError } from '../../errors.js';

/**
 * Consul answered, but not in a shape Consul documents: an HTTP status we did not expect, a
 * JSON body missing a field, a `consul members` table without its header. `source` names the
 * endpoint or command (`GET /v1/agent/self`, `consul info`) so the message says where to look.
 */
export class ConsulOutputError extends TaskFailedError {
  constructor(
    readonly source: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${detail}`, options);
  }
}
