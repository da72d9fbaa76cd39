import { CommandFailedError } from '../errors.js';
import { render, secretsOf, type Cmd } from '../shell/cmd.js';
import { redactText } from '../shell/secret.js';
import type {
  ExecOptions,
  ExecResult,
  HttpRequest,
  HttpResponse,
  TcpExchange,
  Transport,
} from '../ssh/transport.js';

/**
 * A step is one exchange with a host, as data (after pyinfra's operations): what to send, how to
 * read the answer, and whether it only reads the host or may change it. Modules build steps; the
 * runner's one executor runs them, and refuses every write step in check mode.
 */
export type Effect = 'read' | 'write';

/** Who a step's answer came from, for the messages its reader writes. */
export interface StepSite {
  readonly host: string;
  /** Clear text of every secret the task knows about, to scrub what the host sent back. */
  secrets(): readonly string[];
}

export type Step<T> =
  | {
      readonly kind: 'exec';
      readonly effect: Effect;
      readonly cmd: Cmd;
      readonly options?: ExecOptions;
      read(result: ExecResult, site: StepSite): T;
    }
  | {
      readonly kind: 'http';
      readonly effect: Effect;
      readonly request: HttpRequest;
      read(response: HttpResponse, site: StepSite): T;
    }
  | {
      readonly kind: 'tcp';
      readonly effect: 'read';
      readonly exchange: TcpExchange;
      read(received: Buffer, site: StepSite): T;
    };

/**
 * A host's HTTP and TCP, for clients that speak them (the Consul API, DNS): a Transport has this
 * shape, and so does the executor's view, where a GET is a read step and any other method a write.
 */
export type HostChannel = Pick<Transport, 'host' | 'http' | 'tcpExchange'>;

/** The host as the runner's executor offers it (to gather facts, to converse): every exchange is a step. */
export interface StepRunner {
  readonly host: string;
  run<T>(step: Step<T>): Promise<T>;
  readonly channel: HostChannel;
}

const asIs = <R>(answer: R): R => answer;

/** A command whose answer is returned as it came: the caller reads `code`. */
export function execStep(effect: Effect, cmd: Cmd, options?: ExecOptions): Step<ExecResult> {
  return { kind: 'exec', effect, cmd, ...(options && { options }), read: asIs };
}

/**
 * A command that must succeed. A non-zero exit becomes CommandFailedError with the command as
 * people may see it and output scrubbed of every secret the task knows about.
 */
export function checkedStep(effect: Effect, cmd: Cmd, options?: ExecOptions): Step<ExecResult> {
  return {
    kind: 'exec',
    effect,
    cmd,
    ...(options && { options }),
    read(result, site) {
      if (result.code === 0) return result;
      const secrets = [...secretsOf(cmd), ...site.secrets()];
      throw new CommandFailedError(
        site.host,
        render(cmd, { redact: true }),
        result.code,
        redactText(result.stdout, secrets),
        redactText(result.stderr, secrets),
      );
    },
  };
}

/** An HTTP exchange; by HTTP's own rule only a GET counts as reading. */
export function httpStep(request: HttpRequest): Step<HttpResponse> {
  return {
    kind: 'http',
    effect: (request.method ?? 'GET') === 'GET' ? 'read' : 'write',
    request,
    read: asIs,
  };
}

export function tcpStep(exchange: TcpExchange): Step<Buffer> {
  return { kind: 'tcp', effect: 'read', exchange, read: asIs };
}

/** `step` with its answer read by `then` after the step's own reader. */
export function mapStep<A, B>(step: Step<A>, then: (answer: A, site: StepSite) => B): Step<B> {
  switch (step.kind) {
    case 'exec':
      return { ...step, read: (r: ExecResult, site: StepSite) => then(step.read(r, site), site) };
    case 'http':
      return { ...step, read: (r: HttpResponse, site: StepSite) => then(step.read(r, site), site) };
    case 'tcp':
      return { ...step, read: (r: Buffer, site: StepSite) => then(step.read(r, site), site) };
  }
}

/** `step` run for what it does: its reader still judges the answer, which is then dropped. */
export function effectOnly<T>(step: Step<T>): Step<void> {
  return mapStep(step, () => undefined);
}
