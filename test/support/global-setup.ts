/**
 * One PostgreSQL server per test run: the server named by DATABASE_URL, or else an embedded
 * PostgreSQL 17 started in a throw-away folder. Workers read PHI_TEST_ADMIN_URL.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmbedded } from "../../cli/embedded";

export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.PHI_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-test-"));
  fs.chmodSync(baseDir, 0o755);
  const server = await startEmbedded({ baseDir });
  process.env.PHI_TEST_ADMIN_URL = server.adminUrl;
  process.env.PHI_TEST_PG_BASEDIR = baseDir;
}
