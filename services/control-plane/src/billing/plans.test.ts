import { ConfigError } from "@relaybase/server-kit";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { loadControlPlaneConfig } from "../config.js";
import { planOfPrices, planOfSubscription } from "./plans.js";
import { createStripeClient } from "./stripe-client.js";

const prices = { pro: "price_pro", scale: "price_scale" };
const subscription = (status: string, ...priceIds: string[]) =>
  ({ status, items: { data: priceIds.map((id) => ({ price: { id } })) } }) as unknown as Stripe.Subscription;

describe("subscription → plan", () => {
  it("maps the price of a live subscription, the higher plan when it carries both", () => {
    expect(planOfPrices(["price_pro"], prices)).toBe("pro");
    expect(planOfPrices(["price_pro", "price_scale"], prices)).toBe("scale");
    expect(planOfPrices(["price_other"], prices)).toBeUndefined();
  });

  it("is free once the subscription stops paying, and flags a live one on a foreign price", () => {
    for (const status of ["active", "trialing", "past_due"]) {
      expect(planOfSubscription(subscription(status, "price_scale"), prices)).toEqual({
        plan: "scale",
        live: true,
        unknownPrice: false,
      });
    }
    for (const status of ["canceled", "unpaid", "incomplete", "incomplete_expired", "paused"]) {
      expect(planOfSubscription(subscription(status, "price_scale"), prices).plan).toBe("free");
    }
    expect(planOfSubscription(subscription("active", "price_other"), prices)).toEqual({
      plan: "free",
      live: true,
      unknownPrice: true,
    });
  });
});

describe("Stripe configuration", () => {
  const stripeEnv = {
    STRIPE_SECRET_KEY: "sk_test_x",
    STRIPE_WEBHOOK_SECRET: "whsec_x",
    STRIPE_PRICE_PRO: "price_pro",
    STRIPE_PRICE_SCALE: "price_scale",
  };

  it("is off by default, and empty variables count as unset", () => {
    expect(loadControlPlaneConfig({}).STRIPE_SECRET_KEY).toBeUndefined();
    expect(
      loadControlPlaneConfig({ STRIPE_SECRET_KEY: "", STRIPE_API_URL: "" }).STRIPE_SECRET_KEY,
    ).toBeUndefined();
    expect(loadControlPlaneConfig(stripeEnv)).toMatchObject(stripeEnv);
  });

  it("refuses a half configuration, naming what is missing", () => {
    const load = () =>
      loadControlPlaneConfig({ STRIPE_SECRET_KEY: "sk_test_x", STRIPE_PRICE_PRO: "price_pro" });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/STRIPE_WEBHOOK_SECRET: required[\s\S]*STRIPE_PRICE_SCALE: required/);
    expect(() => loadControlPlaneConfig({ ...stripeEnv, STRIPE_PRICE_SCALE: "price_pro" })).toThrow(
      /STRIPE_PRICE_SCALE: must differ/,
    );
    expect(() => loadControlPlaneConfig({ ...stripeEnv, STRIPE_API_URL: "not a url" })).toThrow(
      /STRIPE_API_URL/,
    );
  });

  it("maps STRIPE_API_URL onto the client's protocol, host and port", () => {
    const fields = (url?: string) => {
      const api = (createStripeClient("sk_test_x", url) as unknown as { _api: Record<string, unknown> })._api;
      return { protocol: api.protocol, host: api.host, port: String(api.port) };
    };
    expect(fields("http://127.0.0.1:12111")).toEqual({ protocol: "http", host: "127.0.0.1", port: "12111" });
    expect(fields("https://stripe-proxy.internal")).toEqual({
      protocol: "https",
      host: "stripe-proxy.internal",
      port: "443",
    });
    expect(fields()).toMatchObject({ protocol: "https", host: "api.stripe.com" });
  });
});
