import { isValidUserId, MAX_USER_ID_LENGTH, RelaybaseError } from "@relaybase/protocol";
import { eventName } from "@relaybase/protocol/schemas";
import {
  errorResponses,
  type Limiters,
  type Logger,
  Publisher,
  type TenantDirectory,
  throwIfInvalid,
  type ZodTypeProvider,
} from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { appKeyErrors, appParams, authorizeApp, checkLimits } from "./publish-routes.js";

export interface UserRouteDeps {
  directory: TenantDirectory;
  publisher: Publisher;
  /** The same budgets as room publishes: one request, one message. */
  limiters: Limiters;
  logger: Logger;
}

export const userPublishBody = z
  .object({
    event: eventName.describe("Event name, 1-64 characters."),
    data: z.unknown().describe("Any JSON value; its JSON encoding must fit the app's message size limit."),
    id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("Passed to every connection as the message's `id` (not stored: not deduplicated)."),
  })
  .strict();

export const userPublishResponse = z.object({
  id: z.string().describe("The message id: the `id` given, or a new `m_…`."),
});

// The path's user id is checked by the handler, so a bad one gets INVALID_USER_ID.
const userParams = appParams.extend({
  userId: z.string().describe(`A token's \`sub\`: any characters, 1-${MAX_USER_ID_LENGTH}.`),
});

/** `POST /v1/apps/:appId/users/:userId/publish`: to every connection of one user (docs/rest-api.md). */
export function registerUserRoutes(server: FastifyInstance, deps: UserRouteDeps): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  const route = {
    attachValidation: true,
    schema: {
      summary: "Send a message to every connection of one user, on every node",
      security: [{ secretKey: [] }],
      params: userParams,
      body: userPublishBody,
      response: {
        202: userPublishResponse.describe("Handed to delivery on every node; not stored."),
        ...errorResponses(
          ...appKeyErrors,
          "INVALID_USER_ID",
          "DATA_TOO_DEEP",
          "MESSAGE_TOO_LARGE",
          "RATE_LIMITED",
          "DAILY_QUOTA_EXCEEDED",
          "UNAVAILABLE",
        ),
      },
    },
  };
  const disconnectRoute = {
    schema: {
      summary: "End every connection of one user, on every node (no body)",
      security: [{ secretKey: [] }],
      params: userParams,
      response: {
        202: z
          .object({ ok: z.literal(true) })
          .describe("Each connection was sent a USER_DISCONNECTED notice and disconnected."),
        ...errorResponses(...appKeyErrors, "INVALID_USER_ID", "UNAVAILABLE"),
      },
    },
  };
  app.post("/v1/apps/:appId/users/:userId/publish", route, async (req, reply) => {
    // The key first, then the request: a bad key is told before a bad body.
    const tenant = await authorizeApp(req, deps.directory);
    throwIfInvalid(req);
    const { userId } = req.params;
    if (!isValidUserId(userId)) throw new RelaybaseError("INVALID_USER_ID");
    const { event, data, id } = req.body;
    const validatedSize = Publisher.validateContent(tenant, event, data);
    await checkLimits(deps, tenant, 1, 1);
    // The user room is named from the key's app, never from the path.
    const published = await deps.publisher.publishToUser({
      app: tenant,
      userId,
      event,
      data,
      validatedSize,
      ...(id === undefined ? {} : { id }),
    });
    reply.code(202);
    return published;
  });

  app.post("/v1/apps/:appId/users/:userId/disconnect", disconnectRoute, async (req, reply) => {
    const tenant = await authorizeApp(req, deps.directory);
    // The user room is named from the key's app, never from the path.
    await deps.publisher.disconnectUser(tenant, req.params.userId);
    reply.code(202);
    return { ok: true as const };
  });
}
