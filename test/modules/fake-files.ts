import {
  ensureDir,
  readFile as readFileCmd,
  setAttributes,
  stat,
  writeFileAtomic,
  writeFileIfChanged,
  type Ownership,
} from '../../src/remote/fs.js';
import { render, type Cmd } from '../../src/shell/cmd.js';
import type { RecordingTransport } from '../../src/ssh/recording-transport.js';

interface FakeFile {
  content: string;
  mode: string;
  owner: string;
  group: string;
}

const shown = (c: Cmd) => render(c, { redact: true });

/**
 * A host's files as state: answers the exact read/stat/write commands src/remote/fs.ts builds,
 * and applies writes, so a module can be planned again against what it left behind.
 */
export class FakeFiles {
  readonly files = new Map<string, FakeFile>();
  readonly dirs = new Map<string, Omit<FakeFile, 'content'>>();
  constructor(readonly transport: RecordingTransport) {}

  /**
   * Answers reads and the given writes of `path` (the two-step write and the one-step
   * writeFileIfChanged); `ownership` must match what the module asks.
   */
  serve(path: string, ownership: Ownership = {}): this {
    this.transport.onExec(shown(readFileCmd(path)), () => ({ stdout: this.#readAnswer(path) }));
    this.transport.onExec(shown(writeFileAtomic(path, ownership)), (_cmd, stdin) => {
      this.#write(path, stdin ?? '', ownership);
      return {};
    });
    // The one-step write: the command names the wanted bytes by their sha256 and a random temp
    // file, so it is matched by a pattern and the reply built from what is on the fake host.
    const oneStep = shown(writeFileIfChanged(path, '0'.repeat(64), ownership))
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/ [0-9a-f]{64} [0-9a-f]{12}( \S+)$/, ' [0-9a-f]{64} [0-9a-f]{12}$1');
    this.transport.onExec(new RegExp(`^${oneStep}$`), (_cmd, stdin) => {
      const f = this.files.get(path);
      if (!f) {
        const answer = this.dirs.has(path) ? 'notfile\n' : 'absent\n';
        if (answer === 'absent\n') this.#write(path, stdin ?? '', ownership);
        return { stdout: answer };
      }
      const header = `present ${f.mode} ${uid(f.owner)} ${f.owner} ${uid(f.group)} ${f.group}\n`;
      if (f.content === stdin) {
        this.#fixAttributes(f, ownership);
        return { stdout: `${header}same\n` };
      }
      const old = f.content;
      this.#write(path, stdin ?? '', ownership);
      return { stdout: `${header}differs\n${old}` };
    });
    const attrs = setAttributes(path, ownership);
    if (attrs) {
      this.transport.onExec(shown(attrs), () => {
        const f = this.files.get(path) ?? this.dirs.get(path);
        if (!f) return { code: 1, stderr: `chmod: ${path}: No such file or directory` };
        this.#fixAttributes(f, ownership);
        return {};
      });
    }
    return this;
  }

  /** Answers stat of `path` and ensureDir of it with the given ownership (what mkdir asks). */
  serveDir(path: string, ownership: Ownership = {}): this {
    this.serveStat(path);
    this.transport.onExec(shown(ensureDir(path, ownership)), () => {
      const before = this.#statAnswer(path);
      if (this.files.has(path)) return { stdout: before };
      const d = this.dirs.get(path) ?? { mode: '755', owner: 'root', group: 'root' };
      this.#fixAttributes(d, ownership);
      this.dirs.set(path, d);
      return { stdout: before };
    });
    return this;
  }

  #readAnswer(path: string): string {
    const f = this.files.get(path);
    if (!f) return this.dirs.has(path) ? 'notfile\n' : 'absent\n';
    return `present ${f.mode} ${uid(f.owner)} ${f.owner} ${uid(f.group)} ${f.group}\n${f.content}`;
  }

  #write(path: string, content: string, ownership: Ownership): void {
    const old = this.files.get(path);
    this.files.set(path, {
      content,
      mode: (ownership.mode ?? old?.mode ?? '644').replace(/^0+(?=\d)/, ''),
      owner: ownership.owner ?? old?.owner ?? 'root',
      group: ownership.group ?? old?.group ?? 'root',
    });
    if (old) this.files.set(`${path}.bak`, old);
  }

  #fixAttributes(f: Omit<FakeFile, 'content'>, ownership: Ownership): void {
    if (ownership.mode) f.mode = ownership.mode.replace(/^0+(?=\d)/, '');
    if (ownership.owner) f.owner = ownership.owner;
    if (ownership.group) f.group = ownership.group;
  }

  /** Answers stat of a directory path. */
  serveStat(path: string): this {
    this.transport.onExec(shown(stat(path)), () => ({ stdout: this.#statAnswer(path) }));
    return this;
  }

  #statAnswer(path: string): string {
    const d = this.dirs.get(path);
    const f = this.files.get(path);
    if (d) return `present ${d.mode} ${uid(d.owner)} ${d.owner} ${uid(d.group)} ${d.group} directory\n`;
    if (f) return `present ${f.mode} ${uid(f.owner)} ${f.owner} ${uid(f.group)} ${f.group} regular file\n`;
    return 'absent\n';
  }
}

const uid = (name: string) => (name === 'root' ? '0' : /^\d+$/.test(name) ? name : '100');
