import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../e2e/fixtures.js";

/**
 * The SDK as a developer installs it: `npm pack` of the SDK and the protocol package it
 * depends on (each builds its `dist` in `prepack`), installed into an empty project, then
 * used from plain Node ESM (no TypeScript loader) against a running platform, and
 * type-checked by tsc.
 */
const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
let dir: string;
let p: TestPlatform;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rb-sdk-package-"));
  // Pack copies: packing swaps `exports` in package.json for a moment, which must not
  // happen under test files running beside this one.
  const copy = join(dir, "src");
  for (const path of ["tsconfig.base.json", "scripts/pack-exports.mjs", "packages/protocol", "sdk"]) {
    await cp(join(root, path), join(copy, path), {
      recursive: true,
      filter: (from) => !/\/(dist|node_modules)(\/|$)/.test(from),
    });
  }
  await symlink(join(root, "node_modules"), join(copy, "node_modules"));
  const packed: string[] = [];
  for (const workspace of ["packages/protocol", "sdk"]) {
    const { stdout } = await run("npm", ["pack", "--pack-destination", dir, join(copy, workspace)], {
      cwd: dir,
    });
    packed.push(join(dir, stdout.trim().split("\n").at(-1)!));
  }
  await writeFile(
    join(dir, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  // React is the SDK's optional peer, for `@relaybase/sdk/react`; a React app has it already.
  const react = ["react@19", "react-dom@19", "@types/react@19"];
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...packed, ...react], {
    cwd: dir,
  });
  p = await startTestPlatform();
}, 180_000);

afterAll(async () => {
  await p?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the packed SDK", () => {
  it("works from plain Node ESM against a running platform", async () => {
    const dev = await p.developer();
    await writeFile(
      join(dir, "consumer.mjs"),
      `import { createClient } from "@relaybase/sdk";
import { createServerClient } from "@relaybase/sdk/server";
const [key, appId, secretKey, url, restUrl, controlPlaneUrl] = process.argv.slice(2);
const server = createServerClient({ appId, secretKey, restUrl, controlPlaneUrl });
const client = createClient({ key, url, transports: ["websocket"] });
const room = client.room("public:packaged");
room.on("hello", (data) => { console.log(JSON.stringify(data)); client.close(); });
await room.subscribe();
await server.publish({ room: "public:packaged", event: "hello", data: { from: "the tarball" } });
`,
    );
    const { stdout } = await run(
      "node",
      [
        "consumer.mjs",
        dev.publishableKey,
        dev.appId,
        dev.secret,
        p.urls.realtime,
        p.urls.rest,
        p.urls.controlPlane,
      ],
      { cwd: dir, timeout: 30_000 },
    );
    expect(stdout.trim()).toBe('{"from":"the tarball"}');
  });

  it("serves @relaybase/sdk/react to a React app (server-rendered here, no DOM needed)", async () => {
    const dev = await p.developer();
    await writeFile(
      join(dir, "react.mjs"),
      `import { createElement as h } from "react";
import { renderToString } from "react-dom/server";
import { createClient } from "@relaybase/sdk";
import { RelaybaseProvider, useConnectionState } from "@relaybase/sdk/react";
const [key, url] = process.argv.slice(2);
const client = createClient({ key, url, transports: ["websocket"] });
function State() { return h("p", null, useConnectionState()); }
console.log(renderToString(h(RelaybaseProvider, { client }, h(State))));
client.close();
`,
    );
    const { stdout } = await run("node", ["react.mjs", dev.publishableKey, p.urls.realtime], {
      cwd: dir,
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe("<p>connecting</p>");
  });

  it("ships types that a TypeScript project compiles against", async () => {
    await writeFile(
      join(dir, "typed.ts"),
      `import { createClient, type ErrorCode } from "@relaybase/sdk";
import { createRelaybaseHooks } from "@relaybase/sdk/react";
const client = createClient<{ chat: { text: string } }>({ key: "pk_x", url: "http://localhost:4001" });
client.room("chat:1").on("chat", (data) => data.text.toUpperCase());
const code: ErrorCode = "CAPABILITY_DENIED";
const hooks = createRelaybaseHooks<{ chat: { text: string } }>();
export function useLatest(): string | undefined {
  return hooks.useMessages("chat:1", "chat").at(-1)?.data.text;
}
export { code };
`,
    );
    await writeFile(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          noEmit: true,
          skipLibCheck: false,
          types: [],
          lib: ["ES2023", "DOM"],
        },
        files: ["typed.ts"],
      }),
    );
    await expect(run(join(root, "node_modules/.bin/tsc"), ["-p", "."], { cwd: dir })).resolves.toBeTruthy();
  });
});
