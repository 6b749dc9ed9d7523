import type { MessageEnvelope, Position, SubscribeAckBody } from "@relaybase/protocol/wire";

/** The room's history no longer reaches back to where this client stood. */
export interface Gap {
  /** The last offset the client had delivered before the gap. */
  lastOffset: number;
  /** The epoch that offset belongs to. */
  epoch: string;
  /** The room's position the client continues from (the new baseline). */
  newOffset: number;
  /** Differs from `epoch` when the room's history was lost and restarted. */
  newEpoch: string;
}

export interface AckResult {
  /** Messages to hand to the app, in order. */
  deliver: MessageEnvelope[];
  /** Set when the subscribe asked for `since`: whether every missed message came back. */
  recovered?: boolean;
  /** Set when `recovered` is false. */
  gap?: Gap;
  /**
   * The room's history restarted (new epoch) and already holds messages: ask again with
   * `since` = `{ 0, newEpoch }` to get them. They came after the gap; nothing in them was
   * delivered yet.
   */
  refetch?: boolean;
}

/**
 * Orders and deduplicates one room's messages; no I/O, no timers.
 *
 * Offsets within an epoch have no holes, so the next message to deliver is always
 * `position.offset + 1`. Anything at or below the position was delivered already and is
 * dropped. Anything further ahead waits ("held") until the hole before it is filled; the
 * owner sees `waiting` and, if it lasts, resubscribes with `since` so the server replays
 * the hole (or says there is a gap). While a (re)subscribe is in flight, live messages are
 * buffered and merged with the ack's replay when it arrives.
 */
export class RoomSequencer {
  #position: Position | undefined;
  #pending = false;
  #since: Position | undefined;
  #buffer: MessageEnvelope[] = [];
  #held: MessageEnvelope[] = [];

  /** The last delivered position; undefined until the first subscribe ack. */
  get position(): Position | undefined {
    return this.#position;
  }

  /** True between `begin()` and `ack()`/`abort()`. */
  get pending(): boolean {
    return this.#pending;
  }

  /** True while messages wait for an earlier message that has not arrived. */
  get waiting(): boolean {
    return this.#held.length > 0;
  }

  /** Forgets everything; `position` is where a later subscribe continues from, if given. */
  reset(position?: Position): void {
    this.#position = position ? { offset: position.offset, epoch: position.epoch } : undefined;
    this.#pending = false;
    this.#since = undefined;
    this.#buffer = [];
    this.#held = [];
  }

  /** A subscribe request is about to be sent; returns the `since` to send with it. */
  begin(): Position | undefined {
    this.#pending = true;
    this.#since = this.#position;
    return this.#since;
  }

  /** A live `message` arrived; returns what may be delivered now. */
  receive(envelope: MessageEnvelope): MessageEnvelope[] {
    if (this.#pending) {
      this.#buffer.push(envelope);
      return [];
    }
    // Not subscribed (no baseline yet): nothing to order against, and nothing wanted.
    if (!this.#position) return [];
    return this.#drain([envelope]);
  }

  /** The subscribe ack arrived: replayed messages first, then what was buffered. */
  ack(body: SubscribeAckBody): AckResult {
    if (!this.#pending) return { deliver: [] };
    const since = this.#since;
    const incoming = [...(body.messages ?? []), ...this.#buffer];
    this.#pending = false;
    this.#since = undefined;
    this.#buffer = [];
    const baseline = { offset: body.offset, epoch: body.epoch };
    if (!since) return { deliver: this.#settle(baseline, incoming) };
    // History may no longer reach back while the messages are in hand anyway (Socket.IO's
    // own recovery replayed them before this ack): then nothing is missing.
    const recovered =
      body.epoch === since.epoch &&
      (body.recovered !== false || covers(incoming, since.offset, body.offset, body.epoch));
    if (recovered) return { deliver: this.#settle(since, incoming), recovered };
    const gap: Gap = {
      lastOffset: since.offset,
      epoch: since.epoch,
      newOffset: body.offset,
      newEpoch: body.epoch,
    };
    if (body.epoch !== since.epoch && body.offset > 0) {
      // Continue from the start of the new epoch: whatever of it arrived is held, the
      // rest comes with the refetch, and nothing published after the loss is skipped.
      const start = { offset: 0, epoch: body.epoch };
      return {
        deliver: this.#settle(start, incoming),
        recovered,
        gap: { ...gap, newOffset: 0 },
        refetch: true,
      };
    }
    return { deliver: this.#settle(baseline, incoming), recovered, gap };
  }

  /**
   * The subscribe failed for good. Buffered messages are ordered against the old
   * position (when there was one) so nothing already received is lost.
   */
  abort(): MessageEnvelope[] {
    if (!this.#pending) return [];
    const buffered = this.#buffer;
    this.#pending = false;
    this.#since = undefined;
    this.#buffer = [];
    return this.#position ? this.#drain(buffered) : [];
  }

  /**
   * After an ack the server's position is the truth: messages of any other epoch are
   * stale (or from a history reset right after the ack, which the next live message
   * will reveal as a gap). Keeping them would make the room wait forever.
   */
  #settle(position: Position, incoming: MessageEnvelope[]): MessageEnvelope[] {
    this.#position = position;
    this.#held = this.#held.filter((m) => m.epoch === position.epoch);
    return this.#drain(incoming.filter((m) => m.epoch === position.epoch));
  }

  #drain(incoming: MessageEnvelope[]): MessageEnvelope[] {
    let position = this.#position;
    if (!position) return [];
    // Stable sort keeps the first copy of a repeated offset first; later copies drop.
    const all = [...this.#held, ...incoming].sort((a, b) => a.offset - b.offset);
    const deliver: MessageEnvelope[] = [];
    const held: MessageEnvelope[] = [];
    const heldKeys = new Set<string>();
    for (const envelope of all) {
      if (envelope.epoch === position.epoch) {
        if (envelope.offset <= position.offset) continue;
        if (envelope.offset === position.offset + 1) {
          deliver.push(envelope);
          position = { offset: envelope.offset, epoch: position.epoch };
          continue;
        }
      }
      // Ahead of a hole, or from another epoch: only a resubscribe can tell where it fits.
      const key = `${envelope.epoch}\u0000${envelope.offset}`;
      if (heldKeys.has(key)) continue;
      heldKeys.add(key);
      held.push(envelope);
    }
    this.#position = position;
    this.#held = held;
    return deliver;
  }
}

/** Whether `messages` hold every offset after `from` up to `to` in `epoch`. */
function covers(messages: MessageEnvelope[], from: number, to: number, epoch: string): boolean {
  const have = new Set<number>();
  for (const m of messages) if (m.epoch === epoch && m.offset > from && m.offset <= to) have.add(m.offset);
  return have.size === to - from;
}
