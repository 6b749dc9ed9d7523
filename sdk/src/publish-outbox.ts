import type { ClientToServerEvents, RelaybaseError, ServerToClientEvents } from "@relaybase/protocol";
import type { Socket } from "socket.io-client";
import { backoffDelay } from "./backoff.js";
import { PublishError, toRelaybaseError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import type { PublishResult } from "./room.js";

interface OutgoingPublish {
  room: string;
  event: string;
  data: unknown;
  id: string;
  inFlight: boolean;
  settled: boolean;
  attempt: number;
  deadline: ReturnType<typeof setTimeout> | undefined;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  resolve: (result: PublishResult) => void;
  reject: (error: PublishError) => void;
}

export interface OutboxHost {
  readonly options: ResolvedOptions;
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  /** True while a room resubscribes: its publishes wait, so they follow the replay. */
  holds(room: string): boolean;
  /** A fresh token on the live connection (for a publish refused with retry `reauth`). */
  refreshAuth(): Promise<void>;
}

/**
 * Publishes waiting for their ack. Each is sent when the socket is connected, resent with
 * the same id after an ack timeout, a reconnect or a `backoff` refusal (the server stores
 * an id once per room, so a resend is safe), and settled exactly once: by its ack, by a
 * `never` refusal, by its overall deadline (`publishTimeoutMs`), or by the client stopping.
 */
export class PublishOutbox {
  readonly #pending = new Set<OutgoingPublish>();

  constructor(private readonly host: OutboxHost) {}

  publish(room: string, event: string, data: unknown, id: string): Promise<PublishResult> {
    return new Promise<PublishResult>((resolve, reject) => {
      const publish: OutgoingPublish = {
        room,
        event,
        data,
        id,
        inFlight: false,
        settled: false,
        attempt: 0,
        deadline: undefined,
        retryTimer: undefined,
        resolve,
        reject,
      };
      const { publishTimeoutMs } = this.host.options;
      publish.deadline = setTimeout(() => {
        const message =
          `No acknowledgement within ${publishTimeoutMs} ms; the message may or may not have been ` +
          "published. Retrying with the same id (error.messageId) is safe.";
        this.#settle(publish, new PublishError("TIMEOUT", message, room, id));
      }, publishTimeoutMs);
      this.#pending.add(publish);
      this.#send(publish);
    });
  }

  /** Sends what waits (for one room, or all): after a (re)connect or a room's resubscribe. */
  flush(room?: string): void {
    for (const publish of this.#pending) if (room === undefined || publish.room === room) this.#send(publish);
  }

  /** The client stopped: every pending publish rejects with its reason. */
  rejectAll(error: RelaybaseError): void {
    for (const publish of [...this.#pending]) {
      this.#settle(publish, new PublishError(error.code, error.message, publish.room, publish.id));
    }
  }

  #send(publish: OutgoingPublish): void {
    if (publish.settled || publish.inFlight || publish.retryTimer) return;
    const { socket } = this.host;
    if (!socket.connected || this.host.holds(publish.room)) return;
    publish.inFlight = true;
    const { room, event, data, id } = publish;
    socket.timeout(this.host.options.ackTimeoutMs).emit("publish", { room, event, data, id }, (err, ack) => {
      publish.inFlight = false;
      if (publish.settled) return;
      // Timed out: resend now with the same id. Disconnected: the reconnect resends.
      if (err) return this.#send(publish);
      if (ack.ok) {
        this.#settle(publish, undefined, { id: ack.id, offset: ack.offset, epoch: ack.epoch });
        return;
      }
      const error = toRelaybaseError(ack.error);
      if (ack.error.retry === "never") {
        this.#settle(publish, new PublishError(error.code, error.message, room, id));
      } else if (ack.error.retry === "reauth") {
        this.host.refreshAuth().then(
          () => this.#send(publish),
          (err: RelaybaseError) =>
            err.retry === "never"
              ? this.#settle(publish, new PublishError(err.code, err.message, room, id))
              : this.#retryPublish(publish),
        );
      } else {
        this.#retryPublish(publish);
      }
    });
  }

  #retryPublish(publish: OutgoingPublish): void {
    const { reconnectionDelayMs, reconnectionDelayMaxMs } = this.host.options;
    publish.retryTimer = setTimeout(
      () => {
        publish.retryTimer = undefined;
        this.#send(publish);
      },
      backoffDelay(publish.attempt++, reconnectionDelayMs, reconnectionDelayMaxMs),
    );
  }

  #settle(publish: OutgoingPublish, error: PublishError | undefined, result?: PublishResult): void {
    if (publish.settled) return;
    publish.settled = true;
    clearTimeout(publish.deadline);
    clearTimeout(publish.retryTimer);
    this.#pending.delete(publish);
    if (error) publish.reject(error);
    else publish.resolve(result!);
  }
}
