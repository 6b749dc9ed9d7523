import { consoleToken } from "./procedures/apps/console-token.js";
import { create as createApp } from "./procedures/apps/create.js";
import { debugToken } from "./procedures/apps/debug-token.js";
import { remove as deleteApp } from "./procedures/apps/delete.js";
import { get as getApp } from "./procedures/apps/get.js";
import { limits as appLimits } from "./procedures/apps/limits.js";
import { list as listApps } from "./procedures/apps/list.js";
import { update as updateApp } from "./procedures/apps/update.js";
import { login } from "./procedures/auth/login.js";
import { logout } from "./procedures/auth/logout.js";
import { me } from "./procedures/auth/me.js";
import { requestPasswordReset } from "./procedures/auth/request-password-reset.js";
import { resetPassword } from "./procedures/auth/reset-password.js";
import { signup } from "./procedures/auth/signup.js";
import { checkout as billingCheckout } from "./procedures/billing/checkout.js";
import { portal as billingPortal } from "./procedures/billing/portal.js";
import { status as billingStatus } from "./procedures/billing/status.js";
import { create as createKey } from "./procedures/keys/create.js";
import { list as listKeys } from "./procedures/keys/list.js";
import { revoke as revokeKey } from "./procedures/keys/revoke.js";
import { inspect as inspectRoom } from "./procedures/rooms/inspect.js";
import { list as listRooms } from "./procedures/rooms/list.js";
import { accept as acceptInvite } from "./procedures/team/accept.js";
import { invite } from "./procedures/team/invite.js";
import { invites } from "./procedures/team/invites.js";
import { members } from "./procedures/team/members.js";
import { removeMember } from "./procedures/team/remove-member.js";
import { revokeInvite } from "./procedures/team/revoke-invite.js";
import { setRole } from "./procedures/team/set-role.js";
import { notices as usageNotices } from "./procedures/usage/notices.js";
import { series as usageSeries } from "./procedures/usage/series.js";
import { today as usageToday } from "./procedures/usage/today.js";
import { create as createWebhook } from "./procedures/webhooks/create.js";
import { remove as deleteWebhook } from "./procedures/webhooks/delete.js";
import {
  deliveries as webhookDeliveries,
  delivery as webhookDelivery,
} from "./procedures/webhooks/deliveries.js";
import { list as listWebhooks } from "./procedures/webhooks/list.js";
import { replayDead, replay as replayWebhook } from "./procedures/webhooks/replay.js";
import { rotateSecret } from "./procedures/webhooks/rotate-secret.js";
import { testSend } from "./procedures/webhooks/test-send.js";
import { update as updateWebhook } from "./procedures/webhooks/update.js";
import { router } from "./trpc.js";

export const appRouter = router({
  auth: router({ signup, login, logout, me, requestPasswordReset, resetPassword }),
  apps: router({
    list: listApps,
    create: createApp,
    get: getApp,
    update: updateApp,
    delete: deleteApp,
    limits: appLimits,
    consoleToken,
    debugToken,
  }),
  keys: router({ list: listKeys, create: createKey, revoke: revokeKey }),
  billing: router({ status: billingStatus, checkout: billingCheckout, portal: billingPortal }),
  rooms: router({ list: listRooms, inspect: inspectRoom }),
  usage: router({ series: usageSeries, today: usageToday, notices: usageNotices }),
  team: router({ members, invites, invite, revokeInvite, acceptInvite, removeMember, setRole }),
  webhooks: router({
    list: listWebhooks,
    create: createWebhook,
    update: updateWebhook,
    delete: deleteWebhook,
    rotateSecret,
    testSend,
    deliveries: webhookDeliveries,
    delivery: webhookDelivery,
    replay: replayWebhook,
    replayDead,
  }),
});

/** The console imports this type (and only the type) to get a typed tRPC client. */
export type AppRouter = typeof appRouter;
