/**
 * What every benchmarked server process answers over IPC, whichever system it runs:
 * `{ type: "mem" }` → a full GC (the process runs with --expose-gc), then its RSS and heap;
 * `{ type: "exit" }` → a normal exit, so `--cpu-prof` gets to write its profile.
 */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
}

export function serveProbe(
  ready: Record<string, unknown>,
  onExit: () => Promise<void> = async () => {},
): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on("message", (m: { type?: string; id?: number }) => {
    if (m?.type === "mem") {
      // Twice: the first pass can leave objects that finalizers freed for the second.
      gc?.();
      gc?.();
      const u = process.memoryUsage();
      const sample: MemorySample = { rss: u.rss, heapUsed: u.heapUsed, external: u.external };
      process.send?.({ type: "mem", id: m.id, sample, gc: gc !== undefined });
    }
    if (m?.type === "exit") {
      onExit()
        .catch(() => {})
        .finally(() => process.exit(0));
    }
  });
  process.on("SIGTERM", () => {
    onExit()
      .catch(() => {})
      .finally(() => process.exit(0));
  });
  process.send?.({ type: "ready", ...ready });
}
