/**
 * Open-loop publishing (shared/BENCH.md rule 2): message n is due at `startAt + n / rate`
 * whatever happened to the ones before it. A late timer sends every message that is due at
 * once, each stamped with its own scheduled time, so a stall in the generator or the
 * server shows up as latency instead of as a lower send rate (no coordinated omission).
 */
import { Agent, request } from "node:http";

export function runOpenLoop(options: {
  rate: number;
  count: number;
  /** performance.now() time of message 0. */
  startAt: number;
  send: (seq: number, scheduledAt: number) => void;
}): Promise<void> {
  const { rate, count, startAt, send } = options;
  const interval = 1000 / rate;
  return new Promise((resolve) => {
    let seq = 0;
    const tick = () => {
      const now = performance.now();
      while (seq < count && startAt + seq * interval <= now) {
        send(seq, startAt + seq * interval);
        seq++;
      }
      if (seq >= count) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, startAt + seq * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, startAt - performance.now()));
  });
}

/** Keep-alive HTTP/1.1 connections; requests beyond `maxSockets` queue in the agent (and count as latency). */
export function httpAgent(maxSockets = 64): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

/** POSTs a JSON body; calls `done` with the status, or null on a network error. */
export function postJson(
  agent: Agent,
  url: URL,
  headers: Record<string, string>,
  body: string,
  done: (status: number | null) => void,
): void {
  const req = request(
    url,
    {
      method: "POST",
      agent,
      headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    },
    (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode ?? 0));
      res.on("error", () => done(null));
    },
  );
  req.on("error", () => done(null));
  req.end(body);
}
