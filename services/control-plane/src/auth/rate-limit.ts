import { RelaybaseError } from "@relaybase/protocol";
import { type Logger, MemoryRateLimiter, type RateLimiter, type RateRule } from "@relaybase/server-kit";
import type { ControlPlaneConfig } from "../config.js";

/**
 * The console's abuse limits, in one place (docs/rest-api.md, "Sessions and limits"):
 * - login: LOGIN_ATTEMPTS_PER_MINUTE per (email, client IP), counted before the password
 *   is checked, so a correct password is refused too until the window ends;
 * - signup: SIGNUPS_PER_HOUR per client IP, counted before the account is made;
 * - password reset requests: PASSWORD_RESETS_PER_HOUR per email and 4× that per client IP,
 *   counted whether or not the account exists (the answer is the same either way), so
 *   nobody's inbox can be flooded and the limit tells nothing about who has an account.
 * Over either: RATE_LIMITED with `retryAfter` (and `Retry-After` over HTTP).
 *
 * The budgets live in the shared `RateLimiter` (rate-limiter-flexible): on Redis when the
 * control plane has REDIS_URL, so every replica counts against one budget; in memory
 * when embedded. Fail policy: if Redis does not answer, this replica counts on its own in
 * memory until it does (a limit per replica for that time), rather than locking everyone
 * out of the console or letting guesses through unlimited.
 */
export class AuthLimits {
  readonly #shared: RateLimiter;
  readonly #local = new MemoryRateLimiter();
  readonly #login: RateRule;
  readonly #signup: RateRule;
  readonly #resetByEmail: RateRule;
  readonly #resetByIp: RateRule;
  readonly #logger: Pick<Logger, "warn">;

  constructor(
    shared: RateLimiter,
    config: Pick<
      ControlPlaneConfig,
      "LOGIN_ATTEMPTS_PER_MINUTE" | "SIGNUPS_PER_HOUR" | "PASSWORD_RESETS_PER_HOUR"
    >,
    logger: Pick<Logger, "warn">,
  ) {
    this.#shared = shared;
    this.#logger = logger;
    this.#login = { name: "cp-login", limit: config.LOGIN_ATTEMPTS_PER_MINUTE, windowSeconds: 60 };
    this.#signup = { name: "cp-signup", limit: config.SIGNUPS_PER_HOUR, windowSeconds: 3600 };
    const resets = config.PASSWORD_RESETS_PER_HOUR;
    this.#resetByEmail = { name: "cp-reset-email", limit: resets, windowSeconds: 3600 };
    this.#resetByIp = { name: "cp-reset-ip", limit: resets * 4, windowSeconds: 3600 };
  }

  /** Counts one login attempt for this email from this address; throws RATE_LIMITED over the limit. */
  login(email: string, ip: string): Promise<void> {
    return this.#take(this.#login, `${email}|${ip}`, "login attempts for this account from this address");
  }

  /** Counts one signup from this address; throws RATE_LIMITED over the limit. */
  signup(ip: string): Promise<void> {
    return this.#take(this.#signup, ip, "signups from this address");
  }

  /** Counts one password reset request for this email from this address; throws RATE_LIMITED over either limit. */
  async passwordReset(email: string, ip: string): Promise<void> {
    await this.#take(this.#resetByIp, ip, "password reset requests from this address");
    await this.#take(this.#resetByEmail, email, "password reset requests for this account");
  }

  async #take(rule: RateRule, key: string, what: string): Promise<void> {
    let decision: Awaited<ReturnType<RateLimiter["consume"]>>;
    try {
      decision = await this.#shared.consume(rule, key);
    } catch (err) {
      this.#logger.warn({ err, rule: rule.name }, "shared rate limiter failed; counting in this process");
      decision = await this.#local.consume(rule, key);
    }
    if (decision.allowed) return;
    const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new RelaybaseError("RATE_LIMITED", `Too many ${what}; try again in ${retryAfter} s.`, {
      retryAfter,
    });
  }
}
