import { RelaybaseError } from "@relaybase/protocol";
import type { FastifyInstance } from "fastify";

const READY_TIMEOUT_MS = 2_000;

/**
 * `/healthz`: the process is up. `/readyz`: the database answers, and so does Redis when
 * the control plane has one (`isReady`: it writes the tenant directory there). While the
 * server closes, Fastify answers 503 itself.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  ping: () => Promise<void>,
  isReady: () => boolean = () => true,
): void {
  app.get("/healthz", async () => ({ ok: true }));
  app.get("/readyz", async (request) => {
    if (!isReady()) throw new RelaybaseError("UNAVAILABLE", "Redis is not reachable.");
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("database ping timed out")), READY_TIMEOUT_MS);
        }),
      ]);
      return { ok: true };
    } catch (err) {
      request.log.warn({ err }, "not ready: database does not answer");
      throw new RelaybaseError("UNAVAILABLE", "The database does not answer.");
    } finally {
      clearTimeout(timer);
    }
  });
}
