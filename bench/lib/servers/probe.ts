/**
 * What every benchmarked server process answers over IPC, whichever system it runs:
 * `{ type: "mem" }` → a full GC (the process runs with --expose-gc), then its RSS and heap;
 * `{ type: "profile", file }` → starts V8's CPU profiler (what `node --cpu-prof` runs, here
 * through node:inspector so that one profile covers one benchmark path, not start-up), and
 * with `stop: true` writes it to `file`; `{ type: "exit" }` → a normal exit.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

let session: Session | undefined;

function post<T>(method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) =>
    session!.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))),
  );
}

async function profile(m: { stop?: boolean; file?: string }): Promise<void> {
  if (!m.stop) {
    session = new Session();
    session.connect();
    await post("Profiler.enable");
    await post("Profiler.setSamplingInterval", { interval: 200 });
    await post("Profiler.start");
    return;
  }
  if (!session) return;
  const { profile: p } = await post<{ profile: unknown }>("Profiler.stop");
  if (m.file) writeFileSync(m.file, JSON.stringify(p));
  session.disconnect();
  session = undefined;
}
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
    if (m?.type === "profile") {
      profile(m as { stop?: boolean; file?: string }).then(
        () => process.send?.({ type: "profiled", id: m.id }),
        (err: unknown) => process.send?.({ type: "profiled", id: m.id, error: String(err) }),
      );
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
