import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const guards = fileURLToPath(new URL("./process-guards.ts", import.meta.url));

describe("guardProcess", () => {
  it("keeps a process running after an unhandled rejection, logged and counted", async () => {
    // A real process: Node's default for an unhandled rejection is to exit with code 1.
    const script = `
      import { guardProcess, unhandledRejectionCount } from ${JSON.stringify(guards)};
      const logged = [];
      guardProcess({ error: (obj, msg) => logged.push(msg) });
      Promise.reject(new Error("nobody handles this"));
      setTimeout(() => console.log(JSON.stringify({ count: unhandledRejectionCount(), logged })), 50);
    `;
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
    expect(JSON.parse(stdout)).toEqual({
      count: 1,
      logged: ["unhandled promise rejection (process kept running)"],
    });
  });
});
