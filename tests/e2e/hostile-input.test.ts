import { describeHostileInput } from "../hostile-input/cases.js";
import { startTestPlatform } from "./fixtures.js";

describeHostileInput("hostile input, embedded platform", async () => {
  const p = await startTestPlatform();
  return {
    realtime: [p.urls.realtime, p.urls.realtime],
    rest: p.urls.rest,
    developer: () => p.developer(),
    async alive() {
      const probes = [p.urls.controlPlane, p.urls.realtime, p.urls.rest].map((u) => fetch(`${u}/healthz`));
      return (await Promise.all(probes)).every((r) => r.ok);
    },
    close: () => p.close(),
  };
});
