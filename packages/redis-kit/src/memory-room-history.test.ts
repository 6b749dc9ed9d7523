import { MemoryRoomHistory } from "@relaybase/server-kit";
import { describeRoomHistoryContract } from "./testing/room-history-contract.js";

// The reference implementation must pass the contract the Redis one is held to.
describeRoomHistoryContract("MemoryRoomHistory", (now) => new MemoryRoomHistory(now));
