// Consul-style (hclog) log lines: "2024-10-30T12:00:00.000Z [INFO]  agent: message: k=v".
const LEVELS = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
const TAGS = { trace: '[TRACE]', debug: '[DEBUG]', info: '[INFO] ', warn: '[WARN] ', error: '[ERROR]' };

function fmtValue(v) {
  const s = typeof v === 'string' ? v : Array.isArray(v) ? `[${v.join(' ')}]` : JSON.stringify(v);
  return /[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s;
}

export class Logger {
  constructor(level = 'info', out = process.stdout) {
    this.out = out;
    this.setLevel(level);
    this.lastByKey = new Map();
  }

  setLevel(level) {
    this.level = LEVELS[String(level).toLowerCase()] ?? LEVELS.info;
  }

  log(level, name, msg, fields = {}) {
    if ((LEVELS[level] ?? 2) < this.level) return;
    const kv = Object.entries(fields).map(([k, v]) => `${k}=${fmtValue(v)}`).join(' ');
    this.out.write(`${new Date().toISOString()} ${TAGS[level]} ${name}: ${msg}${kv ? `: ${kv}` : ''}\n`);
  }

  /** Logs at most once per `everyMs` for one key, so a misconfigured peer cannot flood the log. */
  limited(key, everyMs, level, name, msg, fields = {}) {
    const now = Date.now();
    const last = this.lastByKey.get(key) ?? 0;
    if (now - last < everyMs) return;
    this.lastByKey.set(key, now);
    this.log(level, name, msg, fields);
  }

  trace(n, m, f) { this.log('trace', n, m, f); }
  debug(n, m, f) { this.log('debug', n, m, f); }
  info(n, m, f) { this.log('info', n, m, f); }
  warn(n, m, f) { this.log('warn', n, m, f); }
  error(n, m, f) { this.log('error', n, m, f); }
}
