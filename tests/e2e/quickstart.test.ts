import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/cluster/processes.js";
import { until } from "../fixtures.js";

/**
 * The README's quickstart, run as a newcomer would: `npm start` in one process, the
 * quickstart file (which the README shows verbatim) in another, over real HTTP and
 * WebSocket. The control plane runs on a port of its own choosing (not 4000), as a
 * developer who moves it would, with PUBLIC_URL unset.
 */
const root = new URL("../../", import.meta.url).pathname;
let platform: ChildProcess;
let output = "";
let dataDir: string;
let controlPlanePort: number;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "rb-quickstart-"));
  controlPlanePort = await freePort();
  const { PUBLIC_URL: _unset, ...env } = process.env;
  platform = spawn("npm", ["start"], {
    cwd: root,
    detached: true,
    env: {
      ...env,
      DATA_DIR: dataDir,
      CONTROL_PLANE_PORT: String(controlPlanePort),
      REALTIME_PORT: "0",
      REST_PORT: "0",
    },
  });
  platform.stdout!.on("data", (chunk) => (output += chunk));
  platform.stderr!.on("data", (chunk) => (output += chunk));
  await until(
    () => output.includes("examples/quickstart.ts") || platform.exitCode !== null,
    "npm start to print its banner",
    { timeoutMs: 60_000, detail: () => output },
  );
  if (!output.includes("examples/quickstart.ts")) throw new Error(`npm start failed:\n${output}`);
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
    expect(output).toContain("auth.signup");
    // stdout is a pipe here (as in CI and containers): logs stay JSON lines.
    expect(output).toMatch(/^\{"level":30,.*"msg":"control plane ready"\}$/m);
  });

  it("the banner ends with next steps, and its cookie jar is outside the working tree", () => {
    // The banner: from its first line to the blank line after its last step (log lines may follow).
    const start = output.indexOf("Relaybase is running");
    const banner = output.slice(start, output.indexOf("\n\n", output.indexOf("Or from a terminal:", start)));
    expect(banner).toMatch(/Or from a terminal:\n\s+1\. Sign up/);
    const jars = [...banner.matchAll(/curl -[cb] (\S+)/g)].map((m) => m[1]!);
    expect(jars.length).toBeGreaterThan(0);
    for (const jar of jars) {
      expect(jar.replace(/^'|'$/g, "")).toBe(join(tmpdir(), "relaybase-cookies.txt"));
    }
    const cp = urlAfter("Console \\+ control plane");
    // The last step runs the quickstart against these very URLs.
    expect(banner.trimEnd()).toMatch(
      new RegExp(`CP=${cp} REALTIME=http://\\S+ REST=http://\\S+ npx tsx examples/quickstart\\.ts$`),
    );
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

  it("tokens name the control plane's own port as issuer when only CONTROL_PLANE_PORT is set", async () => {
    const cp = urlAfter("Console \\+ control plane")!;
    expect(new URL(cp).port).toBe(String(controlPlanePort));
    let cookie = "";
    const trpc = async <T>(procedure: string, input: unknown): Promise<T> => {
      const res = await fetch(`${cp}/trpc/${procedure}`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify(input),
      });
      cookie = res.headers.get("set-cookie")?.split(";")[0] ?? cookie;
      return ((await res.json()) as { result: { data: T } }).result.data;
    };
    await trpc("auth.signup", {
      email: `issuer-${Date.now()}@example.com`,
      password: "correct horse battery",
    });
    const { app } = await trpc<{ app: { id: string } }>("apps.create", { name: "issuer" });
    const { secret } = await trpc<{ secret: string }>("keys.create", {
      appId: app.id,
      kind: "secret",
      name: "server",
    });
    const res = await fetch(`${cp}/v1/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({ userId: "alice", capabilities: { "chat:*": ["subscribe"] } }),
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    expect(decodeJwt(token).iss).toBe(`http://localhost:${controlPlanePort}`);
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

describe("npm start on a taken port", () => {
  it("exits with a message naming the variable to change, without a stack trace", async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const { port } = holder.address() as { port: number };
    const emptyDir = await mkdtemp(join(tmpdir(), "rb-taken-port-"));
    try {
      const child = spawn("npm", ["start"], {
        cwd: root,
        env: {
          ...process.env,
          DATA_DIR: emptyDir,
          CONTROL_PLANE_PORT: String(port),
          REALTIME_PORT: "0",
          REST_PORT: "0",
        },
      });
      let out = "";
      child.stdout.on("data", (c) => (out += c));
      child.stderr.on("data", (c) => (out += c));
      const code = await new Promise<number | null>((r) => child.once("exit", r));
      expect(code, out).toBe(1);
      expect(out).toContain(`Port ${port} (CONTROL_PLANE_PORT) is already in use`);
      expect(out).toContain("CONTROL_PLANE_PORT=5000 REALTIME_PORT=5001 REST_PORT=5002 npm start");
      expect(out).not.toMatch(/^\s+at /m);
      expect(out).not.toContain("Relaybase is running");
    } finally {
      await new Promise((r) => holder.close(r));
      await rm(emptyDir, { recursive: true, force: true });
    }
  }, 90_000);
});
