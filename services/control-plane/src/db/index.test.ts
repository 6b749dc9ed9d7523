import { readFileSync } from "node:fs";
import { asc } from "drizzle-orm";
import { integer, pgSchema } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, DB_MODES, type TestDatabase } from "../testing/harness.js";
import { openDatabase } from "./index.js";
import { plans } from "./schema.js";

/** drizzle's own record of applied migrations. */
const appliedMigrations = pgSchema("drizzle").table("__drizzle_migrations", { id: integer("id") });

const journal = JSON.parse(
  readFileSync(new URL("../../drizzle/meta/_journal.json", import.meta.url), "utf8"),
) as {
  entries: unknown[];
};

describe.each(DB_MODES)("database (%s)", (mode) => {
  let database: TestDatabase;
  const open = () => openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR });

  beforeAll(async () => {
    database = await createTestDatabase(mode);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("migrates a new database and seeds the three plans", async () => {
    const { db, driver, close } = await open();
    try {
      expect(driver).toBe(mode);
      const rows = await db.select().from(plans).orderBy(asc(plans.id));
      expect(rows).toEqual([{ id: "free" }, { id: "pro" }, { id: "scale" }]);
    } finally {
      await close();
    }
  });

  it("re-running the migrations on reopen is a no-op", async () => {
    for (let i = 0; i < 2; i++) {
      const { db, ping, close } = await open();
      try {
        await ping();
        expect(await db.$count(appliedMigrations)).toBe(journal.entries.length);
        expect(await db.$count(plans)).toBe(3);
      } finally {
        await close();
      }
    }
  });
});
