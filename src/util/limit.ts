/**
 * The one concurrency limiter: at most `size` calls of `run` in flight, the rest wait their turn
 * in call order. sshd refuses channels past its MaxSessions (the transport's channel slots), and
 * Ansible's forks bound the hosts worked on at once (mapLimit).
 */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = Math.max(1, size);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, keeping the results in input
 * order. `fn` must not throw: failures are results, not exceptions.
 */
export function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const slots = new Semaphore(limit);
  return Promise.all(items.map((item) => slots.run(() => fn(item))));
}
