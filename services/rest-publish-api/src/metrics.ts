import { PublishMetrics, Registry } from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { Histogram } from "prom-client";

/**
 * The REST API's series (docs/self-hosting.md#metrics-and-alerts): the publish path's
 * shared ones (limit refusals, and, where this process stores messages, messages
 * published and history writes) and one histogram of requests by route and status.
 */
export class RestApiMetrics extends PublishMetrics {
  readonly requests: Histogram<"route" | "status">;

  constructor(registry: Registry = new Registry(), maxApps?: number) {
    super(registry, maxApps);
    this.requests = new Histogram({
      name: "relaybase_rest_request_duration_seconds",
      help: "REST API requests by route (the route's pattern, `unmatched` for unknown paths) and HTTP status.",
      labelNames: ["route", "status"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  /** Times every request; labels are the route pattern and status, both bounded. */
  instrument(app: FastifyInstance): void {
    // Each (route, status) child found once: a labelled `observe` hashes its labels every time.
    const children = new Map<string, { observe(value: number): void }>();
    app.addHook("onResponse", (req, reply, done) => {
      const route = req.routeOptions.url ?? "unmatched";
      const status = String(reply.statusCode);
      const key = `${status} ${route}`;
      let child = children.get(key);
      if (!child) {
        child = this.requests.labels(route, status);
        children.set(key, child);
      }
      child.observe(reply.elapsedTime / 1000);
      done();
    });
  }
}
