import type { MessageEnvelope } from "@relaybase/protocol";

/** Where counted deliveries go: metrics and usage, each told once per broadcast with its count. */
export type DeliverySink = (appId: string, event: string, envelope: MessageEnvelope, count: number) => void;

/**
 * Counts deliveries per broadcast instead of per recipient. Socket.IO tells each recipient
 * socket's outgoing listener of a broadcast one after another, with the same payload
 * object, in one synchronous loop; the tally only compares and increments for each of
 * them, and hands the run (app, event, envelope, count) to the sink when the payload
 * changes or at the end of the current task (a microtask), so metrics and usage never lag
 * behind by more than that. Per-recipient work was a measurable part of a fan-out's CPU.
 */
export class DeliveryTally {
  #appId = "";
  #event = "";
  #envelope: MessageEnvelope | undefined;
  #count = 0;
  #scheduled = false;
  readonly #flushSoon = () => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(private readonly sink: DeliverySink) {}

  add(appId: string, event: string, envelope: MessageEnvelope): void {
    if (envelope === this.#envelope && appId === this.#appId && event === this.#event) {
      this.#count++;
      return;
    }
    this.flush();
    this.#appId = appId;
    this.#event = event;
    this.#envelope = envelope;
    this.#count = 1;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushSoon);
    }
  }

  /** Hands the current run to the sink (also what the microtask does). */
  flush(): void {
    const envelope = this.#envelope;
    if (envelope === undefined) return;
    const count = this.#count;
    this.#envelope = undefined;
    this.#count = 0;
    this.sink(this.#appId, this.#event, envelope, count);
  }
}
