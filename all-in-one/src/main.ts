import { closeOnSignals, createLogger, guardProcess } from "@relaybase/server-kit";
import { startPlatform } from "./platform.js";

const logger = createLogger("relaybase", process.env.LOG_LEVEL ?? "info");
guardProcess(logger);

/** `npm start`: the whole platform in one process, then where to go next. */
const platform = await startPlatform().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
const { controlPlane, realtime, rest } = platform.urls;

console.log(`
Relaybase is running (embedded: PGlite in ${process.env.DATA_DIR ?? ".data"}, in-memory adapter).

  Console + control plane  ${controlPlane}
  Realtime (Socket.IO)     ${realtime}
  REST publish API         ${rest}   (OpenAPI: ${rest}/openapi.json)

First time? Sign up, create an app and a secret key: see "Quickstart" in README.md,
or run:  curl -c .rb-cookies -H 'content-type: application/json' \\
           -d '{"email":"you@example.com","password":"a long password"}' ${controlPlane}/trpc/auth.signup
`);

closeOnSignals(() => platform.close(), logger);
