import { closeOnSignals, createLogger } from "@relaybase/server-kit";
import { ensureConsoleBuilt } from "./console-build.js";
import { startPlatform } from "./platform.js";

/** `npm start`: the whole platform in one process, then where to go next. */
if (!process.env.CONSOLE_DIR) {
  await ensureConsoleBuilt((line) => console.log(line)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
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

Open ${controlPlane} in your browser: sign up, create an app, send a first message.
`);

closeOnSignals(() => platform.close(), createLogger("relaybase", process.env.LOG_LEVEL ?? "info"));
