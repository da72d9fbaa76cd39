import { inspectImage } from '../remote/docker.js';
import { FactParseError, outputTail, type Fact } from './fact.js';

/** Whether an image is in the host's local store, and its content id when it is. */
export type ImageState = { present: false } | { present: true; id: string; repoTags: readonly string[] };

const NOT_FOUND = /no such (image|object)/i;

export function imagePresent(image: string): Fact<ImageState> {
  return {
    command: inspectImage(image),
    parse(result) {
      if (result.code !== 0) {
        if (NOT_FOUND.test(result.stderr)) return { present: false };
        throw new FactParseError(`docker image inspect failed (${outputTail(result)})`);
      }
      let doc: unknown;
      try {
        doc = JSON.parse(result.stdout);
      } catch {
        throw new FactParseError(
          `docker image inspect printed something that is not JSON: ${result.stdout.slice(0, 80)}`,
        );
      }
      if (Array.isArray(doc) && doc.length === 0) return { present: false };
      const first = Array.isArray(doc) ? (doc[0] as unknown) : undefined;
      if (typeof first !== 'object' || first === null) {
        throw new FactParseError(`docker image inspect of ${image}: expected a JSON array with one object`);
      }
      const { Id, RepoTags } = first as { Id?: unknown; RepoTags?: unknown };
      if (typeof Id !== 'string') throw new FactParseError(`docker image inspect of ${image}: no Id`);
      return {
        present: true,
        id: Id,
        repoTags: Array.isArray(RepoTags) ? RepoTags.filter((t): t is string => typeof t === 'string') : [],
      };
    },
  };
}
