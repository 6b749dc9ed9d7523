import { defineConfig } from "vitest/config";

/**
 * How long a wait in the tests may take and how often it looks: every wait is
 * `expect.poll` (tests/fixtures.ts `poll`/`until`, or direct in packages' tests), and in
 * hooks, where `expect.poll` refuses to run, `until` reads the same values (`provide`).
 * Generous, because on a busy 2-core CI machine things take many times longer than on a
 * laptop, and waiting on a condition costs nothing when all is well.
 */
const poll = { timeout: 15_000, interval: 20 };

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers on port 0; files run in parallel processes.
    pool: "forks",
    expect: { poll },
    provide: { poll },
  },
});
