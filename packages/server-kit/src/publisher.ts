import {
  type DebugEvent,
  exceedsDepth,
  isValidConnectionId,
  isValidEventName,
  isValidRoomName,
  isValidUserId,
  type MessageEnvelope,
  type MessageSource,
  messageSize,
  RelaybaseError,
  type UserMessage,
  type WireError,
  wireError,
} from "@relaybase/protocol";
import { type DebugTap, debugPreview } from "./debug-tap.js";
import type { RetentionLimits, RoomHistory, StoredMessage } from "./history.js";
import { newMessageId } from "./keys.js";
import { connectionRoomKey, roomKey, userRoomKey } from "./rooms.js";
import type { AppRuntime } from "./tenant-directory.js";
import type { PublishObserver } from "./usage-meter.js";

/** Delivers an envelope to the sockets in a room, on this node or across the cluster. */
export interface Fanout {
  /**
   * `exceptRoom` (a `connectionRoomKey`) names the one connection that gets a `skip`
   * marker instead of the message.
   */
  deliver(roomKey: string, envelope: MessageEnvelope, exceptRoom?: string): void | Promise<void>;
  /** Sends `user.message` to every socket in a `userRoomKey` room, on every node. */
  deliverToUser(userKey: string, message: UserMessage): void | Promise<void>;
  /**
   * Sends `notice` to every socket in a `userRoomKey` room, then disconnects them (a
   * server-side disconnect: Socket.IO clients do not reconnect by themselves), on every node.
   */
  disconnectUser(userKey: string, notice: WireError): void | Promise<void>;
  /** Sends `debug` to the app's debug tail (its `debugRoomKey` room), on every node. */
  deliverDebug(appId: string, event: DebugEvent): void | Promise<void>;
}

export interface UserPublishInput {
  app: AppRuntime;
  userId: string;
  event: string;
  data: unknown;
  /** Passed through to every connection (not stored, so not deduplicated). */
  id?: string;
  /** The size `Publisher.validateContent` returned, when the caller validated already. */
  validatedSize?: number;
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
  /** A message of a REST batch (the debug tail says so). */
  batch?: boolean;
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
    /** The app's debug tail hears of each message published (docs/console.md). */
    private readonly debug?: DebugTap,
  ) {}

  /** Checks a message without publishing it; throws the code a client would get. Returns its size. */
  static validate(
    app: AppRuntime,
    room: string,
    event: string,
    data: unknown,
    exceptConnectionId?: string,
  ): number {
    if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
    if (exceptConnectionId !== undefined && !isValidConnectionId(exceptConnectionId)) {
      throw new RelaybaseError("INVALID_CONNECTION_ID");
    }
    return Publisher.validateContent(app, event, data);
  }

  /** The checks of `validate` that do not depend on a room: event name, depth, size. */
  static validateContent(app: AppRuntime, event: string, data: unknown): number {
    if (!isValidEventName(event)) throw new RelaybaseError("INVALID_EVENT_NAME");
    // Before measuring: encoding a deep enough value throws (and crashed Socket.IO's encoder).
    if (exceedsDepth(data)) throw new RelaybaseError("DATA_TOO_DEEP");
    const size = messageSize(data);
    if (size > app.limits.maxMessageBytes) {
      throw new RelaybaseError(
        "MESSAGE_TOO_LARGE",
        `The message is ${size} bytes; this app's limit is ${app.limits.maxMessageBytes}.`,
      );
    }
    return size;
  }

  /**
   * Publishes to one user on all their connections (`user.message`): counted as one
   * message published, like a room publish; stored in no history, so it has no offset.
   */
  async publishToUser(input: UserPublishInput): Promise<{ id: string }> {
    const { app, userId, event, data } = input;
    if (!isValidUserId(userId)) throw new RelaybaseError("INVALID_USER_ID");
    const bytes = input.validatedSize ?? Publisher.validateContent(app, event, data);
    const id = input.id ?? newMessageId();
    const message: UserMessage = { user: userId, event, data, id, ts: Date.now() };
    await this.fanout.deliverToUser(userRoomKey(app.appId, userId), message);
    this.observer?.published(app.appId, bytes);
    this.debug?.emit(app.appId, () => ({
      kind: "publish",
      source: "user",
      user: userId,
      event,
      size: bytes,
      ...debugPreview(data),
    }));
    return { id };
  }

  /** Ends every connection of one user on every node, with a `USER_DISCONNECTED` notice. */
  async disconnectUser(app: AppRuntime, userId: string): Promise<void> {
    if (!isValidUserId(userId)) throw new RelaybaseError("INVALID_USER_ID");
    await this.fanout.disconnectUser(userRoomKey(app.appId, userId), wireError("USER_DISCONNECTED"));
  }

  async publish(input: PublishInput): Promise<Published> {
    const { app, room, event, data } = input;
    const bytes = input.validatedSize ?? Publisher.validate(app, room, event, data, input.exceptConnectionId);
    const key = roomKey(app.appId, room);
    const id = input.id ?? newMessageId();
    const ts = Date.now();
    const message = { id, event, data, ts, ...(input.from ? { from: input.from } : {}) };
    const result = await this.history.append(key, message, retentionOf(app));
    const { offset, epoch } = result;
    let delivered: Omit<StoredMessage, "offset"> | undefined = message;
    if (result.duplicate) {
      // A retried id fans out the message stored first, under its first offset: that
      // attempt may have been stored but not delivered (a timeout, Redis lost between the
      // two steps), and subscribers drop offsets they already have. A reused id with
      // another body is a client bug: refused, so nobody sees two messages at one offset.
      delivered = result.stored;
      if (delivered && !sameContent(delivered, event, data)) {
        throw new RelaybaseError(
          "IDEMPOTENCY_CONFLICT",
          `Message id ${id} was already published to ${room} (offset ${offset}) with another event or data.`,
        );
      }
    } else {
      this.observer?.published(app.appId, bytes);
    }
    if (!delivered) return { id, offset, epoch };
    const envelope: MessageEnvelope = { room, ...delivered, offset, epoch };
    const except = input.exceptConnectionId;
    await this.fanout.deliver(key, envelope, except ? connectionRoomKey(app.appId, except) : undefined);
    if (!result.duplicate) {
      const from = input.from;
      this.debug?.emit(app.appId, () => ({
        kind: "publish",
        source: from ? "client" : input.batch ? "batch" : "rest",
        room,
        event,
        offset,
        epoch,
        size: bytes,
        ...debugPreview(data),
        ...(from ? { connectionId: from.connectionId } : {}),
        ...(from?.userId ? { userId: from.userId } : {}),
      }));
    }
    return { id, offset, epoch };
  }
}

/** Whether a retry carries what was stored first (data compared as JSON, as stored). */
function sameContent(stored: Omit<StoredMessage, "offset">, event: string, data: unknown): boolean {
  return stored.event === event && JSON.stringify(stored.data ?? null) === JSON.stringify(data ?? null);
}
