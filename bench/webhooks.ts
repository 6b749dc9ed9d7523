/**
 * Benchmark: webhook delivery (issue 11). One process: the control plane with its
 * dispatcher on Postgres, and fast local receivers (loopback HTTP, answering 204 at once).
 *
 * 1. Steady: events enter the outbox at a fixed rate, open loop (each event's `time` is
 *    when it was scheduled), for `--measure` ms; cause → delivery latency is receipt time
 *    minus that time (µs histogram), per run.
 * 2. Drain: `--backlog` events at once across the endpoints; deliveries per second until
 *    the last arrives (batched requests, one in flight per endpoint).
 * Baseline B0 (same run): the same receivers, the same signed bodies of `WEBHOOK_BATCH_MAX`
 * events, one request in flight per endpoint from a bare loop, no database: what the HTTP
 * path alone allows. Reported: drain ÷ B0.
 *
 *   npm run bench:webhooks -- [--endpoints 4] [--rate 500] [--measure 5000] [--backlog 20000]
 *     [--runs 3] [--max-load 1.5] [--wait-load 300] [--out bench/results/webhooks.json]
 *
 * Needs Postgres on 127.0.0.1:5432 (RB_TEST_POSTGRES_URL); creates and drops its own database.
 * Not pinned (one process holds everything): read the ratio, not the absolute figures.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type ControlPlane, createControlPlane, loadControlPlaneConfig } from "@relaybase/control-plane";
import type { WebhookBody } from "@relaybase/protocol";
import { createLogger, MemoryTenantDirectory, randomId, webhookEvent } from "@relaybase/server-kit";
import pg from "pg";
import { signatureHeaders } from "../services/control-plane/src/webhooks/signing.js";
import { machineFacts, parseArgs, sleep, waitForQuiet, writeResults } from "./lib/rig.js";
import { fmtUs, latencyHistogram, recordMs, spread, summarize } from "./lib/stats.js";

const args = parseArgs(process.argv.slice(2));
const endpoints = Number(args.endpoints ?? 4);
const rate = Number(args.rate ?? 500);
const measureMs = Number(args.measure ?? 5000);
const backlog = Number(args.backlog ?? 20_000);
const runs = Number(args.runs ?? 3);
const batchMax = 100;
const out = args.out ?? "bench/results/webhooks.json";
const adminUrl = process.env.RB_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

interface Receiver {
  url: string;
  server: Server;
  onEvents: (events: WebhookBody["events"], at: number) => void;
  requests: number;
}

async function receiver(): Promise<Receiver> {
  const r: Receiver = { url: "", server: createServer(), onEvents: () => {}, requests: 0 };
  r.server.on("request", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = Date.now();
      r.requests++;
      r.onEvents((JSON.parse(Buffer.concat(chunks).toString()) as WebhookBody).events, at);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => r.server.listen(0, "127.0.0.1", ok));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hooks`;
  return r;
}

async function trpc(base: string, path: string, input: unknown, cookie?: string) {
  const res = await fetch(`${base}/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(input),
  });
  const body = (await res.json()) as { result?: { data: unknown }; error?: unknown };
  if (!body.result) throw new Error(`${path}: ${JSON.stringify(body.error)}`);
  return { data: body.result.data as Record<string, unknown>, setCookie: res.headers.getSetCookie() };
}

const event = (appId: string, i: number, at: number) =>
  webhookEvent(
    "client.published",
    appId,
    {
      room: "bench:1",
      event: "tick",
      data: { i, pad: "x".repeat(64) },
      id: `m${i}`,
      offset: i,
      connectionId: "c",
    },
    at,
  );

async function main() {
  const facts = machineFacts();
  const load = await waitForQuiet(Number(args["max-load"] ?? 1.5), Number(args["wait-load"] ?? 300) * 1000);
  const dbName = `rb_bench_${randomId(10).toLowerCase()}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  const receivers = await Promise.all(Array.from({ length: endpoints }, () => receiver()));
  let cp: ControlPlane | undefined;
  try {
    const config = loadControlPlaneConfig({
      DATABASE_URL: dbUrl.toString(),
      DATA_DIR: "/tmp",
      LOG_LEVEL: "silent",
      WEBHOOK_ALLOW_HTTP: "true",
      WEBHOOK_ALLOW_PRIVATE_URLS: "true",
      WEBHOOK_BATCH_MAX: String(batchMax),
      WEBHOOK_POLL_MS: "50",
    });
    cp = await createControlPlane({
      config,
      directory: new MemoryTenantDirectory(),
      logger: createLogger("bench", "silent"),
    });
    const base = await cp.app.listen({ port: 0, host: "127.0.0.1" });
    const signup = await trpc(base, "auth.signup", {
      email: `bench-${randomId(6).toLowerCase()}@example.com`,
      password: "a long password",
    });
    const cookie = signup.setCookie.map((c) => c.split(";")[0]).join("; ");
    const { app } = (await trpc(base, "apps.create", { name: "bench" }, cookie)).data as {
      app: { id: string; orgId: string };
    };
    // The scale plan: 50 endpoints, 1 000 requests/s.
    const db = new pg.Client(dbUrl.toString());
    await db.connect();
    await db.query("update orgs set plan = 'scale' where id = $1", [app.orgId]);
    let secret = "";
    for (const r of receivers) {
      const made = await trpc(
        base,
        "webhooks.create",
        { appId: app.id, url: r.url, events: ["client.published"], clientRooms: ["bench:*"] },
        cookie,
      );
      secret = made.data.secret as string;
    }

    const results: Record<string, unknown>[] = [];
    for (let run = 1; run <= runs; run++) {
      // 1. Steady rate, open loop.
      const h = latencyHistogram();
      let got = 0;
      for (const r of receivers)
        r.onEvents = (events, at) => {
          for (const e of events) recordMs(h, at - Date.parse(e.time));
          got += events.length;
        };
      const start = Date.now();
      let sent = 0;
      while (Date.now() - start < measureMs) {
        const due = Math.floor(((Date.now() - start) / 1000) * rate);
        const batch = [];
        for (; sent < due; sent++) batch.push(event(app.id, sent, start + (sent / rate) * 1000));
        if (batch.length > 0) await cp.webhooks.ingest(batch);
        await sleep(5);
      }
      const expected = sent * endpoints;
      while (got < expected && Date.now() - start < measureMs + 30_000) await sleep(20);
      const steady = summarize(h);

      // 2. Drain a backlog.
      let drained = 0;
      const requestsBefore = receivers.reduce((n, r) => n + r.requests, 0);
      for (const r of receivers) r.onEvents = (events) => (drained += events.length);
      const t0 = performance.now();
      for (let i = 0; i < backlog; i += 1_000) {
        await cp.webhooks.ingest(
          Array.from({ length: Math.min(1_000, backlog - i) }, (_, k) =>
            event(app.id, 1e9 + run * 1e7 + i + k, Date.now()),
          ),
        );
      }
      while (drained < backlog * endpoints) await sleep(10);
      const drainS = (performance.now() - t0) / 1000;
      const drainRequests = receivers.reduce((n, r) => n + r.requests, 0) - requestsBefore;

      // B0: bare signed POSTs of full batches, one in flight per endpoint, no database.
      let b0Events = 0;
      for (const r of receivers) r.onEvents = (events) => (b0Events += events.length);
      const body = JSON.stringify({
        events: Array.from({ length: batchMax }, (_, i) => event(app.id, i, Date.now())),
      });
      const b0Start = performance.now();
      const perEndpoint = Math.ceil(backlog / batchMax);
      await Promise.all(
        receivers.map(async (r) => {
          for (let i = 0; i < perEndpoint; i++) {
            await fetch(r.url, {
              method: "POST",
              headers: {
                ...signatureHeaders({ secret }, `msg_${i}`, body),
                "content-type": "application/json",
              },
              body,
            });
          }
        }),
      );
      const b0S = (performance.now() - b0Start) / 1000;
      const result = {
        run,
        steady: { rate, endpoints, expected, delivered: got, latencyUs: steady },
        drain: {
          events: backlog * endpoints,
          seconds: drainS,
          perSecond: (backlog * endpoints) / drainS,
          requests: drainRequests,
        },
        b0: { events: b0Events, seconds: b0S, perSecond: b0Events / b0S },
      };
      results.push(result);
      console.error(
        `run ${run}: steady ${rate}/s × ${endpoints}: delivered ${got}/${expected}, p50 ${fmtUs(steady.p50)} p99 ${fmtUs(steady.p99)} max ${fmtUs(steady.max)}; ` +
          `drain ${Math.round(result.drain.perSecond)} events/s in ${drainRequests} requests; B0 ${Math.round(result.b0.perSecond)} events/s`,
      );
    }
    await db.end();
    const ratio = spread(
      results.map(
        (r) => (r.drain as { perSecond: number }).perSecond / (r.b0 as { perSecond: number }).perSecond,
      ),
    );
    const p50 = spread(results.map((r) => (r.steady as { latencyUs: { p50: number } }).latencyUs.p50));
    const p99 = spread(results.map((r) => (r.steady as { latencyUs: { p99: number } }).latencyUs.p99));
    const drain = spread(results.map((r) => (r.drain as { perSecond: number }).perSecond));
    console.log(
      `webhooks: drain ${Math.round(drain.median)} events/s (range ${Math.round(drain.min)}-${Math.round(drain.max)}), ` +
        `÷ B0 ${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)}); ` +
        `steady ${rate}/s × ${endpoints} endpoints: cause → delivery p50 ${fmtUs(p50.median)}, p99 ${fmtUs(p99.median)} (medians of ${runs})`,
    );
    writeResults(out, {
      facts,
      load,
      options: { endpoints, rate, measureMs, backlog, runs, batchMax },
      results,
      ratio,
      drain,
      p50,
      p99,
    });
  } finally {
    await cp?.close();
    for (const r of receivers) r.server.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
process.exit(0);
