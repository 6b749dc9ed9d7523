import { randomUUID } from "node:crypto";
import {
  type Logger,
  parseRoomKey,
  type RoomOccupancy,
  type RoomStates,
  type TenantDirectory,
  type WebhookEmitter,
  webhookEvent,
} from "@relaybase/server-kit";
import type { RealtimeServer } from "./types.js";

export interface RoomWebhooksOptions {
  occupancy: RoomOccupancy;
  states: RoomStates;
  directory: TenantDirectory;
  emitter: WebhookEmitter;
  /** A room is judged this long after its last local change: a quick reconnect sends neither event. */
  debounceMs: number;
  /** How often one node (of the cluster) re-checks rooms announced occupied: a dead node's rooms. */
  sweepMs: number;
  logger: Pick<Logger, "warn">;
}

/**
 * `room.occupied` and `room.vacated` (docs/webhooks.md#room-events), cluster-wide. When a
 * room's count on this node goes 0 → 1 or 1 → 0, the room is judged `debounceMs` later from
 * the cluster-wide count (`RoomOccupancy.subscribers`) against what was last announced
 * (`RoomStates`, which lets exactly one node announce a change). A node that dies sends no
 * leave: every `sweepMs` one node re-checks the rooms announced occupied, and an empty one
 * (its node's lease lapsed, its counts gone) is judged like any other, after the debounce.
 * Only apps whose endpoints want these events are followed.
 */
export class RoomWebhooks {
  readonly #o: RoomWebhooksOptions;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #sweep: NodeJS.Timeout;
  readonly #nodeId = randomUUID();
  #closed = false;

  constructor(io: RealtimeServer, options: RoomWebhooksOptions) {
    this.#o = options;
    // After the occupancy counter's listeners (registered first), so `local` is up to date.
    const adapter = io.of("/").adapter;
    adapter.on("join-room", (key: string) => this.#changed(key, 1));
    adapter.on("leave-room", (key: string) => this.#changed(key, 0));
    this.#sweep = setInterval(() => void this.#sweepOnce(), options.sweepMs);
    this.#sweep.unref();
  }

  #changed(key: string, edge: 0 | 1): void {
    const parsed = parseRoomKey(key);
    if (!parsed || this.#o.occupancy.local(parsed.appId, parsed.room) !== edge) return;
    void this.#wanted(parsed.appId).then((wanted) => {
      if (wanted) this.#schedule(parsed.appId, parsed.room);
    });
  }

  async #wanted(appId: string): Promise<boolean> {
    try {
      const events = (await this.#o.directory.byId(appId))?.webhooks?.events ?? [];
      return events.includes("room.occupied") || events.includes("room.vacated");
    } catch {
      return false;
    }
  }

  #schedule(appId: string, room: string): void {
    if (this.#closed) return;
    const key = `${appId}|${room}`;
    clearTimeout(this.#timers.get(key));
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      void this.#judge(appId, room);
    }, this.#o.debounceMs);
    timer.unref();
    this.#timers.set(key, timer);
  }

  async #judge(appId: string, room: string): Promise<void> {
    try {
      const subscribers = await this.#o.occupancy.subscribers(appId, room);
      const occupied = subscribers > 0;
      if (!(await this.#o.states.set(appId, room, occupied))) return;
      const events = (await this.#o.directory.byId(appId))?.webhooks?.events ?? [];
      if (occupied && events.includes("room.occupied")) {
        this.#o.emitter.emit(webhookEvent("room.occupied", appId, { room, subscribers }));
      } else if (!occupied && events.includes("room.vacated")) {
        this.#o.emitter.emit(webhookEvent("room.vacated", appId, { room }));
      }
    } catch (err) {
      // Unknown now; judged again at the next change or sweep.
      this.#o.logger.warn({ err, appId }, "room occupancy webhook check failed");
    }
  }

  async #sweepOnce(): Promise<void> {
    try {
      if (this.#closed || !(await this.#o.states.takeSweep(this.#nodeId, this.#o.sweepMs))) return;
      for await (const { appId, room } of this.#o.states.occupied()) {
        if (this.#closed) return;
        if (this.#timers.has(`${appId}|${room}`)) continue;
        if ((await this.#o.occupancy.subscribers(appId, room)) === 0) this.#schedule(appId, room);
      }
    } catch (err) {
      this.#o.logger.warn({ err }, "room occupancy webhook sweep failed");
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
