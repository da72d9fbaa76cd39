import { writeFileSync } from 'node:fs';
import type { Inventory, Vars } from '../inventory/types.js';
import { secretTexts } from '../shell/secret.js';
import { DROVER_VERSION } from '../paths.js';
import { createRecapCollector, type RecapCollector } from '../report/collector.js';
import { combineReporters } from '../report/combine.js';
import type { ConcludeOptions } from '../report/conclusion.js';
import {
  createEventsReporter,
  openEventsFile,
  type DroverEvent,
  type EventSink,
  type EventsReporter,
} from '../report/events.js';
import { buildJsonRecap } from '../report/json-recap.js';
import { renderJunit } from '../report/junit.js';
import type { Reporter } from '../runner/reporter.js';
import type { Output } from './output.js';

export interface ArtifactOptions {
  /** --output json: the recap object on stdout. */
  json: boolean;
  /** --events FILE: NDJSON, one line per event, written as it happens. */
  eventsFile?: string;
  /** --junit FILE: one testsuite per host, one testcase per task. */
  junitFile?: string;
  /** The API's events stream: each event as it is written to the NDJSON file. */
  onEvent?: (event: DroverEvent) => void;
  check: boolean;
}

/**
 * Everything a run leaves for machines: the JSON recap, the NDJSON event stream and the JUnit
 * report. Built from the same reporter events the person at the terminal sees, and finished
 * exactly once however the run ends (success, failure, lock held, gate, interrupt, bad input).
 */
export class RunArtifacts {
  readonly #collector: RecapCollector;
  readonly #events?: EventsReporter;
  readonly #eventsFile?: EventSink & { close(): void };
  #secrets: string[] = [];
  #finished = false;

  constructor(
    private readonly o: ArtifactOptions,
    private readonly command: string,
  ) {
    this.#collector = createRecapCollector();
    if (o.eventsFile) this.#eventsFile = openEventsFile(o.eventsFile);
    const sinks = [
      ...(this.#eventsFile ? [this.#eventsFile] : []),
      ...(o.onEvent ? [eventCallback(o.onEvent)] : []),
    ];
    if (sinks.length > 0) {
      const sink: EventSink = { write: (line: string) => sinks.forEach((s) => s.write(line)) };
      this.#events = createEventsReporter(sink, { command, droverVersion: DROVER_VERSION, check: o.check });
    }
  }

  /** Secret values from the inventory, scrubbed from every artifact as a second line of defence. */
  learnSecrets(inventory: Inventory, extraVars?: Vars): void {
    this.#secrets = [...new Set([...RunArtifacts.secretsOf(inventory), ...secretTexts(extraVars ?? {})])];
  }

  static secretsOf(inventory: Inventory): string[] {
    return [...new Set([...inventory.hosts.values()].flatMap((h) => [...secretTexts(h.vars)]))];
  }

  get secrets(): readonly string[] {
    return this.#secrets;
  }

  /** The reporter to give the runner: the person's reporter plus ours. */
  reporter(human: Reporter): Reporter {
    return combineReporters(human, this.#collector, ...(this.#events ? [this.#events] : []));
  }

  get collected() {
    return this.#collector.collected();
  }

  /** Writes run_end, the JUnit file and (with --output json) the recap. Later calls do nothing. */
  finish(out: Output, how: ConcludeOptions): void {
    if (this.#finished) return;
    this.#finished = true;
    const options = { ...how, secrets: this.#secrets };
    this.#events?.finish(options);
    this.#eventsFile?.close();
    const run = this.#collector.collected();
    if (this.o.junitFile) {
      writeFileSync(this.o.junitFile, renderJunit(run, { name: this.command, secrets: this.#secrets }));
    }
    if (this.o.json) {
      const recap = buildJsonRecap(run, {
        ...options,
        command: this.command,
        droverVersion: DROVER_VERSION,
        check: this.o.check,
      });
      out.result.write(`${JSON.stringify(recap, null, 2)}\n`);
    }
  }
}

/** The events reporter writes NDJSON lines; the API hands out the objects they stand for. */
const eventCallback = (onEvent: (event: DroverEvent) => void): EventSink => ({
  write: (line: string) => onEvent(JSON.parse(line) as DroverEvent),
});
