/**
 * What the app's webhook endpoints were last told about each room: occupied or not
 * (docs/webhooks.md#room-events). Nodes decide a room's state from the cluster-wide
 * occupancy count; this store makes each change announced once, whichever node sees it:
 * `set` answers true only for the caller that changed the state. In memory when
 * embedded; in Redis in a cluster (redis-kit `RedisRoomStates`).
 */
export interface RoomStates {
  /** Records the room as occupied or vacated; true when that changed the recorded state. */
  set(appId: string, room: string, occupied: boolean): Promise<boolean>;
  /** Every room recorded as occupied (the sweep that finds rooms a dead node left). */
  occupied(): AsyncIterable<{ appId: string; room: string }>;
  /** One sweeper at a time across the cluster: true when this node may sweep for `ms`. */
  takeSweep(nodeId: string, ms: number): Promise<boolean>;
}

export class MemoryRoomStates implements RoomStates {
  readonly #occupied = new Set<string>();

  async set(appId: string, room: string, occupied: boolean): Promise<boolean> {
    const key = `${appId}|${room}`;
    if (occupied === this.#occupied.has(key)) return false;
    if (occupied) this.#occupied.add(key);
    else this.#occupied.delete(key);
    return true;
  }

  async *occupied(): AsyncIterable<{ appId: string; room: string }> {
    for (const key of [...this.#occupied]) {
      const at = key.indexOf("|");
      yield { appId: key.slice(0, at), room: key.slice(at + 1) };
    }
  }

  async takeSweep(): Promise<boolean> {
    return true;
  }
}
