import { ConsulOutputError } from '../api/output-error.js';

/** Milliseconds per Go time unit (time.ParseDuration accepts both micro signs). */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu, which Go also accepts
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a Go duration as Consul prints it (`53.901869ms`, `3m5.77s`, `0`, `-1.5h`) into
 * milliseconds. `consul info` prints `last_contact = 0` on the leader and autopilot prints
 * `"LastContact": "0s"`, so both zero spellings are accepted.
 */
export function parseGoDuration(text: string, source = 'duration'): number {
  const raw = text.trim();
  let rest = raw;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new ConsulOutputError(source, `"${raw}" is not a Go duration`);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < rest.length) {
    const start = PART.lastIndex;
    const m = PART.exec(rest);
    if (!m || m.index !== start) {
      throw new ConsulOutputError(source, `"${raw}" is not a Go duration (expected e.g. 53.9ms, 3m5.77s, 0)`);
    }
    total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? Number.NaN);
  }
  return sign * total;
}
