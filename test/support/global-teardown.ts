import * as fs from "fs";
import { stopEmbedded } from "../../cli/embedded";

export default async function globalTeardown(): Promise<void> {
  const baseDir = process.env.PHI_TEST_PG_BASEDIR;
  if (!baseDir) return;
  stopEmbedded(baseDir, "immediate");
  fs.rmSync(baseDir, { recursive: true, force: true });
}
