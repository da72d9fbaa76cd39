import {
  AclDisabledError,
  agentTokenWant,
  bootstrapResetAdvice,
  bootstrapStep,
  derivedTokenSecret,
  dnsTokenWant,
  DNS_POLICY,
  GLOBAL_MANAGEMENT_POLICY_ID,
  operatorTokenWant,
  OPERATOR_POLICY,
  planPolicy,
  planToken,
  policyWriteStep,
  REPLICATION_POLICY,
  replicationTokenWant,
  readPolicyStep,
  servicesTokenWant,
  setAgentTokenStep,
  readTokenStep,
  deleteTokenStep,
  tokenSelfStep,
  tokenWriteSteps,
  AclApiError,
  type AclCall,
  type PolicyWant,
  type TokenWant,
} from '../consul/api/acl.js';
import {
  ACL_AGENT_TOKEN_VAR,
  ACL_DNS_TOKEN_VAR,
  ACL_MANAGEMENT_VAR_OF_SESSION,
  ACL_REPLICATION_TOKEN_VAR,
  ACL_SERVICES_TOKEN_VAR,
  aclPrimaryFromVars,
  datacenterFromVars,
} from '../consul/api/endpoint.js';
import { GateAgents } from '../consul/gates/gate-agents.js';
import {
  leaderWaitArgsSchema,
  leaderWaitSeconds,
  serverNamingALeader,
  type LeaderWaitArgs,
} from '../consul/gates/leader-wait.js';
import { gateOptions, hereOf } from '../consul/gates/gate-args.js';
import type { ExpectedNode } from '../consul/verify/cluster-model.js';
import { hostvarsOf } from '../consul/verify/expected-nodes.js';
import { expectedServices } from '../consul/verify/expected-services.js';
import { ConfigError, TaskFailedError } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import { isSecret, type Secret } from '../shell/secret.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';

/**
 * consul_acl: sets up the ACL system of the cluster the inventory describes, once, and keeps it
 * as the inventory says. Run once per deploy (run_once), after the agents run and before drover
 * or the clients need a token:
 *   1. waits for a leader (bounded), through the first server that names one, in the primary
 *      datacenter (`consul_acl_datacenter`) when the inventory has servers there;
 *   2. bootstraps with the management token as BootstrapSecret when the cluster does not know
 *      that token yet; a cluster bootstrapped before with another token is refused with Consul's
 *      reset procedure (never a second bootstrap). Only the primary bootstraps: through a
 *      secondary's server the token must already be known there;
 *   3. the drover-dns and drover-operator policies (and drover-replication when servers of
 *      other datacenters replicate), created or brought back to their rules;
 *   4. per inventory node a services token (a service identity per service it declares) and an
 *      agent token (a node identity in its datacenter), then the DNS token (the agents' default
 *      token), the operator token and the replication token, each with its derived SecretID
 *      (derivedTokenSecret), so the configs already rendered name tokens that now exist. All
 *      are global tokens: they live in the primary, which a secondary's server forwards the
 *      writes to, and reach the other datacenters by replication;
 *   5. every running agent whose tokens were just written is told to sync now (nudgeAgent):
 *      what it registered before they existed was refused, and Consul would only try again at
 *      its next full anti-entropy sync, a minute or two later.
 * Every request carries the management token; in check mode only the reads are sent.
 */
export const consulAclModule: ConversationModule<LeaderWaitArgs> = {
  kind: 'conversation',
  name: 'consul_acl',
  argsSchema: leaderWaitArgsSchema,
  async run(args: LeaderWaitArgs, ctx: ConversationContext): Promise<Outcome> {
    const management = ctx.vars[ACL_MANAGEMENT_VAR_OF_SESSION];
    if (!isSecret(management)) {
      throw new ConfigError([
        {
          file: 'playbook',
          message: 'consul_acl needs the ACL management token (consul_acl_enable sets it up)',
        },
      ]);
    }
    const here = hereOf(ctx.vars, ctx.host.name);
    const agents = GateAgents.fromVars(ctx.vars, ctx.steps.channel, here, gateOptions(args));
    const leaderTimeout = leaderWaitSeconds(args, false);
    const primary = aclPrimaryFromVars(ctx.vars);
    const inPrimary = agents.servers.filter(
      (s) => primary === undefined || datacenterOf(s, ctx.vars) === primary,
    );
    const candidates = inPrimary.length > 0 ? inPrimary : agents.servers;
    // Check mode asks once: nothing was started, so there is nothing to wait for.
    const via = await serverNamingALeader(agents, candidates, leaderWaitSeconds(args, ctx.check), ctx);
    if (!via) {
      if (ctx.check)
        return {
          changed: true,
          summary: 'would bootstrap the ACL system once the servers run',
          data: { acl_off: false },
        };
      throw new TaskFailedError(
        `${here}: no Consul server named a leader within ${leaderTimeout}s, so ACLs cannot be set up`,
      );
    }
    const call: AclCall = {
      ...agents.endpoint(via),
      timeoutSeconds: agents.requestTimeout,
      token: management,
    };
    const done: string[] = [];

    const bootstrapped = await ensureBootstrapped(
      call,
      ctx,
      via,
      inPrimary.length > 0 ? undefined : primary,
    ).catch((err: unknown) => {
      if (err instanceof AclDisabledError) return 'acl off' as const;
      throw err;
    });
    // Turning ACLs on for a running cluster: the servers still run without them until their
    // roll, after which the deploy asks again. Every outcome registers `acl_off` for that.
    if (bootstrapped === 'acl off') {
      return {
        changed: false,
        summary: `ACLs are not on yet on ${via.host}'s agent: the ACL system is set up once the servers run with them`,
        data: { via: via.host, acl_off: true },
      };
    }
    if (bootstrapped) done.push('bootstrapped the ACL system');
    if (bootstrapped === undefined)
      return {
        changed: true,
        summary: 'would bootstrap the ACL system',
        data: { via: via.host, acl_off: false },
      };

    const wanted = tokensWanted(agents, ctx.vars, management);
    const replicating = wanted.some((w) => w.want.policies.includes(REPLICATION_POLICY.name));
    for (const policy of [DNS_POLICY, OPERATOR_POLICY, ...(replicating ? [REPLICATION_POLICY] : [])]) {
      const action = await ensurePolicy(policy, call, ctx);
      if (action) done.push(`${action} policy ${policy.name}`);
    }
    const written = new Set<ExpectedNode>();
    for (const { want, node } of wanted) {
      const action = await ensureToken(want, call, ctx);
      if (action) done.push(`${action} ${want.description.replace(/^drover: /, '')}`);
      if (action && node) written.add(node);
    }
    if (!ctx.check) {
      for (const node of written) {
        const refused = await nudgeAgent(agents, node, ctx.vars, management, ctx);
        if (refused) done.push(refused);
      }
    }
    const summary =
      done.length === 0
        ? 'ACLs as the inventory says: policies and tokens unchanged'
        : `${ctx.check ? 'would have ' : ''}${done.join('; ')}`;
    return { changed: done.length > 0, summary, data: { via: via.host, changes: done, acl_off: false } };
  },
};

/**
 * True when this call bootstrapped, false when the cluster already knows the management token,
 * undefined in check mode when a bootstrap would be needed. The token is asked about first: an
 * unknown token is `ACL not found`, which on a new cluster means "not bootstrapped yet".
 * `elsewhere`: the primary datacenter, when `via` is a server of another one, where a
 * bootstrap is refused (Consul answers `ACL support disabled`): the token must be known.
 */
async function ensureBootstrapped(
  call: AclCall,
  ctx: ConversationContext,
  via: ExpectedNode,
  elsewhere?: string,
): Promise<boolean | undefined> {
  const self = await ctx.steps.run(tokenSelfStep(call));
  if (self) {
    if (!self.policies.some((p) => p.id === GLOBAL_MANAGEMENT_POLICY_ID)) {
      throw new TaskFailedError(
        `the ACL token drover was given (AccessorID ${self.accessorId}) is not a management token: ` +
          'setting up ACLs needs the global-management policy (give drover the management token)',
      );
    }
    return false;
  }
  if (elsewhere !== undefined) {
    throw new TaskFailedError(
      `${via.host}: the ACL management token drover was given is not known to the ACL system of ${elsewhere} ` +
        `(consul_acl_datacenter), or ${elsewhere}'s servers cannot be reached over the WAN: bootstrap ${elsewhere} first, with its own inventory, and give this one the same token`,
    );
  }
  if (ctx.check) return undefined;
  // The bootstrap itself sends no token (ACL required: none); the secret goes in its body.
  const answer = await ctx.steps.run(bootstrapStep({ ...call, bootstrapSecret: call.token }));
  if (answer.alreadyBootstrapped) {
    const dataDir =
      typeof ctx.vars['consul_data_dir'] === 'string' ? ctx.vars['consul_data_dir'] : '/opt/consul/data';
    throw new TaskFailedError(`${via.host}: ${bootstrapResetAdvice(answer, dataDir)}`);
  }
  // A release that ignored the BootstrapSecret made a token nobody kept: say so, never print it.
  if (answer.secretId.reveal() !== call.token.reveal()) {
    throw new TaskFailedError(
      `the ACL bootstrap ignored the SecretID drover gave it (AccessorID ${answer.accessorId}): this ` +
        'Consul release cannot be set up by drover; delete that token with `consul acl token delete` and reset the bootstrap',
    );
  }
  return true;
}

/** `created` / `updated`, or undefined when the policy is as wanted. Check mode only says. */
async function ensurePolicy(
  want: PolicyWant,
  call: AclCall,
  ctx: ConversationContext,
): Promise<string | undefined> {
  const plan = planPolicy(want, await ctx.steps.run(readPolicyStep(want.name, call)));
  const write = policyWriteStep(plan, want, call);
  if (!write) return undefined;
  if (!ctx.check) await ctx.steps.run(write);
  return plan.action === 'create' ? 'created' : 'updated';
}

/** What a token plan that writes did, for the summary. */
const DONE = { create: 'created', update: 'updated', replace: 'replaced' } as const;

/**
 * `created` / `updated` / `replaced`, or undefined when the token is as wanted. A token to
 * create whose SecretID an older token already holds (a node renamed, a datacenter renamed)
 * takes the SecretID over: Consul refuses two tokens with one SecretID.
 */
async function ensureToken(
  want: TokenWant,
  call: AclCall,
  ctx: ConversationContext,
): Promise<string | undefined> {
  const plan = planToken(want, await ctx.steps.run(readTokenStep(want.accessorId, call)));
  if (plan.action === 'refuse') throw new TaskFailedError(plan.reason);
  if (plan.action === 'none') return undefined;
  const done = DONE[plan.action];
  if (ctx.check) return done;
  if (plan.action === 'create' && want.secret) {
    const holder = await ctx.steps.run(tokenSelfStep({ ...call, token: want.secret }));
    if (holder && holder.accessorId !== want.accessorId)
      await ctx.steps.run(deleteTokenStep(holder.accessorId, call));
  }
  for (const step of tokenWriteSteps(plan, call)) await ctx.steps.run(step);
  return done;
}

/**
 * Makes `node`'s agent run a full anti-entropy sync now: `PUT /v1/agent/token/agent` with the
 * token its config already names. Consul triggers a full sync when the agent or default token
 * changes in value or source (agent_endpoint.go AgentToken), and this one moves from config to
 * API; the next reload or restart takes it from the config again. An agent that does not
 * answer is not running yet and syncs when it starts; a refusal is reported, as the agent then
 * registers only at its next periodic full sync.
 */
async function nudgeAgent(
  agents: GateAgents,
  node: ExpectedNode,
  vars: Vars,
  management: Secret,
  ctx: ConversationContext,
): Promise<string | undefined> {
  const agentToken = hostvarsOf(vars)[node.host]?.[ACL_AGENT_TOKEN_VAR];
  if (!isSecret(agentToken)) return undefined;
  const call: AclCall = {
    ...agents.endpoint(node),
    timeoutSeconds: agents.requestTimeout,
    token: management,
  };
  try {
    await ctx.steps.run(setAgentTokenStep('agent', agentToken, call));
    return undefined;
  } catch (err) {
    if (!(err instanceof AclApiError)) return undefined;
    return `${node.host}: its agent refused the new tokens (${err.message}); it registers with them at its next full sync`;
  }
}

/** A node's datacenter; this host's for one that names none. */
const datacenterOf = (n: ExpectedNode | undefined, vars: Vars): string =>
  n?.datacenter ?? datacenterFromVars(vars);

/** A token to keep, and the node whose agent uses it (none for the shared ones). */
interface WantedToken {
  readonly want: TokenWant;
  readonly node?: ExpectedNode;
}

/**
 * Per inventory node its services token, then its agent token: a new client with auto_encrypt
 * starts once its agent token exists, and finds the other one there already. Then the DNS and
 * operator tokens of the ACL system (of the primary datacenter, else this one), and the
 * replication token when some server is outside the primary.
 */
function tokensWanted(agents: GateAgents, vars: Vars, management: Secret): WantedToken[] {
  const hostvars = hostvarsOf(vars);
  const datacenter = (n: ExpectedNode): string => datacenterOf(n, vars);
  const nodes = [...agents.servers, ...agents.clients];
  const secretOf = (n: ExpectedNode, name: string): Secret => {
    const secret = hostvars[n.host]?.[name];
    if (!isSecret(secret)) {
      throw new ConfigError([
        { file: 'inventory', message: `${n.host}: no ${name} (consul_acl_enable sets it)` },
      ]);
    }
    return secret;
  };
  const services = expectedServices(nodes, (h) => hostvars[h]);
  const nodeTokens = nodes.flatMap((n) => {
    const identity = { nodeName: n.nodeName, datacenter: datacenter(n) };
    const names = services.filter((s) => s.host === n.host).map((s) => s.name);
    return [
      { node: n, want: servicesTokenWant(identity, names, secretOf(n, ACL_SERVICES_TOKEN_VAR)) },
      { node: n, want: agentTokenWant(identity, secretOf(n, ACL_AGENT_TOKEN_VAR)) },
    ];
  });
  const dns = vars[ACL_DNS_TOKEN_VAR];
  if (!isSecret(dns))
    throw new ConfigError([
      { file: 'inventory', message: `no ${ACL_DNS_TOKEN_VAR} (consul_acl_enable sets it)` },
    ]);
  const primary = aclPrimaryFromVars(vars);
  const dc = primary ?? datacenterOf(nodes[0], vars);
  const secondary = primary === undefined ? undefined : agents.servers.find((s) => datacenter(s) !== primary);
  const replication = secondary && hostvars[secondary.host]?.[ACL_REPLICATION_TOKEN_VAR];
  if (secondary && !isSecret(replication))
    throw new ConfigError([
      {
        file: 'inventory',
        message: `${secondary.host}: no ${ACL_REPLICATION_TOKEN_VAR} (consul_acl_datacenter sets it)`,
      },
    ]);
  return [
    ...nodeTokens,
    { want: dnsTokenWant(dc, dns) },
    { want: operatorTokenWant(dc, derivedTokenSecret(management, 'operator')) },
    ...(isSecret(replication) ? [{ want: replicationTokenWant(dc, replication) }] : []),
  ];
}
