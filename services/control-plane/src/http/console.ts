import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** The built console in this repository (`npm run build -w @relaybase/console`). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL("../../../../web/console/dist", import.meta.url));

/** What the console page needs to know at run time, served as `/console-config.json`. */
export interface ConsoleRuntimeConfig {
  /** The control plane's public URL (token issuer; `controlPlaneUrl` in snippets). */
  controlPlaneUrl: string;
  /** Where SDK clients connect; null when the operator did not say (snippets then show a placeholder). */
  realtimeUrl: string | null;
  /** Where servers publish over REST; null when unknown. */
  restUrl: string | null;
  billingEnabled: boolean;
}

/**
 * API paths the console's SPA fallback never answers, so an unknown API path stays a JSON
 * 404 and nothing of the API is shadowed by the page.
 */
const API_PREFIXES = [
  "/trpc",
  "/v1",
  "/.well-known",
  "/healthz",
  "/readyz",
  "/metrics",
  "/webhooks",
  "/operator",
];

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

// The page loads its own scripts only; it talks to this origin (tRPC) and to the realtime
// node (WebSocket), whose address is known only at run time.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' http: https: ws: wss:",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join("; ");

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Relaybase</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;padding:0 1rem">
<h1>Relaybase</h1><p>The console is not built. Run <code>npm run build -w @relaybase/console</code>
(<code>npm start</code> does it for you), then reload.</p></body></html>`;

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/**
 * Serves the built console at `/`: its files, `/console-config.json`, and `index.html` for
 * any other page path (client-side routes), never for API paths.
 */
export function registerConsoleRoutes(
  app: FastifyInstance,
  options: { dir: string; runtimeConfig: () => ConsoleRuntimeConfig },
): void {
  const root = normalize(options.dir);

  app.get("/console-config.json", async (_request, reply) => {
    reply.header("cache-control", "no-store");
    return options.runtimeConfig();
  });

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = decodeURIComponentSafe(request.url.split("?")[0] ?? "/");
    if (path === undefined || isApiPath(path)) return reply.callNotFound();
    const file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) return reply.callNotFound();

    if (extname(path) !== "") {
      const found = await stat(file).catch(() => undefined);
      if (!found?.isFile()) return reply.callNotFound();
      // Vite names assets by content hash: they never change under the same name.
      const immutable = path.startsWith("/assets/");
      reply
        .header("content-type", CONTENT_TYPES[extname(file)] ?? "application/octet-stream")
        .header("content-length", found.size)
        .header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache")
        .header("x-content-type-options", "nosniff");
      return reply.send(createReadStream(file));
    }

    // A page path: the single-page app decides what to show.
    reply
      .header("content-type", "text/html; charset=utf-8")
      .header("cache-control", "no-cache")
      .header("content-security-policy", CONTENT_SECURITY_POLICY)
      .header("x-frame-options", "DENY")
      .header("referrer-policy", "same-origin")
      .header("x-content-type-options", "nosniff");
    const index = join(root, "index.html");
    const found = await stat(index).catch(() => undefined);
    if (!found?.isFile()) return reply.send(NOT_BUILT_PAGE);
    return reply.send(createReadStream(index));
  };
  app.get("/", serve);
  app.get("/*", serve);
}

function decodeURIComponentSafe(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
