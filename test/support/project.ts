/** Throw-away SQL project folders for migrator tests. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { RunContext, RunRules } from "../../migrator/apply";
import { loadProject, SqlProject } from "../../migrator/files";

export class FixtureProject {
  readonly root: string;
  constructor(files: Record<string, string> = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-sql-"));
    this.write(files);
  }
  write(files: Record<string, string>): this {
    for (const [rel, text] of Object.entries(files)) {
      const p = path.join(this.root, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, text);
    }
    return this;
  }
  remove(rel: string): this {
    fs.rmSync(path.join(this.root, rel));
    return this;
  }
  load(environment = "dev", includeSeeds = false): SqlProject {
    return loadProject(this.root, { environment, includeSeeds });
  }
  dispose() {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export const DEV_RULES: RunRules = { allowOutOfOrder: true, allowRollback: true, lockTimeout: "5s", statementTimeout: "1min", lockWaitSeconds: 10 };
export const PROD_RULES: RunRules = { allowOutOfOrder: false, allowRollback: false, lockTimeout: "3s", statementTimeout: "1min", lockWaitSeconds: 10 };

export function ctxFor(url: string, rules: RunRules = DEV_RULES, environment = rules.allowRollback ? "dev" : "prod"): RunContext {
  return { connection: { connectionString: url }, environment, stack: environment, rules };
}
