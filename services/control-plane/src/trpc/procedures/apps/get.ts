import { appToOutput } from "../../outputs.js";
import { appOutput } from "../../schemas.js";
import { appProcedure } from "../../trpc.js";

export const get = appProcedure.output(appOutput).query(({ ctx }) => appToOutput(ctx.app));
