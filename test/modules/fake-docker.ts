import type { RecordingTransport } from '../../src/ssh/recording-transport.js';

interface FakeContainer {
  id: string;
  image: string;
  imageId: string;
  running: boolean;
  status: string;
  labels: Record<string, string>;
}

/**
 * A docker daemon as state, answering the commands src/remote/docker.ts builds for one
 * container name. `docker run`/`create` are parsed back from the recorded (redacted) command,
 * so the labels a later inspect returns are the ones the module really asked for.
 */
export class FakeDocker {
  container: FakeContainer | undefined;
  readonly images = new Map<string, string>();
  #next = 1;

  constructor(
    readonly transport: RecordingTransport,
    readonly name = 'consul',
  ) {
    const t = transport;
    t.onExec(`docker container inspect ${name}`, () => {
      const c = this.container;
      if (!c) return { code: 1, stdout: '[]\n', stderr: `Error: No such container: ${name}\n` };
      const doc = [
        {
          Id: c.id,
          Name: `/${name}`,
          Image: c.imageId,
          State: { Status: c.status, Running: c.running, Pid: c.running ? 4242 : 0 },
          Config: { Image: c.image, Labels: c.labels, Env: ['PATH=/usr/bin'] },
        },
      ];
      return { stdout: JSON.stringify(doc, null, 4) };
    });
    t.onExec(/^docker image inspect /, (cmd) => {
      const image = cmd.split(' ').pop() ?? '';
      const id = this.images.get(image);
      return id
        ? { stdout: JSON.stringify([{ Id: id, RepoTags: [image] }]) }
        : { code: 1, stdout: '[]', stderr: `Error response from daemon: No such image: ${image}` };
    });
    t.onExec(/^docker (run -d|create) /, (cmd) => {
      if (this.container)
        return {
          code: 125,
          stderr: `docker: Error response from daemon: Conflict. The container name "/${name}" is already in use.`,
        };
      const { image, labels } = parseRun(cmd);
      const id = `${String(this.#next++).padStart(4, '0')}${'c'.repeat(60)}`;
      const running = cmd.startsWith('docker run');
      this.container = {
        id,
        image,
        imageId: this.images.get(image) ?? 'sha256:pulled-by-run',
        running,
        status: running ? 'running' : 'created',
        labels,
      };
      return { stdout: `${id}\n` };
    });
    t.onExec(new RegExp(`^docker stop -t \\d+ ${name}$`), () => this.#set(false, 'exited'));
    t.onExec(`docker start ${name}`, () => this.#set(true, 'running'));
    t.onExec(new RegExp(`^docker restart -t \\d+ ${name}$`), () => this.#set(true, 'running'));
    t.onExec(`docker rm -f ${name}`, () => {
      this.container = undefined;
      return { stdout: `${name}\n` };
    });
  }

  #set(running: boolean, status: string) {
    if (!this.container)
      return { code: 1, stderr: `Error response from daemon: No such container: ${this.name}` };
    Object.assign(this.container, { running, status });
    return { stdout: `${this.name}\n` };
  }
}

/** Reads image and labels back out of a rendered `docker run`; options with a value are skipped. */
function parseRun(cmd: string): { image: string; labels: Record<string, string> } {
  const words = cmd.split(' ').slice(2);
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (w === '-d' || w.startsWith('--net=')) i += 1;
    else if (w === '--label') {
      const [k, ...v] = words[i + 1]!.split('=');
      labels[k!] = v.join('=');
      i += 2;
    } else if (['--name', '--restart', '-v', '-e'].includes(w)) i += 2;
    else break;
  }
  return { image: words[i] ?? '', labels };
}
