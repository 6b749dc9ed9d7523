import { createRedisClient, RedisRateLimiter } from "@relaybase/redis-kit";
import { createLogger, MemoryTenantDirectory, randomId } from "@relaybase/server-kit";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadControlPlaneConfig } from "../../../config.js";
import { type OpenedServices, openServices } from "../../../services.js";
import {
  consoleClient,
  createTestDatabase,
  DB_MODES,
  relaybaseCodeOf,
  SHARED_REDIS_URL,
  startControlPlane,
  type TestDatabase,
  uniqueEmail,
  useControlPlane,
} from "../../../testing/harness.js";
import type { Context } from "../../context.js";
import { relaybaseCodeOf as codeOfTRPCError } from "../../errors.js";
import { appRouter } from "../../router.js";
import { createCallerFactory } from "../../trpc.js";

const createCaller = createCallerFactory(appRouter);
const PASSWORD = "correct horse battery";

/** The Relaybase code and retryAfter of a failed in-process call. */
async function refusalOf(call: Promise<unknown>): Promise<{ code: string; retryAfter: number | undefined }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof TRPCError) {
      const retryAfter = (err.cause as { retryAfter?: number } | undefined)?.retryAfter;
      return { code: codeOfTRPCError(err), retryAfter };
    }
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe.each(DB_MODES)("sessions and auth limits through createCaller (%s)", (mode) => {
  let database: TestDatabase;
  let opened: OpenedServices;

  /** A caller from one address with its own cookie, as one browser would have. */
  function browser(ip = "203.0.113.7") {
    const jar = { session: undefined as string | undefined };
    const ctx: Context = {
      services: opened.services,
      log: createLogger("control-plane-test", "silent"),
      ip,
      cookie: {
        read: () => jar.session,
        set: (token) => {
          jar.session = token;
        },
        clear: () => {
          jar.session = undefined;
        },
      },
    };
    return { caller: createCaller(ctx), jar };
  }

  beforeAll(async () => {
    database = await createTestDatabase(mode);
    const config = loadControlPlaneConfig({ ...database.env, LOG_LEVEL: "silent", SIGNUPS_PER_HOUR: "2" });
    opened = await openServices({
      config,
      directory: new MemoryTenantDirectory(),
      logger: createLogger("control-plane-test", "silent"),
    });
  });
  afterAll(async () => {
    await opened?.database.close();
    await database?.drop();
  });

  it("refuses a signup over SIGNUPS_PER_HOUR from one address with RATE_LIMITED and retryAfter", async () => {
    const ip = "198.51.100.10";
    await browser(ip).caller.auth.signup({ email: uniqueEmail(), password: PASSWORD });
    await browser(ip).caller.auth.signup({ email: uniqueEmail(), password: PASSWORD });
    const email = uniqueEmail("refused");
    const refusal = await refusalOf(browser(ip).caller.auth.signup({ email, password: PASSWORD }));
    expect(refusal.code).toBe("RATE_LIMITED");
    expect(refusal.retryAfter).toBeGreaterThan(0);
    expect(refusal.retryAfter).toBeLessThanOrEqual(3600);
    // Nothing was made for the refused signup: the email is still free, from another address.
    await expect(
      browser("198.51.100.11").caller.auth.signup({ email, password: PASSWORD }),
    ).resolves.toBeTruthy();
  });

  it("logout ends the session for every copy of the cookie, and only that session", async () => {
    const email = uniqueEmail();
    const laptop = browser("198.51.100.20");
    await laptop.caller.auth.signup({ email, password: PASSWORD });
    const phone = browser("198.51.100.20");
    await phone.caller.auth.login({ email, password: PASSWORD });

    const stolen = browser("192.0.2.66");
    stolen.jar.session = laptop.jar.session;
    expect((await stolen.caller.auth.me()).user.email).toBe(email);

    await laptop.caller.auth.logout();
    expect(laptop.jar.session).toBeUndefined();
    expect((await refusalOf(stolen.caller.auth.me())).code).toBe("UNAUTHENTICATED");
    expect((await refusalOf(stolen.caller.apps.list())).code).toBe("UNAUTHENTICATED");
    // The user's other session (another device) is not affected.
    expect((await phone.caller.auth.me()).user.email).toBe(email);
  });
});

describe.each(DB_MODES)("sessions and auth limits over HTTP (%s)", (mode) => {
  const cp = useControlPlane(mode, { SIGNUPS_PER_HOUR: "2" });

  it("a session cookie captured before logout is refused after it", async () => {
    const { client, jar } = consoleClient(cp.server.url);
    await client.auth.signup.mutate({ email: uniqueEmail(), password: PASSWORD });
    const captured = jar.session;
    expect(captured).toBeTruthy();
    const withCaptured = () =>
      fetch(`${cp.server.url}/trpc/auth.me`, { headers: { cookie: `rb_session=${captured}` } });
    expect((await withCaptured()).status).toBe(200);

    await client.auth.logout.mutate();
    expect(jar.session).toBeUndefined();

    const res = await withCaptured();
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { data: { relaybaseCode: string } } };
    expect(body.error.data.relaybaseCode).toBe("UNAUTHENTICATED");
    // Logging out again with the dead cookie is harmless.
    const again = await fetch(`${cp.server.url}/trpc/auth.logout`, {
      method: "POST",
      headers: { cookie: `rb_session=${captured}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(again.status).toBe(200);
  });

  it("refuses signups over the limit with 429 RATE_LIMITED and Retry-After", async () => {
    // Every request in this suite comes from 127.0.0.1; the test above used one signup.
    const signup = () =>
      fetch(`${cp.server.url}/trpc/auth.signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: uniqueEmail(), password: PASSWORD }),
      });
    let res = await signup();
    expect(res.status).toBe(200);
    res = await signup();
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    const body = (await res.json()) as {
      error: { data: { relaybaseCode: string; retry: string; retryAfter: number } };
    };
    expect(body.error.data).toMatchObject({ relaybaseCode: "RATE_LIMITED", retry: "backoff", retryAfter });
    expect(res.headers.getSetCookie().some((c) => c.startsWith("rb_session="))).toBe(false);
  });
});

// The client address is an HTTP matter; one database mode is enough.
describe("signup limit behind a reverse proxy (TRUST_PROXY=1, pglite)", () => {
  const cp = useControlPlane("pglite", { SIGNUPS_PER_HOUR: "1", TRUST_PROXY: "1" });
  const signupFrom = (forwardedFor: string) =>
    fetch(`${cp.server.url}/trpc/auth.signup`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
      body: JSON.stringify({ email: uniqueEmail("proxied"), password: PASSWORD }),
    });

  it("counts per client address the proxy saw, not per proxy", async () => {
    expect((await signupFrom("198.51.100.1")).status).toBe(200);
    expect((await signupFrom("198.51.100.2")).status).toBe(200);
    expect((await signupFrom("198.51.100.1")).status).toBe(429);
    // Only the last hop is trusted: a client cannot pick its address by prepending one.
    expect((await signupFrom("203.0.113.9, 198.51.100.2")).status).toBe(429);
  });
});

// Replicas of the control plane share Postgres and Redis; PGlite is one process's own
// database, so there is no PGlite cluster to test.
describe("login limit shared by two control planes on one Redis (postgres)", () => {
  let database: TestDatabase;
  const redis = createRedisClient(SHARED_REDIS_URL, { name: "control-plane-auth-limit-test" });
  const prefix = `rb-test-${randomId(8)}:`;
  const running: Awaited<ReturnType<typeof startControlPlane>>[] = [];

  beforeAll(async () => {
    await redis.connect();
    database = await createTestDatabase("postgres");
    for (let i = 0; i < 2; i++) {
      running.push(
        await startControlPlane(database, {}, { rateLimiter: new RedisRateLimiter(redis, { prefix }) }),
      );
    }
  });
  afterAll(async () => {
    for (const cp of running) await cp.close();
    await database?.drop();
    if (redis.isOpen) {
      for await (const key of redis.scanIterator({ MATCH: `${prefix}*` })) await redis.del(key);
      await redis.quit();
    }
  });

  it("counts attempts on either replica against one budget", async () => {
    const [a, b] = running as [(typeof running)[0], (typeof running)[0]];
    const email = uniqueEmail("replicas");
    await consoleClient(a.url).client.auth.signup.mutate({ email, password: PASSWORD });
    const onA = consoleClient(a.url).client;
    const onB = consoleClient(b.url).client;
    // 10 attempts a minute (the default), split over the two replicas.
    for (let i = 0; i < 10; i++) {
      const replica = i % 2 === 0 ? onA : onB;
      expect(await relaybaseCodeOf(replica.auth.login.mutate({ email, password: "wrong guess" }))).toBe(
        "INVALID_CREDENTIALS",
      );
    }
    // Each replica has seen only 5, yet both refuse, the right password included.
    expect(await relaybaseCodeOf(onA.auth.login.mutate({ email, password: PASSWORD }))).toBe("RATE_LIMITED");
    expect(await relaybaseCodeOf(onB.auth.login.mutate({ email, password: PASSWORD }))).toBe("RATE_LIMITED");
    const res = await fetch(`${b.url}/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The budget is in Redis, under this test's prefix.
    const keys: string[] = [];
    for await (const key of redis.scanIterator({ MATCH: `${prefix}*cp-login*` })) keys.push(key);
    expect(keys).toHaveLength(1);
  });
});
