import { randomBytes } from "node:crypto";
import { Adapter, type BroadcastOptions, type PrivateSessionId, type Session } from "socket.io-adapter";

type SessionToPersist = Omit<Session, "missedPackets">;
/** What the base adapter answers for a session it cannot restore; Socket.IO then starts afresh. */
const NOT_RESTORED = Promise.resolve(null) as unknown as Promise<Session>;

/** socket.io-parser's PacketType.EVENT. */
const EVENT_PACKET = 2;
/** Trimmed slots tolerated before the array is compacted (and at least half of it). */
const COMPACT_AFTER = 1024;

export interface RecoveryBufferOptions {
  /** How long a dropped connection's session and the packets it may miss are kept (ms). */
  windowMs: number;
  /** Most broadcasts kept (ADAPTER_MAX_LEN, the cluster's stream length). */
  maxPackets: number;
  /** @default Date.now */
  now?: () => number;
}

interface KeptPacket {
  id: string;
  seq: number;
  at: number;
  rooms: string[];
  except: string[];
  /** The packet's data as sent (`[event, payload, id]`): replayed as it is. */
  data: unknown[];
}

interface KeptSession {
  session: SessionToPersist;
  at: number;
}

/**
 * Connection state recovery for a node without a cluster adapter (the all-in-one process):
 * what Socket.IO's in-memory `SessionAwareAdapter` does, with its buffer bounded. That
 * adapter keeps every broadcast, with its rooms as Sets, for the whole recovery window and
 * trims once a minute: up to three minutes of all tenants' traffic at ~1.9 KB per message
 * (190 MB after a minute at 1 500 messages/s), so enough publishing reaches the heap's
 * limit and the process dies, and long before that every message is copied into the old
 * generation and marked again by each major GC. Here:
 * - at most `maxPackets` broadcasts are kept, the same bound as a cluster's shared stream
 *   (ADAPTER_MAX_LEN): a client whose offset fell out is not recovered by Socket.IO and
 *   resumes from room history instead (docs/protocol.md, recovery layer 2), as after an
 *   expired session;
 * - packets and sessions older than the window go at once, oldest first, without a scan;
 * - rooms are kept as arrays, and a client's offset is found by arithmetic, not a scan.
 * Packet ids are this process's own, a random prefix and the packet's sequence number, so
 * an offset names its position; an id from another process or an older run of this one is
 * simply not found.
 */
export function recoveryAdapter(options: RecoveryBufferOptions) {
  const { windowMs, maxPackets } = options;
  const now = options.now ?? Date.now;
  return class RecoveryAdapter extends Adapter {
    readonly #prefix = `${randomBytes(6).toString("base64url")}-`;
    #nextSeq = 0;
    /** Oldest first from `head`; the trimmed slots before it are dropped in bulk. */
    #packets: (KeptPacket | undefined)[] = [];
    #head = 0;
    /** Insertion order is disconnection order, so the oldest are first. */
    readonly #sessions = new Map<PrivateSessionId, KeptSession>();

    override broadcast(packet: { type: number; id?: number; data: unknown[] }, opts: BroadcastOptions): void {
      // What Socket.IO keeps: events without an ack (it cannot be replayed) that are not volatile.
      if (packet.type === EVENT_PACKET && packet.id === undefined && opts.flags?.volatile === undefined) {
        const at = now();
        this.#expire(at);
        const seq = this.#nextSeq++;
        const id = this.#prefix + seq.toString(36);
        // The client reads the last element as its offset (Socket.IO's format).
        packet.data.push(id);
        this.#packets.push({
          id,
          seq,
          at,
          rooms: [...opts.rooms],
          except: opts.except ? [...opts.except] : [],
          data: packet.data,
        });
        if (this.#packets.length - this.#head > maxPackets) this.#dropOldest();
      }
      super.broadcast(packet, opts);
    }

    override persistSession(session: SessionToPersist): void {
      const at = now();
      this.#expire(at);
      // Re-inserted, so that the map stays in disconnection order.
      this.#sessions.delete(session.pid);
      this.#sessions.set(session.pid, { session, at });
    }

    override restoreSession(pid: PrivateSessionId, offset: string): Promise<Session> {
      this.#expire(now());
      const kept = this.#sessions.get(pid);
      // Kept until it expires, as Socket.IO does: a restore the middleware then refuses (an
      // expired token) can be tried again with fresh credentials.
      if (!kept) return NOT_RESTORED;
      const at = this.#positionOf(offset);
      if (at === undefined) return NOT_RESTORED;
      const { rooms } = kept.session;
      const missedPackets: unknown[][] = [];
      for (let i = at + 1; i < this.#packets.length; i++) {
        const p = this.#packets[i]!;
        const included = p.rooms.length === 0 || rooms.some((room) => p.rooms.includes(room));
        if (included && !rooms.some((room) => p.except.includes(room))) missedPackets.push(p.data);
      }
      return Promise.resolve({ ...kept.session, missedPackets });
    }

    /** Packets kept now (for tests and the docs' figures). */
    get keptPackets(): number {
      return this.#packets.length - this.#head;
    }

    /** Where the packet with this id is kept, if it still is (the offset is the client's input). */
    #positionOf(offset: unknown): number | undefined {
      const oldest = this.#packets[this.#head];
      if (typeof offset !== "string" || !oldest || !offset.startsWith(this.#prefix)) return undefined;
      const i = this.#head + (Number.parseInt(offset.slice(this.#prefix.length), 36) - oldest.seq);
      return i >= this.#head && i < this.#packets.length && this.#packets[i]!.id === offset ? i : undefined;
    }

    #expire(at: number): void {
      const threshold = at - windowMs;
      while (this.#head < this.#packets.length && this.#packets[this.#head]!.at < threshold)
        this.#dropOldest();
      for (const [pid, kept] of this.#sessions) {
        if (kept.at >= threshold) break;
        this.#sessions.delete(pid);
      }
    }

    #dropOldest(): void {
      this.#packets[this.#head] = undefined;
      this.#head++;
      if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#packets.length) {
        this.#packets = this.#packets.slice(this.#head);
        this.#head = 0;
      }
    }
  };
}
