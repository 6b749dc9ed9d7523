import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A small TCP load balancer for local clusters and tests: each new connection goes to
 * the next backend in turn, skipping one that refuses. WebSocket needs no stickiness;
 * long-polling would (docs/scaling.md).
 */
export interface Balancer {
  url: string;
  port: number;
  /** Open connections per backend url (tests check how clients are spread). */
  connections(): Record<string, number>;
  close(): Promise<void>;
}

export async function startBalancer(backends: () => string[], port = 0): Promise<Balancer> {
  let next = 0;
  const open = new Set<Socket>();
  const perBackend = new Map<string, number>();
  const server: Server = createServer((inbound) => {
    open.add(inbound);
    inbound.on("close", () => open.delete(inbound));
    inbound.on("error", () => {});
    inbound.pause();
    const targets = backends();
    const tryBackend = (attempt: number) => {
      if (attempt >= targets.length || inbound.destroyed) return inbound.destroy();
      const target = targets[(next++ + attempt) % targets.length]!;
      const { hostname, port: targetPort } = new URL(target);
      const outbound = connect(Number(targetPort), hostname);
      outbound.once("error", () => {
        if (!outbound.readyState.startsWith("open")) tryBackend(attempt + 1);
        else inbound.destroy();
      });
      outbound.once("connect", () => {
        open.add(outbound);
        perBackend.set(target, (perBackend.get(target) ?? 0) + 1);
        outbound.on("close", () => {
          open.delete(outbound);
          perBackend.set(target, (perBackend.get(target) ?? 1) - 1);
          inbound.destroy();
        });
        inbound.on("close", () => outbound.destroy());
        inbound.pipe(outbound).pipe(inbound);
        inbound.resume();
      });
    };
    tryBackend(0);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    connections: () => Object.fromEntries(perBackend),
    async close() {
      for (const s of open) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
