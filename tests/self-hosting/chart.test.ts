/**
 * The Helm chart as an operator meets it: the real helm 3.17 lints and renders it with
 * each shipped value set; every object must match the Kubernetes API schemas, every
 * container must get only variables its service reads, with values its config schema
 * accepts; bad values are refused before anything reaches a cluster.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { controlPlaneConfigSchema, loadControlPlaneConfig } from "@relaybase/control-plane";
import { loadRealtimeNodeConfig, realtimeNodeConfigSchema } from "@relaybase/realtime-node";
import { loadRestPublishApiConfig, restPublishApiConfigSchema } from "@relaybase/rest-publish-api";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  chartDir,
  containerEnv,
  find,
  helm,
  type K8sObject,
  RELEASE,
  render,
  renderNotes,
  valueSets,
  valuesArgs,
} from "./chart.js";
import { schemaErrors } from "./k8s-schemas.js";

const name = (component: string) => `${RELEASE}-relaybase-${component}`;
const allSets: (string | undefined)[] = [undefined, ...valueSets];
const label = (set: string | undefined) => set ?? "default values";

/** What a Secret the operator made would hold; only its shape matters to the config schemas. */
const placeholderSecrets: Record<string, string> = {
  DATABASE_URL: "postgres://relaybase:secret@postgres:5432/relaybase",
  REDIS_URL: "redis://:secret@redis:6379/0",
  OPERATOR_TOKEN: "o".repeat(48),
  STRIPE_SECRET_KEY: "sk_test_placeholder",
  STRIPE_WEBHOOK_SECRET: "whsec_placeholder",
};

const services = {
  "control-plane": { schema: controlPlaneConfigSchema, load: loadControlPlaneConfig },
  "realtime-node": { schema: realtimeNodeConfigSchema, load: loadRealtimeNodeConfig },
  "rest-api": { schema: restPublishApiConfigSchema, load: loadRestPublishApiConfig },
} as const;

type Component = keyof typeof services;

/** The full environment of a component's container, Secrets filled from placeholderSecrets. */
function serviceEnv(objects: K8sObject[], component: Component): Record<string, string> {
  const env = containerEnv(objects, find(objects, "Deployment", name(component)));
  const full = { ...env.values };
  for (const [variable, ref] of Object.entries(env.fromSecrets)) {
    expect(placeholderSecrets[variable], `${variable} from ${ref.secret}`).toBeDefined();
    full[variable] = placeholderSecrets[variable] ?? "";
  }
  return full;
}

describe("helm lint", () => {
  it.each(allSets.map((set) => [label(set), set]))("passes --strict with %s", (_label, set) => {
    const result = helm(["lint", "--strict", chartDir, ...valuesArgs(set)]);
    expect(result.stdout + result.stderr).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(result.status).toBe(0);
  });
});

describe.each(allSets.map((set) => [label(set), set]))("helm template with %s", (_label, set) => {
  const objects = render(valuesArgs(set));
  const deployments = objects.filter((o) => o.kind === "Deployment");

  it("renders only objects the Kubernetes API (and the Prometheus Operator) would accept", () => {
    expect(objects.map(schemaErrors).filter(Boolean)).toEqual([]);
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(
      [name("control-plane"), name("realtime-node"), name("rest-api")].sort(),
    );
  });

  it("gives each container only variables its service reads, with values its config schema accepts", () => {
    for (const deployment of deployments) {
      const component = deployment.metadata.labels?.["app.kubernetes.io/component"] as Component;
      const service = services[component];
      const full = serviceEnv(objects, component);
      const known = Object.keys(service.schema.shape);
      expect(
        Object.keys(full).filter((n) => !known.includes(n)),
        component,
      ).toEqual([]);
      expect(() => service.load(full), component).not.toThrow();
      expect(full.HOST).toBe("0.0.0.0");
      expect(full.REDIS_URL, `${component} needs Redis in a cluster`).toBeTruthy();
    }
    const cp = containerEnv(objects, find(objects, "Deployment", name("control-plane")));
    expect(
      cp.values.DATABASE_URL ?? cp.fromSecrets.DATABASE_URL,
      "the control plane needs Postgres",
    ).toBeTruthy();
  });

  it("probes /healthz and /readyz, and gives nodes time to drain before they are killed", () => {
    for (const deployment of deployments) {
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
      const sleep = Number(container.lifecycle.preStop.exec.command[1]);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(sleep);
      expect(deployment.spec.template.metadata.annotations["checksum/config"]).toMatch(/^[a-f0-9]{64}$/);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
    }
    const node = find(objects, "Deployment", name("realtime-node"));
    const deadlineMs = Number(containerEnv(objects, node).values.SHUTDOWN_DEADLINE_MS);
    const pod = node.spec.template.spec;
    const sleep = Number(pod.containers[0].lifecycle.preStop.exec.command[1]);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(sleep * 1000 + deadlineMs);
  });

  it("runs the migrations as a pre-install/pre-upgrade hook against the control plane's database", () => {
    const job = objects.find((o) => o.kind === "Job");
    expect(job?.metadata.annotations?.["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
    const [container] = job?.spec.template.spec.containers ?? [];
    expect(container.command).toEqual(["node", "services/control-plane/dist/bin/migrate.js"]);
    const jobEnv = containerEnv(objects, job as K8sObject);
    const cpEnv = containerEnv(objects, find(objects, "Deployment", name("control-plane")));
    expect(jobEnv.values.DATABASE_URL ?? jobEnv.fromSecrets.DATABASE_URL).toEqual(
      cpEnv.values.DATABASE_URL ?? cpEnv.fromSecrets.DATABASE_URL,
    );
    expect(container.image).toBe(
      find(objects, "Deployment", name("control-plane")).spec.template.spec.containers[0].image,
    );
  });

  it("puts no credential in a ConfigMap, and renders no Secret but the generated operator token", () => {
    const configMaps = objects.filter((o) => o.kind === "ConfigMap");
    for (const map of configMaps) {
      for (const [key, value] of Object.entries(map.data ?? {})) {
        expect(value, `${map.metadata.name} ${key}`).not.toMatch(/:\/\/[^/@]*:[^/@]*@/);
        expect(["OPERATOR_TOKEN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]).not.toContain(key);
      }
    }
    for (const secret of objects.filter((o) => o.kind === "Secret")) {
      expect(secret.metadata.name).toBe(`${RELEASE}-relaybase-generated`);
      expect(secret.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
      expect(Object.keys(secret.data ?? {})).toEqual(["OPERATOR_TOKEN"]);
    }
  });
});

describe("ingress", () => {
  const paths = (ingress: K8sObject) =>
    ingress.spec.rules[0].http.paths.map((p: { path: string; backend: { service: { name: string } } }) => [
      p.path,
      p.backend.service.name,
    ]);

  it("sends /socket.io/ to the realtime nodes with WebSocket timeouts, and no stickiness without long-polling", () => {
    const objects = render(valuesArgs("small-values.yaml"));
    const realtime = find(objects, "Ingress", `${RELEASE}-relaybase-realtime`);
    expect(paths(realtime)).toEqual([["/socket.io/", name("realtime-node")]]);
    const annotations = realtime.metadata.annotations ?? {};
    expect(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]).toBe("3600");
    expect(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]).toBe("3600");
    expect(annotations["nginx.ingress.kubernetes.io/affinity"]).toBeUndefined();
    expect(find(objects, "Service", name("realtime-node")).spec.sessionAffinity).toBeUndefined();
    expect(realtime.spec.tls).toEqual([{ hosts: ["rt.example.com"], secretName: "rt-example-com-tls" }]);
  });

  it("pins each client to one node (cookie and ClientIP) when long-polling is enabled", () => {
    const objects = render(valuesArgs("polling-values.yaml"));
    const annotations = find(objects, "Ingress", `${RELEASE}-relaybase-realtime`).metadata.annotations ?? {};
    expect(annotations["nginx.ingress.kubernetes.io/affinity"]).toBe("cookie");
    expect(annotations["nginx.ingress.kubernetes.io/session-cookie-name"]).toBe("rb-node");
    expect(find(objects, "Service", name("realtime-node")).spec.sessionAffinity).toBe("ClientIP");
  });

  it("routes REST publishing and the control plane's public paths, never /metrics or the operator API", () => {
    const objects = render(valuesArgs("large-values.yaml"));
    const api = paths(find(objects, "Ingress", `${RELEASE}-relaybase-api`));
    expect(api).toContainEqual(["/v1/apps/", name("rest-api")]);
    expect(api).toContainEqual(["/v1/tokens", name("control-plane")]);
    expect(api).toContainEqual(["/.well-known/jwks.json", name("control-plane")]);
    const routed = api.map(([path]: [string]) => path);
    expect(
      routed.filter((p: string) => p === "/" || p.startsWith("/metrics") || p.startsWith("/operator")),
    ).toEqual([]);
  });

  it("makes the public URL the token issuer the nodes expect, and lets nodes fetch keys inside the cluster", () => {
    const objects = render(valuesArgs("small-values.yaml"));
    const cp = containerEnv(objects, find(objects, "Deployment", name("control-plane")));
    const node = containerEnv(objects, find(objects, "Deployment", name("realtime-node")));
    expect(cp.values.PUBLIC_URL).toBe("https://rt.example.com");
    expect(node.values.TOKEN_ISSUER).toBe(cp.values.PUBLIC_URL);
    expect(node.values.JWKS_URL).toBe(`http://${name("control-plane")}:4000/.well-known/jwks.json`);
  });
});

describe("scaling and disruptions", () => {
  it("autoscales nodes and REST instances (no fixed replicas then) and removes nodes slowly", () => {
    const objects = render(valuesArgs("large-values.yaml"));
    for (const component of ["realtime-node", "rest-api"]) {
      const hpa = find(objects, "HorizontalPodAutoscaler", name(component));
      expect(hpa.spec.scaleTargetRef).toEqual({
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: name(component),
      });
      expect(find(objects, "Deployment", name(component)).spec.replicas).toBeUndefined();
    }
    const nodeHpa = find(objects, "HorizontalPodAutoscaler", name("realtime-node"));
    expect(nodeHpa.spec.minReplicas).toBe(4);
    expect(nodeHpa.spec.behavior.scaleDown.policies).toEqual([{ type: "Pods", value: 1, periodSeconds: 60 }]);
    expect(find(objects, "Deployment", name("control-plane")).spec.replicas).toBe(3);
  });

  it("has a PodDisruptionBudget per component that selects that component's pods", () => {
    const objects = render();
    for (const component of ["control-plane", "realtime-node", "rest-api"]) {
      const pdb = find(objects, "PodDisruptionBudget", name(component));
      const pods = find(objects, "Deployment", name(component)).spec.template.metadata.labels;
      for (const [key, value] of Object.entries(pdb.spec.selector.matchLabels)) expect(pods[key]).toBe(value);
    }
  });

  it("rolls the pods of a component whose configuration changed, and only those", () => {
    const checksums = (args: string[]) =>
      Object.fromEntries(
        render(args)
          .filter((o) => o.kind === "Deployment")
          .map((d) => [d.metadata.name, d.spec.template.metadata.annotations["checksum/config"]]),
      );
    const before = checksums([]);
    expect(checksums([])).toEqual(before);
    const after = checksums([
      "--set",
      "realtimeNode.shutdownDeadlineMs=15000",
      "--set",
      "realtimeNode.terminationGracePeriodSeconds=40",
    ]);
    expect(after[name("realtime-node")]).not.toBe(before[name("realtime-node")]);
    expect(after[name("control-plane")]).toBe(before[name("control-plane")]);
    expect(after[name("rest-api")]).toBe(before[name("rest-api")]);
  });
});

describe("service settings", () => {
  /** Variables the chart sets from values, by component: its defaults must be the code's. */
  const settings: Record<Component, string[]> = {
    "realtime-node": ["PRESENCE_GRACE_MS", "PRESENCE_LEASE_MS", "ROOM_LEASE_MS", "ROOM_WEBHOOK_DEBOUNCE_MS"],
    "rest-api": ["REQUEST_LOG"],
    "control-plane": [
      "SIGNUPS_PER_HOUR",
      "LOGIN_ATTEMPTS_PER_MINUTE",
      "WEBHOOK_DISPATCHER",
      "WEBHOOK_ALLOW_PRIVATE_URLS",
      "WEBHOOK_ALLOW_HTTP",
      "WEBHOOK_TIMEOUT_MS",
      "WEBHOOK_RETRY_SCHEDULE_MS",
      "WEBHOOK_CONCURRENCY",
    ],
  };
  const loaded = (objects: K8sObject[], component: Component, without: string[] = []) => {
    const env = serviceEnv(objects, component);
    for (const variable of without) delete env[variable];
    return services[component].load(env) as unknown as Record<string, unknown>;
  };

  it("defaults to what each service does when the variable is unset", () => {
    const objects = render();
    for (const [component, variables] of Object.entries(settings) as [Component, string[]][]) {
      const fromChart = loaded(objects, component);
      const unset = loaded(objects, component, variables);
      for (const variable of variables) expect(fromChart[variable], variable).toEqual(unset[variable]);
    }
    const cp = find(objects, "ConfigMap", name("control-plane")).data ?? {};
    expect(cp.WEBHOOK_DISPATCHER, "every control-plane pod delivers webhooks").toBe("true");
    expect(cp.WEBHOOK_ALLOW_PRIVATE_URLS).toBe("false");
    expect(cp.WEBHOOK_ALLOW_HTTP).toBe("false");
    expect(cp, "empty retryScheduleMs leaves the code's schedule").not.toHaveProperty(
      "WEBHOOK_RETRY_SCHEDULE_MS",
    );
  });

  it("passes each value to the ConfigMap of its component, where the service reads it", () => {
    const objects = render(
      [
        ...["realtimeNode.presenceGraceMs=0", "realtimeNode.presenceLeaseMs=8000"],
        ...["realtimeNode.roomLeaseMs=7000", "realtimeNode.roomWebhookDebounceMs=1500"],
        "restApi.requestLog=true",
        ...[
          "controlPlane.signupsPerHour=200",
          "controlPlane.loginAttemptsPerMinute=30",
          "controlPlane.trustProxy=2",
        ],
        ...["controlPlane.webhooks.dispatcher=false", "controlPlane.webhooks.allowPrivateUrls=true"],
        ...["controlPlane.webhooks.allowHttp=true", "controlPlane.webhooks.timeoutMs=5000"],
        ...["controlPlane.webhooks.retryScheduleMs=1000\\,60000", "controlPlane.webhooks.concurrency=64"],
      ].flatMap((set) => ["--set", set]),
    );
    expect(loaded(objects, "realtime-node")).toMatchObject({
      PRESENCE_GRACE_MS: 0,
      PRESENCE_LEASE_MS: 8000,
      ROOM_LEASE_MS: 7000,
      ROOM_WEBHOOK_DEBOUNCE_MS: 1500,
    });
    expect(loaded(objects, "rest-api")).toMatchObject({ REQUEST_LOG: true });
    expect(loaded(objects, "control-plane")).toMatchObject({
      SIGNUPS_PER_HOUR: 200,
      LOGIN_ATTEMPTS_PER_MINUTE: 30,
      TRUST_PROXY: 2,
      WEBHOOK_DISPATCHER: false,
      WEBHOOK_ALLOW_PRIVATE_URLS: true,
      WEBHOOK_ALLOW_HTTP: true,
      WEBHOOK_TIMEOUT_MS: 5000,
      WEBHOOK_RETRY_SCHEDULE_MS: [1000, 60000],
      WEBHOOK_CONCURRENCY: 64,
    });
    // Each lands in its own component's ConfigMap only.
    const data = (component: Component) => find(objects, "ConfigMap", name(component)).data ?? {};
    expect(data("control-plane")).toMatchObject({
      WEBHOOK_RETRY_SCHEDULE_MS: "1000,60000",
      TRUST_PROXY: "2",
    });
    expect(data("realtime-node")).not.toHaveProperty("WEBHOOK_DISPATCHER");
    expect(data("rest-api")).not.toHaveProperty("PRESENCE_LEASE_MS");
  });

  it("counts the login and signup limits per client behind the ingress (one proxy hop)", () => {
    const objects = render();
    expect(loaded(objects, "control-plane").TRUST_PROXY).toBe(1);
    expect(loaded(objects, "realtime-node").TRUST_PROXY).toBe(1);
  });
});

describe("credentials", () => {
  it("reads every credential from existingSecret under the key names given", () => {
    const objects = render(valuesArgs("existing-secret-values.yaml"));
    const cp = containerEnv(objects, find(objects, "Deployment", name("control-plane")));
    expect(cp.fromSecrets).toEqual({
      DATABASE_URL: { secret: "platform-secrets", key: "relaybase-postgres-url" },
      REDIS_URL: { secret: "platform-secrets", key: "relaybase-redis-url" },
      OPERATOR_TOKEN: { secret: "platform-secrets", key: "relaybase-operator-token" },
    });
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
  });

  it("generates the operator token once (kept by lookup on upgrades) when no Secret is given", () => {
    const objects = render(valuesArgs("urls-values.yaml"));
    const secret = find(objects, "Secret", `${RELEASE}-relaybase-generated`);
    expect(Buffer.from(secret.data?.OPERATOR_TOKEN ?? "", "base64").toString()).toMatch(/^[A-Za-z0-9]{48}$/);
    const cp = containerEnv(objects, find(objects, "Deployment", name("control-plane")));
    expect(cp.fromSecrets).toEqual({
      OPERATOR_TOKEN: { secret: `${RELEASE}-relaybase-generated`, key: "OPERATOR_TOKEN" },
    });
    const template = readFileSync(join(chartDir, "templates", "secret-generated.yaml"), "utf8");
    expect(template).toContain('lookup "v1" "Secret" .Release.Namespace $name');
  });

  it("expects <fullname>-credentials when no Secret is named and no URL is given", () => {
    const objects = render();
    const node = containerEnv(objects, find(objects, "Deployment", name("realtime-node")));
    expect(node.fromSecrets.REDIS_URL).toEqual({
      secret: `${RELEASE}-relaybase-credentials`,
      key: "REDIS_URL",
    });
  });
});

describe("monitoring", () => {
  it("scrapes /metrics on each component's metrics port, where its METRICS_PORT listens, and ships the documented alerts", () => {
    const objects = render(valuesArgs("large-values.yaml"));
    for (const component of ["control-plane", "realtime-node", "rest-api"]) {
      const monitor = find(objects, "ServiceMonitor", name(component));
      expect(monitor.spec.endpoints[0]).toMatchObject({ port: "metrics", path: "/metrics" });
      const service = find(objects, "Service", name(component));
      const metricsPort = service.spec.ports.find((p: { name: string }) => p.name === "metrics");
      expect(metricsPort, component).toMatchObject({ port: 9464, targetPort: "metrics" });
      const deployment = find(objects, "Deployment", name(component));
      const container = deployment.spec.template.spec.containers[0];
      const declared = container.ports.find((p: { name: string }) => p.name === "metrics");
      expect(String(declared.containerPort)).toBe(containerEnv(objects, deployment).values.METRICS_PORT);
      expect(monitor.metadata.labels?.release).toBe("kube-prometheus-stack");
    }
    const rule = find(objects, "PrometheusRule", `${RELEASE}-relaybase`);
    const alerts = rule.spec.groups[0].rules.map((r: { alert: string }) => r.alert);
    expect(alerts).toEqual([
      "RelaybaseAdapterLag",
      "RelaybaseHandshakeRefusals",
      "RelaybaseLimitRefusals",
      "RelaybaseNodeRestarts",
    ]);
    const doc = readFileSync(join(chartDir, "..", "..", "docs", "self-hosting.md"), "utf8");
    for (const alert of alerts) expect(doc, `docs/self-hosting.md explains ${alert}`).toContain(alert);
  });

  it("turns the Admin UI on only when asked, its password hash read from the credentials Secret", () => {
    const off = containerEnv(render(), find(render(), "Deployment", name("realtime-node")));
    expect(off.values.ADMIN_UI_ENABLED).toBe("false");
    expect(off.fromSecrets.ADMIN_UI_PASSWORD_HASH).toBeUndefined();

    const objects = render(["--set", "realtimeNode.adminUi.enabled=true", "--set", "existingSecret=ops"]);
    const env = containerEnv(objects, find(objects, "Deployment", name("realtime-node")));
    expect(env.values).toMatchObject({
      ADMIN_UI_ENABLED: "true",
      ADMIN_UI_USERNAME: "admin",
      ADMIN_UI_READONLY: "true",
    });
    expect(env.fromSecrets.ADMIN_UI_PASSWORD_HASH).toEqual({ secret: "ops", key: "ADMIN_UI_PASSWORD_HASH" });
    expect(env.fromSecrets.REDIS_URL).toEqual({ secret: "ops", key: "REDIS_URL" });
    const hash = `$2b$12$${"a".repeat(53)}`;
    expect(
      loadRealtimeNodeConfig({
        ...env.values,
        REDIS_URL: placeholderSecrets.REDIS_URL,
        ADMIN_UI_PASSWORD_HASH: hash,
      }),
    ).toMatchObject({ ADMIN_UI_ENABLED: true, ADMIN_UI_READONLY: true });
  });

  it("renders no ServiceMonitor or PrometheusRule unless asked", () => {
    const kinds = render().map((o) => o.kind);
    expect(kinds).not.toContain("ServiceMonitor");
    expect(kinds).not.toContain("PrometheusRule");
  });
});

describe("values that are refused", () => {
  const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8"));
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);

  it("values.yaml and every shipped value set satisfy values.schema.json", () => {
    const sets = [join(chartDir, "values.yaml"), ...valueSets.map((f) => join(chartDir, "ci", f))];
    for (const file of sets) {
      const ok = validate(parse(readFileSync(file, "utf8")));
      expect(validate.errors ?? [], file).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  const bad: [string, string[], RegExp][] = [
    [
      "a database URL with a password",
      ["--set", "externalDatabase.url=postgres://u:pw@db/x"],
      /externalDatabase\.url/,
    ],
    [
      "a Redis URL with a password",
      ["--set", "externalRedis.url=redis://:pw@redis:6379"],
      /externalRedis\.url/,
    ],
    ["an unknown value (a typo)", ["--set", "realtimeNode.replicas=3"], /Additional property replicas/],
    ["a replica count that is not a number", ["--set-string", "restApi.replicaCount=two"], /replicaCount/],
    ["an unknown log level", ["--set", "logLevel=loud"], /logLevel/],
    [
      "a webhook timeout the control plane refuses",
      ["--set", "controlPlane.webhooks.timeoutMs=90000"],
      /timeoutMs/,
    ],
    [
      "a retry schedule that is not comma-separated milliseconds",
      ["--set", "controlPlane.webhooks.retryScheduleMs=5s"],
      /retryScheduleMs/,
    ],
    ["a presence lease under a second", ["--set", "realtimeNode.presenceLeaseMs=500"], /presenceLeaseMs/],
    ["a signup limit of zero", ["--set", "controlPlane.signupsPerHour=0"], /signupsPerHour/],
    ["a request log flag that is not a boolean", ["--set-string", "restApi.requestLog=yes"], /requestLog/],
    [
      "an ingress controller the chart has no annotations for",
      ["--set", "ingress.controller=haproxy"],
      /controller/,
    ],
    [
      "a grace period shorter than the drain",
      ["--set", "realtimeNode.terminationGracePeriodSeconds=12"],
      /must be longer than preStopSleepSeconds \+ shutdownDeadlineMs \(15 s\)/,
    ],
    ["billing without its price ids", ["--set", "controlPlane.billing.enabled=true"], /pricePro/],
    [
      "TLS without a certificate Secret",
      ["--set", "ingress.enabled=true", "--set", "ingress.tls=true"],
      /tlsSecretName/,
    ],
  ];

  it.each(bad)("helm refuses %s", (_what, args, message) => {
    const result = helm(["template", RELEASE, chartDir, ...args]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it("the schema refuses what helm refuses, for tools that read values.schema.json alone", () => {
    expect(validate({ externalDatabase: { url: "postgres://u:pw@db/x" } })).toBe(false);
    expect(validate({ realtimeNode: { replicas: 3 } })).toBe(false);
    expect(validate({ restApi: { replicaCount: "two" } })).toBe(false);
    expect(validate({ externalRedis: { url: "redis://redis-master:6379/0" } })).toBe(true);
    expect(validate({ controlPlane: { webhooks: { retryScheduleMs: "5s" } } })).toBe(false);
    expect(validate({ controlPlane: { webhooks: { retryScheduleMs: "5000,30000" } } })).toBe(true);
    expect(validate({ controlPlane: { webhooks: { allowHttp: "true" } } })).toBe(false);
  });
});

describe("NOTES.txt", () => {
  it("tells a first install which Secret to create, and how to reach the services without an ingress", () => {
    const notes = renderNotes();
    expect(notes).toContain("kubectl -n relaybase create secret generic rb-relaybase-credentials");
    expect(notes).toContain("--from-literal=DATABASE_URL=");
    expect(notes).toContain("port-forward svc/rb-relaybase-realtime-node 4001:4001");
  });

  it("gives the public addresses, the polling choice and where the operator token is", () => {
    const notes = renderNotes(valuesArgs("large-values.yaml"));
    expect(notes).toContain("Clients connect to https://realtime.example.com (Socket.IO path /socket.io/)");
    expect(notes).toContain("Long-polling is off (no sticky sessions)");
    expect(notes).toContain("in Secret relaybase-credentials, key OPERATOR_TOKEN");
    expect(notes).toContain("Credentials are read from the Secret relaybase-credentials");
    expect(renderNotes(valuesArgs("polling-values.yaml"))).toContain("Long-polling is on");
    expect(renderNotes(valuesArgs("urls-values.yaml"))).toContain("get secret rb-relaybase-generated");
  });
});

describe("chart README", () => {
  it("lists every value of values.yaml", () => {
    const values = readFileSync(join(chartDir, "values.yaml"), "utf8");
    const readme = readFileSync(join(chartDir, "README.md"), "utf8");
    const params = [...values.matchAll(/^\s*## @param (\S+) /gm)].map((m) => m[1] as string);
    expect(params.length).toBeGreaterThan(50);
    expect(params.filter((p) => !readme.includes(`| \`${p}\` |`))).toEqual([]);
    // Every leaf of values.yaml is documented, itself or through an object it belongs to.
    const leaves: string[] = [];
    const walk = (value: unknown, path: string) => {
      if (value && typeof value === "object" && !Array.isArray(value) && !params.includes(path)) {
        for (const [key, child] of Object.entries(value)) walk(child, path ? `${path}.${key}` : key);
      } else leaves.push(path);
    };
    walk(parse(values), "");
    expect(leaves.filter((leaf) => !params.includes(leaf))).toEqual([]);
  });
});
