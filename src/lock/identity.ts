import { hostname, userInfo } from 'node:os';

/** The CI job a run belongs to, from the CI system's own environment variables. */
export interface CiJob {
  provider: string;
  id: string;
  url?: string;
  /** Who triggered the job (GITHUB_ACTOR, GITLAB_USER_LOGIN, ...). */
  actor?: string;
}

/** Who is running drover: written into the lock details and every audit line. */
export interface RunIdentity {
  user: string;
  host: string;
  ci?: CiJob;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Most specific first: BUILD_ID alone (Jenkins) is too generic to test before the others. */
const CI_SYSTEMS: {
  provider: string;
  id: string[];
  url?: (env: Env) => string | undefined;
  actor?: string;
}[] = [
  {
    provider: 'github-actions',
    id: ['GITHUB_RUN_ID'],
    url: (e) =>
      e['GITHUB_SERVER_URL'] && e['GITHUB_REPOSITORY'] && e['GITHUB_RUN_ID']
        ? `${e['GITHUB_SERVER_URL']}/${e['GITHUB_REPOSITORY']}/actions/runs/${e['GITHUB_RUN_ID']}`
        : undefined,
    actor: 'GITHUB_ACTOR',
  },
  { provider: 'gitlab-ci', id: ['CI_JOB_ID'], url: (e) => e['CI_JOB_URL'], actor: 'GITLAB_USER_LOGIN' },
  {
    provider: 'buildkite',
    id: ['BUILDKITE_JOB_ID', 'BUILDKITE_BUILD_ID'],
    url: (e) => e['BUILDKITE_BUILD_URL'],
    actor: 'BUILDKITE_BUILD_CREATOR',
  },
  {
    provider: 'circleci',
    id: ['CIRCLE_WORKFLOW_JOB_ID', 'CIRCLE_BUILD_NUM'],
    url: (e) => e['CIRCLE_BUILD_URL'],
    actor: 'CIRCLE_USERNAME',
  },
  { provider: 'azure-pipelines', id: ['BUILD_BUILDID'], actor: 'BUILD_REQUESTEDFOR' },
  {
    provider: 'jenkins',
    id: ['BUILD_ID', 'BUILD_NUMBER'],
    url: (e) => e['BUILD_URL'],
    actor: 'BUILD_USER_ID',
  },
];

export function ciJobFromEnv(env: Env = process.env): CiJob | undefined {
  for (const system of CI_SYSTEMS) {
    const id = system.id.map((name) => env[name]).find((v) => v !== undefined && v !== '');
    if (id === undefined) continue;
    const url = system.url?.(env);
    const actor = system.actor ? env[system.actor] : undefined;
    return { provider: system.provider, id, ...(url ? { url } : {}), ...(actor ? { actor } : {}) };
  }
  return undefined;
}

export function currentIdentity(env: Env = process.env): RunIdentity {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    // Containers often run with a uid that has no passwd entry.
  }
  user ||= env['USER'] || env['LOGNAME'] || 'unknown';
  const ci = ciJobFromEnv(env);
  return { user, host: hostname(), ...(ci ? { ci } : {}) };
}

/** `alice@ci-7`. */
export const describeWho = (who: { user: string; host: string }): string => `${who.user}@${who.host}`;

/** `CI job 991 by alice`, or undefined outside CI. */
export const describeCi = (ci: CiJob | undefined): string | undefined =>
  ci ? `CI job ${ci.id}${ci.actor ? ` by ${ci.actor}` : ''}` : undefined;
