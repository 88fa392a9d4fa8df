/**
 * One run of the database layer, shared by the CLI and the Pulumi dynamic provider:
 * load the files, (locally) apply the access model, migrate, then on the same locked session
 * `app.on_schema_apply(<stack settings>)` (partition window, modules, request guard; only where the
 * project defines it) and the checks.
 */
import * as path from "path";
import type { Client } from "pg";
import { migrate, RunContext, RunResult, setTimeouts } from "./apply";
import { CheckOptions, ChecksFailedError, CheckResult, declaredPolicies, runChecks } from "./checks";
import { loadProject, migrationMap, repeatableMap, SqlProject } from "./files";

/** Business hours of the request guard (tenant.instance_settings `security.business_hours`). */
export interface BusinessHours {
  /** IANA time zone the hours are read in. */
  timezone: string;
  /** ISO weekdays (1 = Monday). */
  days: number[];
  /** "HH:MM", inclusive. */
  start: string;
  /** "HH:MM" (or "24:00"), exclusive. */
  end: string;
}

/** The RLS request guard; a part left out is off (`{}`: no guard). */
export interface RequestGuard {
  /** `security.ip_allowlist`: CIDRs the request's client IP must be inside. */
  ipAllowlist?: string[];
  /** `security.business_hours`: outside them only crisis grantees pass. */
  businessHours?: BusinessHours;
}

/** What the stack config says the database must hold after every apply (`app.on_schema_apply`). */
export interface StackSettings {
  /** Every optional module the config manages, on or off. */
  modules: Record<string, boolean>;
  requestGuard: RequestGuard;
}

/** One line of what `app.on_schema_apply` did (partition window, strays, modules, guard). */
export interface OnApplyRow {
  task: string;
  result: string;
}

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
  /**
   * Modules and request guard `app.on_schema_apply` makes the database match. Defaults to none: the
   * function then only keeps the partition window, and leaves modules and guard rows as they are.
   */
  settings?: StackSettings;
}

export interface LayerResult extends RunResult {
  checks: CheckResult[];
  /** Rows of `app.on_schema_apply`; empty when the project has no such function. */
  onApply: OnApplyRow[];
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
  let onApply: OnApplyRow[] = [];
  const result = await migrate(s, project, async (client) => {
    onApply = await runOnSchemaApply(client, s);
    if (!s.checks) return;
    checks = await runChecks(client, { ...s.checks, declaredPolicies: await declaredPolicies(project) });
    if (checks.some((c) => !c.ok)) throw new ChecksFailedError(checks);
  }, s.beforeMigrate);
  return { ...result, checks, onApply };
}

/**
 * After every apply, even when nothing was pending: `app.on_schema_apply(settings jsonb)` in one
 * transaction with the run's timeouts. A project without the function (fixtures, benchmarks) is
 * fine: nothing is called. A project with only the older zero-argument form gets that one (it
 * cannot take settings; none may have been asked for).
 */
export async function runOnSchemaApply(client: Client, s: Pick<LayerSettings, "settings" | "rules">): Promise<OnApplyRow[]> {
  const found = await client.query<{ with_settings: boolean; without: boolean }>(
    "select to_regprocedure('app.on_schema_apply(jsonb)') is not null as with_settings, to_regprocedure('app.on_schema_apply()') is not null as without",
  );
  const { with_settings, without } = found.rows[0];
  if (!with_settings && !without) return [];
  if (!with_settings && s.settings) {
    throw new Error("app.on_schema_apply() takes no settings in this database, but the stack config sets modules/requestGuard: the project's sql/functions must define app.on_schema_apply(jsonb)");
  }
  const settings = s.settings ? JSON.stringify({ modules: s.settings.modules, requestGuard: s.settings.requestGuard }) : null;
  await client.query("begin");
  try {
    await setTimeouts(client, s.rules, true);
    const r = with_settings
      ? await client.query<OnApplyRow>("select task::text, result::text from app.on_schema_apply($1::jsonb)", [settings])
      : await client.query<OnApplyRow>("select task::text, result::text from app.on_schema_apply()");
    await client.query("commit");
    return r.rows.map((x) => ({ task: x.task, result: x.result }));
  } catch (e) {
    await client.query("rollback").catch(() => undefined);
    throw new Error(`app.on_schema_apply failed (nothing of it was kept): ${(e as Error).message}`);
  }
}
