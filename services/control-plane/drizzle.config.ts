import { defineConfig } from "drizzle-kit";

// `npm run db:generate -w @relaybase/control-plane` writes SQL migrations into ./drizzle;
// the service applies them at start with drizzle's migrator, on PGlite and Postgres alike.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
});
