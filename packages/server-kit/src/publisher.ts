import {
  isValidEventName,
  isValidRoomName,
  type MessageEnvelope,
  type MessageSource,
  messageSize,
  RelaybaseError,
} from "@relaybase/protocol";
import type { RetentionLimits, RoomHistory } from "./history.js";
import { randomId } from "./keys.js";
import { roomKey } from "./rooms.js";
import type { AppRuntime } from "./tenant-directory.js";
import type { PublishObserver } from "./usage-meter.js";

/** Delivers an envelope to the sockets in a room, on this node or across the cluster. */
export interface Fanout {
  deliver(roomKey: string, envelope: MessageEnvelope, exceptConnectionId?: string): void | Promise<void>;
}

export interface PublishInput {
  app: AppRuntime;
  room: string;
  event: string;
  data: unknown;
  /** Idempotency id; a repeat within the room's history returns the first offset. */
  id?: string;
  from?: MessageSource;
  exceptConnectionId?: string;
  /**
   * The size `Publisher.validate` returned, when the caller validated this message
   * already (to check limits in order); the message is then not encoded again.
   */
  validatedSize?: number;
}

export interface Published {
  id: string;
  offset: number;
  epoch: string;
}

export function retentionOf(app: AppRuntime): RetentionLimits {
  return { maxEntries: app.limits.historySize, ttlMs: app.limits.historyTtlSeconds * 1000 };
}

/**
 * The one publish path, for client and REST publishes alike: validate, take the
 * room's next offset and store the entry, then fan out. Validation happens before
 * anything is stored or sent, so a refused message leaves no trace.
 */
export class Publisher {
  constructor(
    private readonly history: RoomHistory,
    private readonly fanout: Fanout,
    /** Told of each message stored (usage metering); a repeated id is not stored again. */
    private readonly observer?: PublishObserver,
  ) {}

  /** Checks a message without publishing it; throws the code a client would get. Returns its size. */
  static validate(app: AppRuntime, room: string, event: string, data: unknown): number {
    if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
    if (!isValidEventName(event)) throw new RelaybaseError("INVALID_EVENT_NAME");
    const size = messageSize(data);
    if (size > app.limits.maxMessageBytes) {
      throw new RelaybaseError(
        "MESSAGE_TOO_LARGE",
        `The message is ${size} bytes; this app's limit is ${app.limits.maxMessageBytes}.`,
      );
    }
    return size;
  }

  async publish(input: PublishInput): Promise<Published> {
    const { app, room, event, data } = input;
    const bytes = input.validatedSize ?? Publisher.validate(app, room, event, data);
    const key = roomKey(app.appId, room);
    const id = input.id ?? `m_${randomId(16)}`;
    const ts = Date.now();
    const stored = { id, event, data, ts, ...(input.from ? { from: input.from } : {}) };
    const { offset, epoch, duplicate } = await this.history.append(key, stored, retentionOf(app));
    if (!duplicate) this.observer?.published(app.appId, bytes);
    // A retried id is delivered again under its first offset: the first attempt may have
    // been stored but not delivered (a timeout, Redis lost between the two steps), and
    // subscribers drop offsets they already have.
    const envelope: MessageEnvelope = { room, ...stored, offset, epoch };
    await this.fanout.deliver(key, envelope, input.exceptConnectionId);
    return { id, offset, epoch };
  }
}
