import { RelaybaseError } from "@relaybase/protocol";
import type { RateLimiter } from "@relaybase/server-kit";
import { describe, expect, it } from "vitest";
import { AuthLimits } from "./rate-limit.js";

const config = { LOGIN_ATTEMPTS_PER_MINUTE: 2, SIGNUPS_PER_HOUR: 1, PASSWORD_RESETS_PER_HOUR: 1 };

describe("AuthLimits when the shared store fails", () => {
  it("counts in the process instead (still limited, never unlimited, never locked out), and warns", async () => {
    const down: RateLimiter = { consume: () => Promise.reject(new Error("Redis did not answer")) };
    const warnings: unknown[] = [];
    const limits = new AuthLimits(down, config, { warn: (obj: unknown) => warnings.push(obj) });

    await limits.login("a@example.com", "192.0.2.1");
    await limits.login("a@example.com", "192.0.2.1");
    const refused = await limits.login("a@example.com", "192.0.2.1").catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RelaybaseError);
    expect(refused).toMatchObject({ code: "RATE_LIMITED" });
    expect((refused as RelaybaseError).retryAfter).toBeGreaterThan(0);
    // Another account is not affected; signups have their own budget.
    await expect(limits.login("b@example.com", "192.0.2.1")).resolves.toBeUndefined();
    await expect(limits.signup("192.0.2.1")).resolves.toBeUndefined();
    expect(warnings.length).toBeGreaterThan(0);
  });
});
