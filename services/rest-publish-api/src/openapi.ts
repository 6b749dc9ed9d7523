import { ERROR_CODES } from "@relaybase/protocol";
import { z } from "zod";
import { presenceQuery, presenceResponse } from "./presence-routes.js";
import { batchBody, batchResponse, publishBody, publishResponse } from "./schemas.js";

/** The OpenAPI 3.1 document, built from the same zod schemas that validate requests. */
export function openApiDocument(): Record<string, unknown> {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
  const errorBody = {
    type: "object",
    properties: {
      error: {
        type: "object",
        properties: {
          code: { type: "string", enum: Object.keys(ERROR_CODES) },
          message: { type: "string" },
          retry: { type: "string", enum: ["never", "backoff", "now", "reauth"] },
          retryAfter: {
            type: "integer",
            description: "Seconds until a retry can succeed (rate limits, quotas).",
          },
        },
        required: ["code", "message", "retry"],
      },
    },
  };
  const errors = Object.fromEntries(
    [400, 401, 403, 404, 413, 429, 503].map((status) => [
      String(status),
      {
        description: codesFor(status),
        ...(status === 429
          ? {
              headers: {
                "Retry-After": {
                  description:
                    "Seconds to wait: 1 for the per-second rate, until 00:00 UTC for the daily quota.",
                  schema: { type: "integer" },
                },
              },
            }
          : {}),
        content: { "application/json": { schema: errorBody } },
      },
    ]),
  );
  const operation = (summary: string, body: z.ZodType, response: z.ZodType) => ({
    summary,
    security: [{ secretKey: [] }],
    parameters: [{ name: "appId", in: "path", required: true, schema: { type: "string" } }],
    requestBody: { required: true, content: { "application/json": { schema: schema(body) } } },
    responses: {
      "202": {
        description: "Stored in each room's history and handed to delivery.",
        content: { "application/json": { schema: schema(response) } },
      },
      ...errors,
    },
  });
  return {
    openapi: "3.1.0",
    info: { title: "Relaybase REST publish API", version: "1" },
    components: {
      securitySchemes: { secretKey: { type: "http", scheme: "bearer", description: "A secret key, sk_…" } },
    },
    paths: {
      "/v1/apps/{appId}/publish": {
        post: operation("Publish one message to one or more rooms", publishBody, publishResponse),
      },
      "/v1/apps/{appId}/batch": {
        post: operation("Publish up to 100 messages in one request", batchBody, batchResponse),
      },
      "/v1/apps/{appId}/rooms/{room}/presence": {
        get: {
          summary: "One page of a room's presence members, ordered by user id",
          security: [{ secretKey: [] }],
          parameters: [
            { name: "appId", in: "path", required: true, schema: { type: "string" } },
            { name: "room", in: "path", required: true, schema: { type: "string" } },
            ...Object.entries(
              (schema(presenceQuery) as { properties: Record<string, { description?: string }> }).properties,
            ).map(([name, s]) => ({
              name,
              in: "query",
              required: false,
              description: s.description,
              schema: s,
            })),
          ],
          responses: {
            "200": {
              description: "Members of the room on every live node (docs/presence.md).",
              content: { "application/json": { schema: schema(presenceResponse) } },
            },
            ...errors,
          },
        },
      },
      "/v1/apps/{appId}/stats": {
        get: {
          summary: "Connections of the app across the cluster",
          security: [{ secretKey: [] }],
          parameters: [{ name: "appId", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": {
              description: "Live connections on every node whose lease has not expired.",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: { connections: { type: "integer" } },
                    required: ["connections"],
                  },
                },
              },
            },
            ...errors,
          },
        },
      },
    },
  };
}

function codesFor(status: number): string {
  return Object.entries(ERROR_CODES)
    .filter(([, info]) => info.status === status)
    .map(([code]) => code)
    .join(", ");
}
