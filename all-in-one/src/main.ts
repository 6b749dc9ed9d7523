import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeOnSignals, createLogger, guardProcess } from "@relaybase/server-kit";
import { ensureConsoleBuilt } from "./console-build.js";
import { startPlatform } from "./platform.js";

const logger = createLogger("relaybase", process.env.LOG_LEVEL ?? "info");
guardProcess(logger);

/** `npm start`: the whole platform in one process, then where to go next. */
if (!process.env.CONSOLE_DIR) {
  await ensureConsoleBuilt((line) => console.log(line)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
const platform = await startPlatform().catch((err: unknown) => {
  // Config errors and taken ports say which variable to change; print them without a stack.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
const { controlPlane, realtime, rest } = platform.urls;

// The session cookie of the curl steps goes to a temp file, never into the working tree.
const cookies = shellWord(join(tmpdir(), "relaybase-cookies.txt"));
const json = "-H 'content-type: application/json'";

console.log(`
Relaybase is running (embedded: PGlite in ${process.env.DATA_DIR ?? ".data"}, in-memory adapter).

  Console + control plane  ${controlPlane}
  Realtime (Socket.IO)     ${realtime}
  REST publish API         ${rest}   (OpenAPI: ${rest}/openapi.json)${platform.urls.metrics ? `\n  Prometheus metrics       ${platform.urls.metrics}` : ""}

Open ${controlPlane} in your browser: sign up, create an app, send a first message.

Or from a terminal:
  1. Sign up through the console API (curl keeps the session cookie in ${cookies}):
       curl -c ${cookies} ${json} \\
         -d '{"email":"you@example.com","password":"a long password"}' ${controlPlane}/trpc/auth.signup
  2. Create an app (the answer has its id and publishable key pk_…), then a secret key for your server:
       curl -b ${cookies} ${json} -d '{"name":"my app"}' ${controlPlane}/trpc/apps.create
       curl -b ${cookies} ${json} \\
         -d '{"appId":"app_…","kind":"secret","name":"my server"}' ${controlPlane}/trpc/keys.create
  3. Connect a client and publish to it: "Quickstart" in README.md, or all three steps in one go:
       CP=${controlPlane} REALTIME=${realtime} REST=${rest} npx tsx examples/quickstart.ts
`);

closeOnSignals(() => platform.close(), logger);

/** A path as one shell word: as is when it is plain, else single-quoted. */
function shellWord(path: string): string {
  return /^[\w/.:-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}
