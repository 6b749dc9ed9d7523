/**
 * A client in another language: examples/python/subscribe.py with python-socketio 5.7
 * (Debian's python3-socketio; .ci/run installs it) against the real platform. It is the
 * example docs/protocol.md shows, run as is.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

const script = fileURLToPath(new URL("../../examples/python/subscribe.py", import.meta.url));
/** Debian's interpreter, which has Debian's python3-socketio (a pyenv python may not). */
const PYTHON = "/usr/bin/python3";

let p: TestPlatform;
let dev: Awaited<ReturnType<TestPlatform["developer"]>>;
const children: ChildProcess[] = [];
beforeAll(async () => {
  p = await startTestPlatform();
  dev = await p.developer();
});
afterAll(async () => {
  for (const c of children) c.kill();
  await p.close();
});

/** Runs the example; `lines` fills with what it prints, one parsed JSON object per line. */
function runExample(...args: string[]) {
  const child = spawn(PYTHON, [script, p.urls.realtime, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const lines: Record<string, any>[] = [];
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(JSON.parse(line)));
  return { lines, stderr: () => stderr };
}

describe("a Python client (python-socketio)", () => {
  it("subscribes and receives every message, the recovery offset argument notwithstanding", async () => {
    const py = runExample(dev.publishableKey, "public:py");
    await poll("the subscribe ack", () => py.lines[0]).toMatchObject({ subscribed: { ok: true } });
    for (const n of [1, 2, 3]) await dev.server.publish({ room: "public:py", event: "tick", data: { n } });
    // python-socketio runs each event's handler in a thread of its own (engineio's
    // run_async): they can finish out of order, which is why clients order by offset.
    await poll("the three messages", () =>
      py.lines
        .filter((l) => l.message)
        .map((l) => [l.message.offset, l.message.data.n])
        .sort((a, b) => a[0] - b[0]),
    ).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(py.stderr()).not.toMatch(/Traceback|TypeError/);
  });

  it("sees a refused handshake's code in connect_error's data", async () => {
    const py = runExample("pk_not_a_real_key", "public:py");
    await poll("the refusal", () => py.lines[0]).toEqual({ refused: "INVALID_KEY" });
  });
});
