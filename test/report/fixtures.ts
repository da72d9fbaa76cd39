import type { Reporter, TaskOutcome } from '../../src/runner/reporter.js';

/** A clock that moves forward 250 ms on every reading, from 2025-05-01T12:00:00Z. */
export function steppingClock(stepMs = 250, start = Date.parse('2025-05-01T12:00:00.000Z')): () => Date {
  let t = start - stepMs;
  return () => new Date((t += stepMs));
}

type Result = Pick<TaskOutcome, 'status'> & Partial<Pick<TaskOutcome, 'message' | 'diff' | 'ignoredError'>>;

/**
 * Drives a reporter the way the runner does: play, batch, then per task a start and an end per
 * host. `results` maps host -> result; hosts not listed get no event for that task.
 */
export function playOut(
  r: Reporter,
  play: string,
  hosts: string[],
  tasks: { task: string; handler?: boolean; results: Record<string, Result> }[],
): void {
  r.playStart(play, hosts);
  r.batchStart?.(play, hosts, 1, 1);
  for (const t of tasks) {
    const targets = Object.keys(t.results);
    r.taskBegin?.({ play, task: t.task, hosts: targets, ...(t.handler ? { handler: true } : {}) });
    for (const host of targets) {
      const event = { play, task: t.task, host, ...(t.handler ? { handler: true } : {}) };
      r.taskStart(event);
      r.taskEnd({ ...event, ...(t.results[host] as Result), durationMs: 120 });
    }
  }
}

/** A Consul deploy in which s1 changes, s2 fails with a command error, s3 is unreachable. */
export function consulDeploy(r: Reporter): void {
  playOut(
    r,
    'consul servers',
    ['s1', 's2', 's3'],
    [
      {
        task: 'write config',
        results: {
          s1: {
            status: 'changed',
            message: 'write /opt/consul/config/consul.json',
            diff: '+  "encrypt": "<redacted>"\n',
          },
          s2: { status: 'ok' },
          s3: { status: 'unreachable', message: 's3: unreachable: connect ECONNREFUSED 10.0.0.3:22' },
        },
      },
      {
        task: 'pull image',
        results: {
          s1: { status: 'ok' },
          s2: {
            status: 'failed',
            message:
              's2: command failed (exit 125): docker pull hashicorp/consul:1.99\nError response from daemon: manifest unknown <&>',
          },
        },
      },
      {
        task: 'optional probe',
        results: { s1: { status: 'failed', message: 'probe said no', ignoredError: true } },
      },
      { task: 'enable acl', results: { s1: { status: 'skipped', message: 'when: acl_enabled is false' } } },
      {
        task: 'restart consul',
        handler: true,
        results: { s1: { status: 'changed', message: 'restarted consul' } },
      },
    ],
  );
}
