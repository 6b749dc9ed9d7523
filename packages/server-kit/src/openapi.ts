import swagger from "@fastify/swagger";
import { ERROR_CODES, type ErrorCode, RETRY_VALUES, type Retry } from "@relaybase/protocol";
import { wireErrorSchema } from "@relaybase/protocol/schemas";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { jsonSchemaTransform, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { OpenAPIV3_1 } from "openapi-types";
import { z } from "zod";

export type { ZodTypeProvider };

/**
 * HTTP routes declare zod schemas (`schema: { params, body, response }`); the same
 * objects validate requests and, through @fastify/swagger and fastify-type-provider-zod's
 * transform, are the served OpenAPI document, so the two cannot drift.
 *
 * - Validation: a failure is the ZodError itself, which `toHttpError` maps to BAD_REQUEST
 *   like any other (the type provider's and Fastify's own validation bodies never reach a
 *   caller). Routes set `attachValidation: true` and call `throwIfInvalid` after checking
 *   the key, so a bad key is still told before a bad body.
 * - Serialization: plain `JSON.stringify`. Response schemas document; they neither filter
 *   nor check an answer at run time, where a mismatch would turn a good answer into a 500.
 *   tests/e2e/openapi.test.ts checks real answers against the served document instead.
 *
 * Call before declaring routes.
 */
export function useZodSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler<z.ZodType>(({ schema }) => (data) => {
    const result = schema.safeParse(data);
    return result.success ? { value: result.data } : { error: result.error };
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/** For routes with `attachValidation: true`: throws the request's validation failure, if any. */
export function throwIfInvalid(request: FastifyRequest): void {
  if (request.validationError) throw request.validationError;
}

/** The body of every error answer (`toHttpError`), its `code` narrowed to the ones given. */
export function errorBodySchema(codes: readonly [ErrorCode, ...ErrorCode[]]) {
  const retries = [...new Set(codes.map((code) => ERROR_CODES[code].retry))].sort(
    (a, b) => RETRY_VALUES.indexOf(a) - RETRY_VALUES.indexOf(b),
  ) as [Retry, ...Retry[]];
  return z.object({
    error: wireErrorSchema.extend({
      code: z.enum(codes),
      retry: z.enum(retries).describe("What a client should do: docs/errors.md."),
    }),
  });
}

/**
 * `response` entries for the error codes a route answers with, one per HTTP status, each
 * described by its codes. Every route can answer 500 INTERNAL (logged, never detailed).
 */
export function errorResponses(...codes: ErrorCode[]): Record<number, z.ZodType> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set<ErrorCode>([...codes, "INTERNAL"])) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      errorBodySchema(list as [ErrorCode, ...ErrorCode[]]).describe(list.join(", ")),
    ]),
  );
}

export interface OpenApiOptions {
  title: string;
  description: string;
  securitySchemes: Record<string, OpenAPIV3_1.SecuritySchemeObject>;
  /** Routes under these prefixes are served but not described (private or non-JSON APIs). */
  hidePrefixes?: string[];
  /** Where the document is served; default `/openapi.json`. */
  path?: string;
}

/**
 * Registers @fastify/swagger (OpenAPI 3.1) and serves the document at `options.path`. Only
 * routes declared after this plugin has loaded are seen: declare them in a plugin
 * registered after it.
 */
export function registerOpenApi(app: FastifyInstance, options: OpenApiOptions): void {
  const path = options.path ?? "/openapi.json";
  const hidden = [path, ...(options.hidePrefixes ?? [])];
  app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: options.title, description: options.description, version: "1" },
      components: { securitySchemes: options.securitySchemes },
    },
    transform: (route) =>
      hidden.some((prefix) => route.url.startsWith(prefix))
        ? { schema: { hide: true }, url: route.url }
        : jsonSchemaTransform(route),
    transformObject: (doc) =>
      "openapiObject" in doc ? withRetryAfterHeaders(doc.openapiObject) : doc.swaggerObject,
  });
  app.register(async (scope) => {
    let document: unknown;
    scope.get(path, async () => {
      document ??= app.swagger();
      return document;
    });
  });
}

/** A 429 (rate limit, daily quota) always carries `Retry-After`; say so where it is answered. */
function withRetryAfterHeaders<T extends { paths?: unknown }>(document: T): T {
  const paths = (document.paths ?? {}) as Record<
    string,
    Record<string, { responses?: Record<string, object> }>
  >;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const tooMany = operation.responses?.["429"];
      if (!tooMany) continue;
      operation.responses!["429"] = {
        ...tooMany,
        headers: {
          "Retry-After": {
            description: "Seconds to wait: 1 for a per-second rate, until 00:00 UTC for the daily quota.",
            schema: { type: "integer" },
          },
        },
      };
    }
  }
  return document;
}
