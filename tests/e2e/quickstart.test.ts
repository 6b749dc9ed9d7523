import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The README's quickstart, run as a newcomer would: `npm start` in one process, the
 * quickstart file (which the README shows verbatim) in another, over real HTTP and
 * WebSocket.
 */
const root = new URL("../../", import.meta.url).pathname;
let platform: ChildProcess;
let output = "";
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "rb-quickstart-"));
  platform = spawn("npm", ["start"], {
    cwd: root,
    detached: true,
    env: { ...process.env, DATA_DIR: dataDir, CONTROL_PLANE_PORT: "0", REALTIME_PORT: "0", REST_PORT: "0" },
  });
  platform.stdout!.on("data", (chunk) => (output += chunk));
  platform.stderr!.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 60_000;
  while (!output.includes("REST publish API")) {
    if (Date.now() > deadline || platform.exitCode !== null) throw new Error(`npm start failed:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 90_000);

afterAll(async () => {
  if (platform.pid) process.kill(-platform.pid, "SIGTERM");
  await new Promise((r) => platform.once("exit", r));
  await rm(dataDir, { recursive: true, force: true });
});

const urlAfter = (label: string) => new RegExp(`${label}\\s+(http://\\S+)`).exec(output)?.[1];

describe("README quickstart", () => {
  it("npm start prints where to go and how to begin", () => {
    expect(urlAfter("Console \\+ control plane")).toMatch(/^http:\/\//);
    expect(urlAfter("Realtime \\(Socket.IO\\)")).toMatch(/^http:\/\//);
    expect(urlAfter("REST publish API")).toMatch(/^http:\/\//);
    expect(output).toContain(`Open ${urlAfter("Console \\+ control plane")} in your browser`);
  });

  it("the printed URL opens the console", async () => {
    const res = await fetch(urlAfter("Console \\+ control plane")!);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("<title>Relaybase console</title>");
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect((await fetch(new URL(script!, urlAfter("Console \\+ control plane")))).status).toBe(200);
  });

  it("the quickstart code signs up, connects, publishes and receives", async () => {
    const { stdout } = await promisify(execFile)(
      join(root, "node_modules/.bin/tsx"),
      ["examples/quickstart.ts"],
      {
        cwd: root,
        timeout: 60_000,
        env: {
          ...process.env,
          CP: urlAfter("Console \\+ control plane"),
          REALTIME: urlAfter("Realtime \\(Socket.IO\\)"),
          REST: urlAfter("REST publish API"),
        },
      },
    );
    expect(stdout.trim()).toBe('received {"text":"hello"}');
  });

  it("the README shows the quickstart file as it is", async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const example = await readFile(join(root, "examples/quickstart.ts"), "utf8");
    expect(readme).toContain(example.trim());
  });
});
