import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers on port 0; files run in parallel processes.
    pool: "forks",
    // Every wait in the tests is `expect.poll` (tests/fixtures.ts `poll`/`until`, or
    // direct in packages' tests): generous, because on a busy 2-core CI machine things take
    // many times longer than on a laptop, and waiting on a condition costs nothing when
    // all is well.
    expect: { poll: { timeout: 15_000, interval: 20 } },
  },
});
