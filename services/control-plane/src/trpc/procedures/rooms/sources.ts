import { RelaybaseError } from "@relaybase/protocol";
import type { RoomSources } from "../../../services.js";
import type { Services } from "../../context.js";

/** The room inspector's sources, or UNAVAILABLE: a control plane alone has no realtime side to ask. */
export function roomSources(services: Services): RoomSources {
  const sources = services.rooms();
  if (!sources) {
    throw new RelaybaseError(
      "UNAVAILABLE",
      "This control plane cannot see the realtime side (set REDIS_URL to the cluster's Redis).",
    );
  }
  return sources;
}
