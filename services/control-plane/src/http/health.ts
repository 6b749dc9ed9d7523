import { RelaybaseError } from "@relaybase/protocol";
import { errorResponses, type ZodTypeProvider } from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";

const READY_TIMEOUT_MS = 2_000;

/**
 * `/healthz`: the process is up. `/readyz`: the database answers, and so does Redis when
 * the control plane has one (`isReady`: it writes the tenant directory there). While the
 * server closes, Fastify answers 503 itself.
 */
const ok = z.object({ ok: z.literal(true) }).describe("Yes.");

export function registerHealthRoutes(
  server: FastifyInstance,
  ping: () => Promise<void>,
  isReady: () => boolean = () => true,
): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  app.get("/healthz", { schema: { summary: "The process is up", response: { 200: ok } } }, async () => ({
    ok: true as const,
  }));
  const ready = {
    summary: "Ready for traffic: the database answers (and Redis, with REDIS_URL)",
    response: { 200: ok, ...errorResponses("UNAVAILABLE") },
  };
  app.get("/readyz", { schema: ready }, async (request) => {
    if (!isReady()) throw new RelaybaseError("UNAVAILABLE", "Redis is not reachable.");
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("database ping timed out")), READY_TIMEOUT_MS);
        }),
      ]);
      return { ok: true as const };
    } catch (err) {
      request.log.warn({ err }, "not ready: database does not answer");
      throw new RelaybaseError("UNAVAILABLE", "The database does not answer.");
    } finally {
      clearTimeout(timer);
    }
  });
}
