// Go time.Duration parsing and printing, because Consul config and output use Go durations.
const UNITS = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Parses a Go duration string ("1s", "1m30s", "250ms") into milliseconds; throws on bad input. */
export function parseDuration(text) {
  if (typeof text !== 'string') throw new Error(`time: invalid duration ${JSON.stringify(String(text))}`);
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let sign = 1, pos = 0, total = 0, any = false;
  if (s[0] === '-' || s[0] === '+') { sign = s[0] === '-' ? -1 : 1; pos = 1; }
  re.lastIndex = pos;
  while (re.lastIndex < s.length) {
    const m = re.exec(s);
    if (!m) throw new Error(`time: invalid duration ${JSON.stringify(text)}`);
    total += Number(m[1]) * (UNITS[m[2]] ?? 0);
    any = true;
  }
  if (!any) throw new Error(`time: invalid duration ${JSON.stringify(text)}`);
  return sign * total;
}

/** Formats milliseconds like Go's Duration.String() ("53.901869ms", "3m5.77s", "0s"). */
export function formatDuration(ms) {
  if (!Number.isFinite(ms)) return '0s';
  const neg = ms < 0;
  let ns = Math.round(Math.abs(ms) * 1e6);
  if (ns === 0) return '0s';
  let out;
  if (ns < 1e3) out = `${ns}ns`;
  else if (ns < 1e6) out = `${trim(ns / 1e3)}µs`;
  else if (ns < 1e9) out = `${trim(ns / 1e6)}ms`;
  else {
    const h = Math.floor(ns / 3.6e12); ns -= h * 3.6e12;
    const m = Math.floor(ns / 6e10); ns -= m * 6e10;
    const sec = trim(ns / 1e9);
    out = (h ? `${h}h` : '') + (h || m ? `${m}m` : '') + `${sec}s`;
  }
  return (neg ? '-' : '') + out;
}

function trim(n) {
  return String(Number(n.toFixed(9)));
}
