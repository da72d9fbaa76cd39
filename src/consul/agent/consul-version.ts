/**
 * Consul versions as drover meets them (pure): the first line of `consul version` (`Consul
 * v1.20.1`, with `+ent` on Enterprise), an image's `version` label (the official image's
 * Dockerfile sets `version` and `org.opencontainers.image.version` to the release), or an image
 * tag that names a release (`hashicorp/consul:1.20.1`). A tag that floats (`latest`, `1.20`)
 * or a digest names no version.
 */
export interface ConsulVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** `rc1`, `beta2`, ...: a pre-release, older than the release itself. */
  readonly prerelease?: string;
  /** As written, without a leading `v`. */
  readonly text: string;
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.]+?))?(?:[+-]ent)?$/;

/** `1.20.1`, `v1.21.0-rc1`, `1.20.1+ent`, `1.20.1-ent`; undefined for anything else. */
export function parseConsulVersion(text: string): ConsulVersion | undefined {
  const t = text.trim();
  const m = VERSION.exec(t);
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    ...(m[4] !== undefined && m[4] !== 'ent' && { prerelease: m[4] }),
    text: t.replace(/^v/, ''),
  };
}

/** The version `consul version` prints on its first line (`Consul v1.20.1`). */
export function versionFromCli(stdout: string): ConsulVersion | undefined {
  const m = /^Consul (v\S+)/m.exec(stdout);
  return m?.[1] === undefined ? undefined : parseConsulVersion(m[1]);
}

/** The release an image reference's tag names; none for a digest or a floating tag. */
export function versionFromImageRef(ref: string): ConsulVersion | undefined {
  if (ref.includes('@')) return undefined;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) return undefined;
  return parseConsulVersion(ref.slice(colon + 1));
}

/** Negative when `a` is older than `b`, 0 when the same release, positive when newer. */
export function compareConsulVersions(a: ConsulVersion, b: ConsulVersion): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] - b[k];
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === undefined) return 1;
  if (b.prerelease === undefined) return -1;
  return a.prerelease.localeCompare(b.prerelease, 'en', { numeric: true });
}
