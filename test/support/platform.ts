/**
 * The whole database layer on a test database through the real engine: the access model (as SQL),
 * every migration, the repeatables (and optionally the seeds), then the post-apply checks.
 */
import * as path from "path";
import { loadAccessModel, requestRoles, requiredExtensions, rlsSchemas } from "../../migrator/access-model";
import { applyAccessModel } from "../../migrator/access-sql";
import { LayerResult, runLayer, StackSettings } from "../../migrator/engine";

export const REPO_ROOT = path.resolve(__dirname, "../..");
export const OPTIONAL_LOCALLY = ["pgaudit", "pg_cron", "pg_partman"];

export interface PlatformOptions {
  environment?: string;
  loadSeed?: boolean;
  /** Another `sql/` folder (defaults to the repository's). */
  sqlRoot?: string;
  log?: (line: string) => void;
  /** Modules / request guard for app.on_schema_apply. Defaults to none (left as they are). */
  settings?: StackSettings;
}

export async function applyPlatform(url: string, opts: PlatformOptions = {}): Promise<LayerResult> {
  const environment = opts.environment ?? "local";
  const model = loadAccessModel(path.join(REPO_ROOT, "sql", "access.json"));
  return runLayer({
    connection: { connectionString: url },
    environment,
    stack: environment,
    rules: { allowOutOfOrder: false, allowRollback: true, lockTimeout: "5s", statementTimeout: "5min", lockWaitSeconds: 120 },
    ownerRole: model.owner,
    sqlRoot: opts.sqlRoot ?? path.join(REPO_ROOT, "sql"),
    placeholders: {},
    loadSeed: opts.loadSeed ?? false,
    checks: {
      managedSchemas: rlsSchemas(model),
      requiredExtensions: requiredExtensions(model, OPTIONAL_LOCALLY),
      requestRoles: requestRoles(model),
    },
    beforeMigrate: async (client) => {
      await applyAccessModel(client, model, { environment, optionalExtensions: OPTIONAL_LOCALLY, log: opts.log });
    },
    log: opts.log,
    settings: opts.settings,
  });
}
