import { describeHostileInput } from "../hostile-input/cases.js";
import { startTestCluster } from "./fixtures.js";

describeHostileInput("hostile input, two-node cluster", async () => {
  const c = await startTestCluster({ nodes: 2, restInstances: 1 });
  const [a, b] = c.cluster.nodes.map((n) => n.url) as [string, string];
  return {
    realtime: [a, b],
    rest: c.urls.rest,
    developer: () => c.developer(),
    async alive() {
      const services = [c.cluster.controlPlane, ...c.cluster.nodes, ...c.cluster.rest];
      if (services.some((s) => s.process.exitCode !== null || s.process.signalCode !== null)) return false;
      return (await Promise.all(services.map((s) => fetch(`${s.url}/healthz`)))).every((r) => r.ok);
    },
    close: () => c.close(),
  };
});
