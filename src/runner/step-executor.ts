import { render } from '../shell/cmd.js';
import {
  httpStep,
  tcpStep,
  type HostChannel,
  type Step,
  type StepRunner,
  type StepSite,
} from '../remote/step.js';
import type { HttpRequest, HttpResponse, TcpExchange, Transport } from '../ssh/transport.js';

/** A write step reached a read-only executor: a module bug, never a host's answer. */
export class WriteRefusedError extends Error {}

/**
 * The one place steps meet the host. Read-only (check mode, and orderers, which only look) it
 * runs reading steps only: a write step is refused before anything is sent, so `drover plan`
 * cannot change a host whatever a module asks for.
 */
export class StepExecutor implements StepRunner {
  readonly channel: HostChannel;
  readonly #site: StepSite;

  constructor(
    readonly transport: Transport,
    /** True in check mode: write steps are refused. */
    readonly readsOnly: boolean,
    secrets: () => readonly string[],
  ) {
    this.#site = { host: transport.host, secrets };
    this.channel = {
      host: transport.host,
      http: (request: HttpRequest): Promise<HttpResponse> => this.run(httpStep(request)),
      ...(transport.tcpExchange && {
        tcpExchange: (exchange: TcpExchange): Promise<Buffer> => this.run(tcpStep(exchange)),
      }),
    };
  }

  get host(): string {
    return this.transport.host;
  }

  async run<T>(step: Step<T>): Promise<T> {
    if (this.readsOnly && step.effect === 'write') {
      throw new WriteRefusedError(
        `${this.host}: refused to ${describe(step)}: only read steps run here (check mode)`,
      );
    }
    switch (step.kind) {
      case 'exec':
        return step.read(await this.transport.exec(step.cmd, step.options), this.#site);
      case 'http':
        return step.read(await this.transport.http(step.request), this.#site);
      case 'tcp': {
        if (!this.transport.tcpExchange)
          throw new Error(`${this.host}: this connection cannot open TCP channels`);
        return step.read(await this.transport.tcpExchange(step.exchange), this.#site);
      }
    }
  }
}

function describe(step: Step<unknown>): string {
  switch (step.kind) {
    case 'exec':
      return `run \`${render(step.cmd, { redact: true })}\``;
    case 'http':
      return `send ${step.request.method ?? 'GET'} ${step.request.path}`;
    case 'tcp':
      return `open TCP to ${step.exchange.host}:${step.exchange.port}`;
  }
}
