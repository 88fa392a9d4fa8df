/**
 * The access model as the CLI uses it: what the post-apply checks require, and (local databases,
 * or `--apply-access`) the rendered access SQL applied before migrations. On RDS, Pulumi applies
 * the same model through @pulumi/postgresql instead.
 */
import * as path from "path";
import type { Client } from "pg";
import type { DatabaseLayerConfig } from "../components/config";
import { loadAccessModel, requestRoles, requiredExtensions, rlsSchemas } from "../migrator/access-model";
import { applyAccessModel } from "../migrator/access-sql";
import type { CheckOptions } from "../migrator/checks";

export interface AccessHooks {
  /** The NOLOGIN owner role migrations run as (the model's `owner`). */
  owner: string;
  checks: Omit<CheckOptions, "declaredPolicies">;
  beforeMigrate?: (client: Client) => Promise<void>;
}

export function accessHooks(root: string, cfg: DatabaseLayerConfig, applyAccess: boolean, log: (s: string) => void): AccessHooks {
  const model = loadAccessModel(path.join(root, "sql", "access.json"));
  return {
    owner: model.owner,
    checks: {
      managedSchemas: rlsSchemas(model),
      requiredExtensions: requiredExtensions(model, cfg.optionalExtensions),
      requestRoles: requestRoles(model),
    },
    beforeMigrate: applyAccess
      ? async (client) => {
          log("applying the access model (roles, schemas, extensions, grants) ...");
          await applyAccessModel(client, model, { environment: cfg.environment, optionalExtensions: cfg.optionalExtensions, log });
        }
      : undefined,
  };
}
