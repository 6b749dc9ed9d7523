/**
 * Connections per app across the cluster (DESIGN §6). A node counts its own sockets;
 * the cluster view must not drift when a node dies without saying goodbye, so the Redis
 * implementation publishes each node's counts under a lease that expires with the node.
 */
export interface ConnectionCounter {
  opened(appId: string): void;
  closed(appId: string): void;
  /** Connections of this app on every live node. */
  count(appId: string): Promise<number>;
  /**
   * A stricter, costlier count for a would-be refusal: leaves out nodes known to be dead
   * before their lease expires. Absent where `count` is already exact (one process).
   */
  liveCount?(appId: string): Promise<number>;
  close(): Promise<void>;
}

/** One process: the local count is the whole count. */
export class MemoryConnectionCounter implements ConnectionCounter {
  protected readonly local = new Map<string, number>();

  opened(appId: string): void {
    this.local.set(appId, (this.local.get(appId) ?? 0) + 1);
  }

  closed(appId: string): void {
    const next = (this.local.get(appId) ?? 0) - 1;
    if (next > 0) this.local.set(appId, next);
    else this.local.delete(appId);
  }

  async count(appId: string): Promise<number> {
    return this.local.get(appId) ?? 0;
  }

  /** This process's connections per app (the whole count when embedded; usage peaks). */
  localCounts(): Map<string, number> {
    return new Map(this.local);
  }

  async close(): Promise<void> {}
}
