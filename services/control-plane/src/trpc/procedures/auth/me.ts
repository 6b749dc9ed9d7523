import { loadMe } from "../../../accounts.js";
import { meOutput } from "../../schemas.js";
import { authedProcedure } from "../../trpc.js";

export const me = authedProcedure.output(meOutput).query(({ ctx }) => loadMe(ctx.services.db, ctx.user.id));
