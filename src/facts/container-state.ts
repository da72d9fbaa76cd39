import { inspectContainer } from '../remote/docker.js';
import { FactParseError, outputTail, type Fact } from './fact.js';

/** What `docker container inspect` says about one container, reduced to what modules compare. */
export interface ContainerInfo {
  exists: true;
  id: string;
  /** The image reference the container was created from (`Config.Image`), e.g. `hashicorp/consul:1.19`. */
  image: string;
  /** The image's content id (`sha256:...`), to notice a re-pulled tag. */
  imageId: string;
  running: boolean;
  /** Docker's state word: created, running, paused, restarting, removing, exited, dead. */
  status: string;
  labels: Readonly<Record<string, string>>;
}

export type ContainerState = { exists: false } | ContainerInfo;

const NOT_FOUND = /no such (container|object)/i;

export function containerState(name: string): Fact<ContainerState> {
  return {
    command: inspectContainer(name),
    parse(result) {
      if (result.code !== 0) {
        if (NOT_FOUND.test(result.stderr)) return { exists: false };
        throw new FactParseError(`docker inspect failed (${outputTail(result)})`);
      }
      return parseInspect(result.stdout, name);
    },
  };
}

function parseInspect(stdout: string, name: string): ContainerState {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new FactParseError(`docker inspect printed something that is not JSON: ${stdout.slice(0, 80)}`);
  }
  // Some docker versions print `[]` with exit 0 for a missing container.
  if (Array.isArray(doc) && doc.length === 0) return { exists: false };
  const c = Array.isArray(doc) ? (doc[0] as unknown) : undefined;
  if (!isRecord(c)) {
    throw new FactParseError(`docker inspect of ${name}: expected a JSON array with one object`);
  }
  const state = isRecord(c['State']) ? c['State'] : {};
  const config = isRecord(c['Config']) ? c['Config'] : {};
  const labels = isRecord(config['Labels']) ? config['Labels'] : {};
  return {
    exists: true,
    id: str(c['Id']),
    image: str(config['Image']),
    imageId: str(c['Image']),
    running: state['Running'] === true,
    status: str(state['Status']),
    labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])),
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
