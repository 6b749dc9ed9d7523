import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { RelaybaseError } from "@relaybase/protocol";
import { parseWebhookUrl, resolveWebhookTarget, type UrlPolicy } from "./url-safety.js";

/** Bytes of the receiver's answer kept in the delivery log. */
export const LOGGED_RESPONSE_BYTES = 1_024;

export interface SendOptions extends UrlPolicy {
  timeoutMs: number;
  /** Bytes of the answer read at most; the connection is closed past it. */
  maxResponseBytes: number;
}

export interface SendResult {
  /** A 2xx answer. */
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  /** Why it failed, when it did (refused address, timeout, connection error, redirect, non-2xx). */
  error: string | null;
  /** The first LOGGED_RESPONSE_BYTES of the answer's body, as text. */
  response: string | null;
}

/**
 * One POST. The host is resolved and checked here, at delivery time, and the socket goes to
 * the address that was checked (TLS still verifies the certificate for the host name).
 * Redirects are never followed: a 3xx is a failed attempt. The answer is read up to
 * `maxResponseBytes` within `timeoutMs` from the start, so a slow or chatty receiver
 * cannot hold a dispatcher slot.
 */
export async function sendWebhook(
  rawUrl: string,
  headers: Record<string, string>,
  body: string,
  options: SendOptions,
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let target: { address: string; family: number };
  let url: URL;
  try {
    url = parseWebhookUrl(rawUrl, options);
    target = await resolveWebhookTarget(url, options);
  } catch (err) {
    const error = err instanceof RelaybaseError ? err.message : String(err);
    return { ok: false, statusCode: null, latencyMs: elapsed(), error, response: null };
  }
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, "latencyMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...r, latencyMs: elapsed() });
    };
    const req = request({
      method: "POST",
      host: target.address,
      family: target.family,
      port: url.port || (url.protocol === "https:" ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      // TLS: SNI and the certificate check are for the name, the socket for the checked address.
      servername: isIP(url.hostname.replace(/^\[(.*)\]$/, "$1")) ? undefined : url.hostname,
      headers: {
        ...headers,
        host: url.host,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "user-agent": "Relaybase-Webhooks/1",
      },
      agent: false,
    });
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          statusCode: null,
          error: `timed out after ${options.timeoutMs} ms`,
          response: null,
        }),
      options.timeoutMs,
    );
    req.on("error", (err) => finish({ ok: false, statusCode: null, error: err.message, response: null }));
    req.on("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let read = 0;
      const done = () => {
        const response = Buffer.concat(chunks).subarray(0, LOGGED_RESPONSE_BYTES).toString("utf8");
        const ok = status >= 200 && status < 300;
        let error: string | null = null;
        if (status >= 300 && status < 400) error = `redirect (${status}) not followed`;
        else if (!ok) error = `answered ${status}`;
        finish({ ok, statusCode: status, error, response });
      };
      res.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read <= LOGGED_RESPONSE_BYTES) chunks.push(chunk);
        else if (chunks.reduce((n, c) => n + c.length, 0) < LOGGED_RESPONSE_BYTES) chunks.push(chunk);
        // Enough read: the status is what counts; stop reading a body that goes on.
        if (read > options.maxResponseBytes) done();
      });
      res.on("end", done);
      res.on("error", done);
    });
    req.end(body);
  });
}
