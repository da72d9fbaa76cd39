import {
  readFile as readFileCmd,
  setAttributes,
  stat,
  writeFileAtomic,
  type Ownership,
} from '../../src/commands/fs.js';
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
 * A host's files as state: answers the exact read/stat/write commands src/commands/fs.ts builds,
 * and applies writes, so a module can be planned again against what it left behind.
 */
export class FakeFiles {
  readonly files = new Map<string, FakeFile>();
  readonly dirs = new Map<string, Omit<FakeFile, 'content'>>();
  constructor(readonly transport: RecordingTransport) {}

  /** Answers reads and the given write of `path`; `ownership` must match what the module asks. */
  serve(path: string, ownership: Ownership = {}): this {
    this.transport.onExec(shown(readFileCmd(path)), () => {
      const f = this.files.get(path);
      if (!f) return { stdout: 'absent\n' };
      return {
        stdout: `present ${f.mode} ${uid(f.owner)} ${f.owner} ${uid(f.group)} ${f.group}\n${f.content}`,
      };
    });
    this.transport.onExec(shown(writeFileAtomic(path, ownership)), (_cmd, stdin) => {
      const old = this.files.get(path);
      this.files.set(path, {
        content: stdin ?? '',
        mode: (ownership.mode ?? old?.mode ?? '644').replace(/^0+(?=\d)/, ''),
        owner: ownership.owner ?? old?.owner ?? 'root',
        group: ownership.group ?? old?.group ?? 'root',
      });
      if (old) this.files.set(`${path}.bak`, old);
      return {};
    });
    const attrs = setAttributes(path, ownership);
    if (attrs) {
      this.transport.onExec(shown(attrs), () => {
        const f = this.files.get(path) ?? this.dirs.get(path);
        if (!f) return { code: 1, stderr: `chmod: ${path}: No such file or directory` };
        if (ownership.mode) f.mode = ownership.mode.replace(/^0+(?=\d)/, '');
        if (ownership.owner) f.owner = ownership.owner;
        if (ownership.group) f.group = ownership.group;
        return {};
      });
    }
    return this;
  }

  /** Answers stat of a directory path. */
  serveStat(path: string): this {
    this.transport.onExec(shown(stat(path)), () => {
      const d = this.dirs.get(path);
      const f = this.files.get(path);
      if (d)
        return {
          stdout: `present ${d.mode} ${uid(d.owner)} ${d.owner} ${uid(d.group)} ${d.group} directory\n`,
        };
      if (f)
        return {
          stdout: `present ${f.mode} ${uid(f.owner)} ${f.owner} ${uid(f.group)} ${f.group} regular file\n`,
        };
      return { stdout: 'absent\n' };
    });
    return this;
  }
}

const uid = (name: string) => (name === 'root' ? '0' : /^\d+$/.test(name) ? name : '100');
