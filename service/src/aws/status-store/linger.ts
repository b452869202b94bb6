/**
 * When a batch of the status store's reads or writes leaves (docs/architecture.md §3.2, "Batched
 * writes"): `lingerMs` after the first item joined it, at the end of the turn when `lingerMs` is 0,
 * or at once when it is full.
 */
export class Linger {
  readonly #lingerMs: number;
  readonly #send: () => void;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;

  /** `send` takes what is waiting and sends it. */
  constructor(lingerMs: number, send: () => void) {
    this.#lingerMs = lingerMs;
    this.#send = send;
  }

  /** An item joined the batch, which now holds `full` items or fewer (true: send it now). */
  joined(full: boolean): void {
    if (full) this.now();
    else if (this.#timer === undefined) this.#timer = this.#lingerMs > 0 ? setTimeout(() => this.now(), this.#lingerMs) : setImmediate(() => this.now());
  }

  /** Sends what is waiting now. */
  now(): void {
    clearTimeout(this.#timer as NodeJS.Timeout | undefined);
    clearImmediate(this.#timer as NodeJS.Immediate | undefined);
    this.#timer = undefined;
    this.#send();
  }
}
