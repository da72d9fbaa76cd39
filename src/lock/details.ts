import { randomBytes } from 'node:crypto';
import { redactText } from '../shell/secret.js';
import { describeCi, describeWho, type CiJob, type RunIdentity } from './identity.js';

/** The JSON the `details` file inside the lock directory holds. */
export interface LockDetails {
  /** Random; only the run that holds it can release the lock without --force. */
  token: string;
  user: string;
  host: string;
  /** The command line, secrets redacted. */
  command: string;
  drover_version: string;
  pid: number;
  acquired_at: string;
  ci?: CiJob;
  /** Why it was taken by hand (`drover lock acquire -m`), when it was. */
  message?: string;
}

export interface NewLockDetails {
  command: string;
  droverVersion: string;
  identity: RunIdentity;
  message?: string;
  /** Clear-text secret values to scrub from the command line and message. */
  secrets?: Iterable<string>;
  now?: () => Date;
}

export function createLockDetails(o: NewLockDetails): LockDetails {
  const secrets = [...(o.secrets ?? [])];
  return {
    token: randomBytes(16).toString('hex'),
    user: o.identity.user,
    host: o.identity.host,
    command: redactText(o.command, secrets),
    drover_version: o.droverVersion,
    pid: process.pid,
    acquired_at: (o.now ?? (() => new Date()))().toISOString(),
    ...(o.identity.ci ? { ci: o.identity.ci } : {}),
    ...(o.message !== undefined ? { message: redactText(o.message, secrets) } : {}),
  };
}

/** Reads what a details file says; tolerant, since a person or an older drover may have written it. */
export function parseLockDetails(text: string): Partial<LockDetails> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const out: Partial<LockDetails> = {};
  for (const k of ['token', 'user', 'host', 'command', 'drover_version', 'acquired_at', 'message'] as const) {
    const s = str(k);
    if (s !== undefined) out[k] = s;
  }
  if (typeof v['pid'] === 'number') out.pid = v['pid'];
  const ci = v['ci'];
  if (typeof ci === 'object' && ci !== null) {
    const c = ci as Record<string, unknown>;
    if (typeof c['provider'] === 'string' && typeof c['id'] === 'string') {
      out.ci = {
        provider: c['provider'],
        id: c['id'],
        ...(typeof c['url'] === 'string' ? { url: c['url'] } : {}),
        ...(typeof c['actor'] === 'string' ? { actor: c['actor'] } : {}),
      };
    }
  }
  return out;
}

/** `45s`, `3m12s`, `2h05m`, `3d4h`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** `held by alice@ci-7 for 3m12s: drover deploy (CI job 991 by alice)`. */
export function describeHolder(
  details: Partial<LockDetails> | undefined,
  ageSeconds: number | undefined,
): string {
  const age = ageSeconds !== undefined ? ` for ${formatAge(ageSeconds)}` : '';
  if (!details || details.user === undefined || details.host === undefined) {
    // mkdir and the details write are two steps: a lock this young may simply be mid-take.
    return `held by an unknown holder${age} (no readable details file: just being taken, or made by hand)`;
  }
  const extras = [
    describeCi(details.ci),
    details.message !== undefined ? `"${details.message}"` : undefined,
  ].filter((x): x is string => x !== undefined);
  const what = details.command ?? 'unknown command';
  return `held by ${describeWho({ user: details.user, host: details.host })}${age}: ${what}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}
