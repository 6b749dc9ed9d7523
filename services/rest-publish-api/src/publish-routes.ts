import {
  isValidRoomName,
  MAX_MESSAGES_PER_BATCH,
  MAX_ROOMS_PER_PUBLISH,
  RelaybaseError,
} from "@relaybase/protocol";
import {
  type AppRuntime,
  type Limiters,
  type Logger,
  Publisher,
  type TenantDirectory,
  takeDailyQuota,
} from "@relaybase/server-kit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { checkRestPublishRate } from "./limits.js";
import { batchBody, type PublishBody, publishBody } from "./schemas.js";

export interface PublishRouteDeps {
  directory: TenantDirectory;
  publisher: Publisher;
  /** REST publishes per second per app, and the daily quota shared with client publishes. */
  limiters: Limiters;
  logger: Logger;
}

const params = z.object({ appId: z.string().min(1).max(64) });

export function registerPublishRoutes(app: FastifyInstance, deps: PublishRouteDeps): void {
  app.post("/v1/apps/:appId/publish", async (req, reply) => {
    const tenant = await authorizeApp(req, deps.directory);
    const body = publishBody.parse(req.body);
    const rooms = roomsOf(body);
    const size = validate(tenant, rooms, body);
    await checkLimits(deps, tenant, 1, rooms.length);
    reply.code(202);
    return publishToRooms(deps.publisher, tenant, rooms, body, size);
  });

  app.post("/v1/apps/:appId/batch", async (req, reply) => {
    const tenant = await authorizeApp(req, deps.directory);
    const { messages } = batchBody.parse(req.body);
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
      results.push(await publishToRooms(deps.publisher, tenant, rooms, body, size));
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
  req.log = req.log.child({ appId: owner.appId });
  return owner;
}

const authorized = new WeakMap<FastifyRequest, string>();

/** The app a request was authorized for, once `authorizeApp` let it through. */
export function authorizedAppId(req: FastifyRequest): string | undefined {
  return authorized.get(req);
}

async function ownerOf(req: FastifyRequest, directory: TenantDirectory): Promise<AppRuntime> {
  const { appId } = params.parse(req.params);
  const header = req.headers.authorization ?? "";
  const key = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
  if (key.startsWith("pk_")) {
    throw new RelaybaseError("WRONG_KEY_TYPE", "Publishing over REST needs a secret key (sk_…).");
  }
  const owner = key ? await directory.bySecretKey(key) : undefined;
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
async function checkLimits(deps: PublishRouteDeps, app: AppRuntime, requests: number, messages: number) {
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
      ...(id === undefined ? {} : { id }),
      ...(body.exceptConnectionId === undefined ? {} : { exceptConnectionId: body.exceptConnectionId }),
    });
    // One message, one id in every room it reaches.
    id = published.id;
    offsets[room] = { offset: published.offset, epoch: published.epoch };
  }
  return { id: id as string, offsets };
}
