/** `phi-db lint`: lint pending migrations (squawk + phi-db rules). */
import type { RunContext } from "../migrator/apply";
import type { SqlProject } from "../migrator/files";

export async function lintCommand(_ctx: RunContext, _project: SqlProject, _opts: { json: boolean; blocking: boolean }, io: { err: (s: string) => void }): Promise<number> {
  io.err("phi-db lint: not implemented yet");
  return 2;
}
