import { randomUUID } from "node:crypto";
import type { DebugEvent, MessageEnvelope, SkipMarker, UserMessage, WireError } from "@relaybase/protocol";
import { debugRoomKey, type Fanout } from "@relaybase/server-kit";
import { call, type RedisClient } from "./client.js";

/**
 * Delivers to every realtime node without holding sockets, by writing the entries that
 * `@socket.io/redis-streams-adapter` 0.3.1 reads from its stream (the role of
 * `@socket.io/redis-streams-emitter`, which the registry here does not have).
 *
 * The entry format is the adapter's: fields `uid`, `nsp`, `type` (ClusterAdapter's
 * MessageType.BROADCAST = 3) and `data` (JSON of `{ packet, opts }`, the packet a
 * Socket.IO EVENT (type 2)). It is pinned to that adapter version, and
 * stream-emitter.test.ts proves it against a real adapter node, including Socket.IO's
 * session recovery, which replays these entries with XRANGE.
 *
 * Unlike a headless Socket.IO server with the adapter, this never reads the stream, and
 * `deliver` resolves only once Redis has the entry: a REST 202 means it is in the stream.
 */
export interface StreamEmitterOptions {
  /** The adapter's `streamName`. @default "socket.io" */
  streamName?: string;
  /** The adapter's `maxLen` (approximate trimming, as the adapter does). @default 10_000 */
  maxLen?: number;
  /** @default 1_000 */
  commandTimeoutMs?: number;
}

const BROADCAST = "3";
/** ClusterAdapter's MessageType.DISCONNECT_SOCKETS; data `{ opts, close }`. */
const DISCONNECT_SOCKETS = "6";
const EVENT_PACKET = 2;
const NAMESPACE = "/";

export class StreamEmitterFanout implements Fanout {
  /** Any id other than a node's: adapters skip only entries carrying their own uid. */
  readonly #uid = `emitter-${randomUUID()}`;
  readonly #streamName: string;
  readonly #maxLen: number;
  readonly #timeoutMs: number;

  constructor(
    private readonly client: RedisClient,
    options: StreamEmitterOptions = {},
  ) {
    this.#streamName = options.streamName ?? "socket.io";
    this.#maxLen = options.maxLen ?? 10_000;
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
  }

  async deliver(roomKey: string, envelope: MessageEnvelope, exceptRoom?: string): Promise<void> {
    await this.#broadcast("message", envelope, [roomKey], exceptRoom ? [exceptRoom] : []);
    if (exceptRoom) {
      const { room, offset, epoch } = envelope;
      const marker: SkipMarker = { room, offset, epoch };
      // The app-scoped room of one connection, on whichever node it is.
      await this.#broadcast("skip", marker, [exceptRoom], []);
    }
  }

  async deliverToUser(userKey: string, message: UserMessage): Promise<void> {
    await this.#broadcast("user.message", message, [userKey], []);
  }

  /**
   * The notice, then the adapter's DISCONNECT_SOCKETS entry (`close: false`: a
   * server-side disconnect, sent after the notice on the same connection). Each node
   * reads the stream in order, so the notice always goes first.
   */
  async disconnectUser(userKey: string, notice: WireError): Promise<void> {
    await this.#broadcast("notice", notice, [userKey], []);
    await this.#add(DISCONNECT_SOCKETS, { opts: { rooms: [userKey], except: [], flags: {} }, close: false });
  }

  /** Only while a console watches the app, and under its cap (server-kit's DebugTap). */
  async deliverDebug(appId: string, event: DebugEvent): Promise<void> {
    await this.#broadcast("debug", event, [debugRoomKey(appId)], []);
  }

  async #broadcast(event: string, payload: unknown, rooms: string[], except: string[]): Promise<void> {
    await this.#add(BROADCAST, {
      packet: { type: EVENT_PACKET, data: [event, payload], nsp: NAMESPACE },
      opts: { rooms, except, flags: {} },
    });
  }

  async #add(type: string, body: unknown): Promise<void> {
    const data = JSON.stringify(body);
    const entry = ["uid", this.#uid, "nsp", NAMESPACE, "type", type, "data", data];
    await call(
      this.client,
      ["XADD", this.#streamName, "MAXLEN", "~", String(this.#maxLen), "*", ...entry],
      this.#timeoutMs,
    );
  }
}
