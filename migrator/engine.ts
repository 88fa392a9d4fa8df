/**
 * One run of the database layer, shared by the CLI and the Pulumi dynamic provider:
 * load the files, (locally) apply the access model, migrate, run the checks on the same session.
 */
import * as path from "path";
import type { Client } from "pg";
import { migrate, RunContext, RunResult } from "./apply";
import { CheckOptions, ChecksFailedError, CheckResult, declaredPolicies, runChecks } from "./checks";
import { loadProject, migrationMap, repeatableMap, SqlProject } from "./files";

export interface LayerSettings extends RunContext {
  /** The repository's `sql/` folder. */
  sqlRoot: string;
  placeholders: Record<string, string>;
  loadSeed: boolean;
  /** `seed/<seedSet>/` is loaded when loadSeed is set. Defaults to the environment name. */
  seedSet?: string;
  /** What the checks require; `declaredPolicies` is computed from the files. */
  checks?: Omit<CheckOptions, "declaredPolicies">;
  /**
   * Checksums the caller planned with (the Pulumi inputs). When set, the files on disk must still
   * match them, so `pulumi up` applies exactly what `pulumi preview` showed.
   */
  expected?: { migrations: Record<string, string>; repeatables: Record<string, string> };
  /** Runs on the locked session before migrations (locally: the access model). */
  beforeMigrate?: (client: Client) => Promise<void>;
}

export interface LayerResult extends RunResult {
  checks: CheckResult[];
}

export function loadLayerFiles(s: Pick<LayerSettings, "sqlRoot" | "environment" | "placeholders" | "loadSeed" | "seedSet">): SqlProject {
  return loadProject(path.resolve(s.sqlRoot), { environment: s.environment, placeholders: s.placeholders, includeSeeds: s.loadSeed, seedSet: s.seedSet });
}

function sameMap(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => a[k] !== b[k]).sort();
}

export async function runLayer(s: LayerSettings): Promise<LayerResult> {
  const project = loadLayerFiles(s);
  if (s.expected) {
    const changed = [...sameMap(s.expected.migrations, migrationMap(project)), ...sameMap(s.expected.repeatables, repeatableMap(project))];
    if (changed.length) {
      throw new Error(`the SQL files changed since this run was planned (${changed.join(", ")}); run preview again`);
    }
  }
  let checks: CheckResult[] = [];
  const result = await migrate(s, project, async (client) => {
    if (!s.checks) return;
    checks = await runChecks(client, { ...s.checks, declaredPolicies: await declaredPolicies(project) });
    if (checks.some((c) => !c.ok)) throw new ChecksFailedError(checks);
  }, s.beforeMigrate);
  return { ...result, checks };
}
