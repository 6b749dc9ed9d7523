/**
 * The noisy neighbour: POSTs to its own app's publish endpoint, open loop, at a fixed
 * rate (10× its plan's REST limit), counting answers by status; its own subscribers count
 * what got through. Pinned to the generator core by runPinned.
 */
import { io, type Socket } from "socket.io-client";
import { httpAgent, postJson, runOpenLoop } from "./open-loop.js";
import type { FlooderConfig, FlooderResult } from "./types.js";

const config = JSON.parse(process.argv[2]!) as FlooderConfig;

async function main() {
  const sockets: Socket[] = [];
  let delivered = 0;
  for (const spec of config.subscribers) {
    const socket = io(spec.url, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      ...(spec.auth ? { auth: spec.auth } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    const ack = (await socket.timeout(10_000).emitWithAck("subscribe", { room: config.room })) as {
      ok: boolean;
    };
    if (!ack.ok) throw new Error(`flooder subscribe failed: ${JSON.stringify(ack)}`);
    socket.on("message", () => delivered++);
    sockets.push(socket);
  }

  const agent = httpAgent(128);
  const url = new URL(config.publishUrl);
  const statuses: Record<string, number> = {};
  let httpErrors = 0;
  let inFlight = 0;
  const count = Math.round((config.rate * config.durationMs) / 1000);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await runOpenLoop({
    rate: config.rate,
    count,
    startAt: performance.now(),
    send(seq) {
      inFlight++;
      postJson(
        agent,
        url,
        config.headers,
        JSON.stringify({ room: config.room, event: "flood", data: { n: seq } }),
        (status) => {
          inFlight--;
          if (status === null) httpErrors++;
          else statuses[status] = (statuses[status] ?? 0) + 1;
        },
      );
    },
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const until = performance.now() + 3000;
  while (inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  for (const s of sockets) s.close();
  agent.destroy();
  const result: FlooderResult = {
    sent: count,
    statuses,
    httpErrors,
    delivered,
    cpu: (cpu.user + cpu.system) / 1000 / wallMs,
    wallMs,
  };
  process.send?.({ type: "result", result });
  process.disconnect?.();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
