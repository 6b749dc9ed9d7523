import {
  isValidRoomName,
  MAX_MESSAGES_PER_BATCH,
  MAX_ROOMS_PER_PUBLISH,
  RelaybaseError,
} from "@relaybase/protocol";
import {
  type AppRuntime,
  errorResponses,
  type Limiters,
  type Logger,
  Publisher,
  secretKeyFrom,
  type TenantDirectory,
  takeDailyQuota,
  throwIfInvalid,
  type ZodTypeProvider,
} from "@relaybase/server-kit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { checkRestPublishRate } from "./limits.js";
import { batchBody, batchResponse, type PublishBody, publishBody, publishResponse } from "./schemas.js";

export interface PublishRouteDeps {
  directory: TenantDirectory;
  publisher: Publisher;
  /** REST publishes per second per app, and the daily quota shared with client publishes. */
  limiters: Limiters;
  logger: Logger;
}

export const appParams = z.object({ appId: z.string().min(1).max(64).describe("The app's id, `app_…`.") });

/** What every route under `/v1/apps/{appId}` answers when the key or the app is wrong. */
export const appKeyErrors = [
  "BAD_REQUEST",
  "INVALID_KEY",
  "WRONG_KEY_TYPE",
  "KEY_APP_MISMATCH",
  "APP_NOT_FOUND",
] as const;
const publishErrors = errorResponses(
  ...appKeyErrors,
  "INVALID_ROOM_NAME",
  "DATA_TOO_DEEP",
  "INVALID_CONNECTION_ID",
  "IDEMPOTENCY_CONFLICT",
  "TOO_MANY_ROOMS",
  "MESSAGE_TOO_LARGE",
  "RATE_LIMITED",
  "DAILY_QUOTA_EXCEEDED",
  "UNAVAILABLE",
);
const STORED = "Stored in each room's history and handed to delivery.";

// Each route checks the key before the body: attachValidation, then authorizeApp, then
// throwIfInvalid.
const publishRoute = {
  attachValidation: true,
  schema: {
    summary: "Publish one message to one or more rooms",
    security: [{ secretKey: [] }],
    params: appParams,
    body: publishBody,
    response: { 202: publishResponse.describe(STORED), ...publishErrors },
  },
};
const batchRoute = {
  attachValidation: true,
  schema: {
    summary: "Publish up to 100 messages in one request",
    security: [{ secretKey: [] }],
    params: appParams,
    body: batchBody,
    response: {
      202: batchResponse.describe(`${STORED} One result per message, in order.`),
      ...publishErrors,
    },
  },
};

export function registerPublishRoutes(server: FastifyInstance, deps: PublishRouteDeps): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  app.post("/v1/apps/:appId/publish", publishRoute, async (req, reply) => {
    const tenant = await authorizeApp(req, deps.directory);
    throwIfInvalid(req);
    const body = req.body;
    const rooms = roomsOf(body);
    const size = validate(tenant, rooms, body);
    await checkLimits(deps, tenant, 1, rooms.length);
    reply.code(202);
    return publishToRooms(deps.publisher, tenant, rooms, body, size);
  });

  app.post("/v1/apps/:appId/batch", batchRoute, async (req, reply) => {
    const tenant = await authorizeApp(req, deps.directory);
    throwIfInvalid(req);
    const { messages } = req.body;
    if (messages.length > MAX_MESSAGES_PER_BATCH) {
      throw new RelaybaseError("TOO_MANY_ROOMS", `A batch holds at most ${MAX_MESSAGES_PER_BATCH} messages.`);
    }
    // Check every message before publishing any, so a bad one leaves no partial batch.
    const planned = messages.map((body) => {
      const rooms = roomsOf(body);
      return { body, rooms, size: validate(tenant, rooms, body) };
    });
    await checkLimits(
      deps,
      tenant,
      planned.length,
      planned.reduce((n, { rooms }) => n + rooms.length, 0),
    );
    const results = [];
    for (const { body, rooms, size } of planned) {
      results.push(await publishToRooms(deps.publisher, tenant, rooms, body, size, true));
    }
    reply.code(202);
    return { results };
  });
}

/**
 * The secret key in `Authorization: Bearer sk_…` must be live and belong to the app in
 * the path. Failures are told apart so a developer can fix the right thing.
 */
export async function authorizeApp(req: FastifyRequest, directory: TenantDirectory): Promise<AppRuntime> {
  const owner = await ownerOf(req, directory);
  authorized.set(req, owner.appId);
  // Every later line of this request's log names the app (Fastify's reqId is there already).
  // The request's logger is its own child, so its bindings can grow in place (a second
  // child per request was measurable in REST profiles).
  (req.log as Logger).setBindings({ appId: owner.appId });
  return owner;
}

const authorized = new WeakMap<FastifyRequest, string>();

/** The app a request was authorized for, once `authorizeApp` let it through. */
export function authorizedAppId(req: FastifyRequest): string | undefined {
  return authorized.get(req);
}

async function ownerOf(req: FastifyRequest, directory: TenantDirectory): Promise<AppRuntime> {
  const { appId } = appParams.parse(req.params);
  const key = secretKeyFrom(req.headers.authorization, "Publishing over REST");
  const owner = await directory.bySecretKey(key);
  if (!owner) throw new RelaybaseError("INVALID_KEY");
  if (owner.appId === appId) return owner;
  if (!(await directory.byId(appId))) throw new RelaybaseError("APP_NOT_FOUND");
  throw new RelaybaseError("KEY_APP_MISMATCH");
}

function roomsOf(body: PublishBody): string[] {
  if ((body.room === undefined) === (body.rooms === undefined)) {
    throw new RelaybaseError("BAD_REQUEST", "Give exactly one of `room` and `rooms`.");
  }
  const rooms = body.rooms ?? [body.room as string];
  if (rooms.length > MAX_ROOMS_PER_PUBLISH) {
    throw new RelaybaseError("TOO_MANY_ROOMS", `One publish reaches at most ${MAX_ROOMS_PER_PUBLISH} rooms.`);
  }
  return [...new Set(rooms)];
}

/**
 * After validation, before anything is stored: the per-second rate (`requests`: 1 per
 * publish, 1 per batch message), then the day's quota (`messages`: one per room reached).
 * A refused request publishes nothing.
 */
export async function checkLimits(
  deps: Pick<PublishRouteDeps, "limiters" | "logger">,
  app: AppRuntime,
  requests: number,
  messages: number,
) {
  await checkRestPublishRate(deps.limiters.rate, app, requests);
  await takeDailyQuota(deps.limiters.daily, app, messages, deps.logger);
}

/** Checks the message for every room it goes to; returns its size (the same in each). */
function validate(app: AppRuntime, rooms: string[], body: PublishBody): number {
  const size = Publisher.validate(app, rooms[0]!, body.event, body.data, body.exceptConnectionId);
  for (const room of rooms.slice(1)) {
    if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
  }
  return size;
}

async function publishToRooms(
  publisher: Publisher,
  app: AppRuntime,
  rooms: string[],
  body: PublishBody,
  validatedSize: number,
  batch = false,
) {
  let id = body.id;
  const offsets: Record<string, { offset: number; epoch: string }> = {};
  for (const room of rooms) {
    const published = await publisher.publish({
      app,
      room,
      event: body.event,
      data: body.data,
      validatedSize,
      batch,
      ...(id === undefined ? {} : { id }),
      ...(body.exceptConnectionId === undefined ? {} : { exceptConnectionId: body.exceptConnectionId }),
    });
    // One message, one id in every room it reaches.
    id = published.id;
    offsets[room] = { offset: published.offset, epoch: published.epoch };
  }
  return { id: id as string, offsets };
}
