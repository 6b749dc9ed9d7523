import { createLogger, MemoryTenantDirectory } from "@relaybase/server-kit";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadControlPlaneConfig } from "../config.js";
import { type OpenedServices, openServices } from "../services.js";
import { createTestDatabase, DB_MODES, type TestDatabase, uniqueEmail } from "../testing/harness.js";
import type { Context } from "./context.js";
import { relaybaseCodeOf } from "./errors.js";
import { appRouter } from "./router.js";
import { createCallerFactory } from "./trpc.js";

const createCaller = createCallerFactory(appRouter);

/** The Relaybase code of a failed in-process call. */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    if (err instanceof TRPCError) return relaybaseCodeOf(err);
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe.each(DB_MODES)("router through createCaller (%s)", (mode) => {
  let database: TestDatabase;
  let opened: OpenedServices;
  const directory = new MemoryTenantDirectory();

  /** A caller with its own cookie, as one browser would have. */
  function browser() {
    let session: string | undefined;
    const logger = createLogger("control-plane-test", "silent");
    const ctx: Context = {
      services: opened.services,
      log: logger,
      ip: "203.0.113.7",
      cookie: {
        read: () => session,
        set: (token) => {
          session = token;
        },
        clear: () => {
          session = undefined;
        },
      },
    };
    return createCaller(ctx);
  }

  beforeAll(async () => {
    database = await createTestDatabase(mode);
    const config = loadControlPlaneConfig({ ...database.env, LOG_LEVEL: "silent" });
    opened = await openServices({ config, directory, logger: createLogger("control-plane-test", "silent") });
  });
  afterAll(async () => {
    await opened?.database.close();
    await database?.drop();
  });

  it("runs the console flow and maps errors to Relaybase codes", async () => {
    const caller = browser();
    expect(await codeOf(caller.auth.me())).toBe("UNAUTHENTICATED");
    await caller.auth.signup({ email: uniqueEmail(), password: "a long password" });
    const { app } = await caller.apps.create({ name: "In process", clientPublish: false });
    const { secret } = await caller.keys.create({ appId: app.id, kind: "secret", name: "s" });
    expect(await directory.bySecretKey(secret!)).toMatchObject({ appId: app.id, clientPublish: false });

    expect(await codeOf(browser().apps.get({ appId: app.id }))).toBe("UNAUTHENTICATED");
    expect(await codeOf(caller.apps.get({ appId: "app_nosuchapp" }))).toBe("NOT_FOUND");
    expect(await codeOf(caller.apps.get({ appId: "not an id" }))).toBe("BAD_REQUEST");
  });
});
