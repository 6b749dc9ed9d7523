/**
 * Connections per app across the cluster (DESIGN §6). A node counts its own sockets;
 * the cluster view must not drift when a node dies without saying goodbye, so the Redis
 * implementation publishes each node's counts under a lease that expires with the node.
 */
export interface ConnectionCounter {
  opened(appId: string): void;
  closed(appId: string): void;
  /** This process's connections of this app, now. */
  local(appId: string): number;
  /** Connections of this app on every other live node (0 with one process). */
  elsewhere(appId: string): Promise<number>;
  /**
   * A stricter, costlier `elsewhere` for a would-be refusal: leaves out nodes known to
   * be dead before their lease expires. Absent where `elsewhere` is already exact.
   */
  liveElsewhere?(appId: string): Promise<number>;
  /** Connections of this app on every live node: `elsewhere` + `local`. */
  count(appId: string): Promise<number>;
  close(): Promise<void>;
}

/** One process: the local count is the whole count. */
export class MemoryConnectionCounter implements ConnectionCounter {
  protected readonly localByApp = new Map<string, number>();

  opened(appId: string): void {
    this.localByApp.set(appId, (this.localByApp.get(appId) ?? 0) + 1);
  }

  closed(appId: string): void {
    const next = (this.localByApp.get(appId) ?? 0) - 1;
    if (next > 0) this.localByApp.set(appId, next);
    else this.localByApp.delete(appId);
  }

  local(appId: string): number {
    return this.localByApp.get(appId) ?? 0;
  }

  async elsewhere(_appId: string): Promise<number> {
    return 0;
  }

  async count(appId: string): Promise<number> {
    return this.local(appId) + (await this.elsewhere(appId));
  }

  /** This process's connections per app (the whole count when embedded; usage peaks). */
  localCounts(): Map<string, number> {
    return new Map(this.localByApp);
  }

  async close(): Promise<void> {}
}
