/**
 * The schema resource's provider methods as plain async functions. Structurally a
 * `pulumi.dynamic.ResourceProvider`, with no Pulumi import: `components/schema.ts` hands this object
 * to `pulumi.dynamic.Resource`, which serializes it (and, by value, the local modules it uses).
 *
 *  - diff is pure (state vs inputs) and never connects; unknown inputs in a first preview are fine.
 *  - create/update run the migrator, then `app.on_schema_apply(<modules, requestGuard>)` (so a
 *    settings-only change is an update too); delete drops nothing (the database outlives the resource);
 *    nothing is ever replaced; read (refresh) reads the ledger so out-of-band changes show as drift.
 *  - The password arrives as a secret input; outputs keep the same property, so the engine keeps it
 *    secret in state. It is never logged or put in another output. A new password alone (a rotated
 *    login secret) is an update that only records it, after one test connection; nothing runs.
 */
import * as path from "path";
import type { RunRules } from "./apply";
import type { CheckOptions } from "./checks";
import { connect, ConnectionParams, readHistory } from "./db";
import { runLayer, type RequestGuard } from "./engine";
import { loadProject } from "./files";
import { lintMigrations } from "./lint";

export interface SchemaInputs {
  environment: string;
  stack: string;
  /** The `sql/` folder, relative to the Pulumi program's directory. */
  sqlDir: string;
  /** `{ "<version>_<name>": sha256 }` of every versioned migration. */
  migrations: Record<string, string>;
  /** `{ "functions/x.sql": sha256, ... }` of every repeatable (and seed) file. */
  repeatables: Record<string, string>;
  connection: ConnectionParams;
  rules: RunRules;
  ownerRole?: string;
  placeholders: Record<string, string>;
  loadSeed: boolean;
  checks: Omit<CheckOptions, "declaredPolicies">;
  /** Lint errors on pending migrations fail `check` (so `pulumi preview`). Unset: blocking in prod only. */
  lintBlocking?: boolean;
  /**
   * Set by `check`: lint warnings (and non-blocking errors) on the pending migrations. A dynamic
   * provider cannot log, so they travel as this input: `pulumi preview --diff` shows them on the
   * resource, and the state keeps those of the last applied batch.
   */
  lintWarnings?: string[];
  /**
   * Every optional module the stack config manages, on or off (`phi-db:modules`), and the request
   * guard (`phi-db:requestGuard`): `app.on_schema_apply` makes the database match them after every
   * create/update. A change to either is an update (never a replacement). Unset: left as they are.
   */
  modules?: Record<string, boolean>;
  requestGuard?: RequestGuard;
}

export interface SchemaOutputs extends SchemaInputs {
  /** Newest applied version. */
  lastVersion: string;
  /** Files applied by the last create/update. */
  lastApplied: string[];
  /** What `app.on_schema_apply` did in the last create/update (`<task>: <result>`). */
  lastOnApply: string[];
}

/**
 * Inputs that are not schema: a change to them is never a diff. (An array, not a Set: module-level
 * values are serialized by value with the provider, and the serializer copies plain data only.)
 */
const IGNORED = ["__provider", "lastVersion", "lastApplied", "lastOnApply", "lintBlocking", "lintWarnings"];

/** The engine's placeholder for a value not known yet (first preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function stable(v: unknown): string {
  if (Array.isArray(v)) return "[" + v.map(stable).join(",") + "]";
  if (v && typeof v === "object") {
    return "{" + Object.keys(v as object).sort().map((k) => JSON.stringify(k) + ":" + stable((v as Record<string, unknown>)[k])).join(",") + "}";
  }
  return JSON.stringify(v);
}

/** Top-level properties that differ; the password alone is not a schema change. */
export function changedProperties(olds: Record<string, unknown>, news: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  const out: string[] = [];
  for (const k of keys) {
    if (IGNORED.includes(k)) continue;
    let a = olds[k];
    let b = news[k];
    if (k === "connection") {
      const { password: _pa, ...ra } = (a ?? {}) as ConnectionParams;
      const { password: _pb, ...rb } = (b ?? {}) as ConnectionParams;
      a = ra;
      b = rb;
    }
    if (stable(a) !== stable(b)) out.push(k);
  }
  return out.sort();
}

/**
 * True when the connection's password is all that differs (a rotation of the login secret, read by
 * the program at deploy time): an update then records the new password in state, after one test
 * connection, and runs nothing. Without it a refresh after a rotation would connect with the stale
 * password from state.
 */
export function onlyPasswordChanged(olds: Record<string, unknown>, news: Record<string, unknown>): boolean {
  const password = (v: unknown) => (v && typeof v === "object" ? (v as ConnectionParams).password : undefined);
  return changedProperties(olds, news).length === 0 && password(olds.connection) !== password(news.connection);
}

function checkInputs(news: Record<string, unknown>): Array<{ property: string; reason: string }> {
  const failures: Array<{ property: string; reason: string }> = [];
  const isMap = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  for (const k of ["migrations", "repeatables"]) {
    const v = news[k];
    if (v === undefined) failures.push({ property: k, reason: `${k} is required: a map of file key to sha256` });
    else if (isMap(v)) {
      for (const [key, sum] of Object.entries(v as object)) {
        if (typeof sum === "string" && !/^[0-9a-f]{64}$/.test(sum)) failures.push({ property: k, reason: `${key}: expected a sha256 hex checksum` });
      }
    }
  }
  if (typeof news.environment === "string" && news.environment !== UNKNOWN && !["local", "dev", "staging", "prod"].includes(news.environment)) {
    failures.push({ property: "environment", reason: `expected one of local, dev, staging, prod, got ${news.environment}` });
  }
  const modules = news.modules;
  if (modules !== undefined && !hasUnknown(modules) && !(isMap(modules) && Object.values(modules as object).every((v) => typeof v === "boolean"))) {
    failures.push({ property: "modules", reason: `expected a map of module name to true/false, got ${JSON.stringify(modules)}` });
  }
  const guard = news.requestGuard;
  if (guard !== undefined && !hasUnknown(guard) && !(isMap(guard) && Object.keys(guard as object).every((k) => k === "ipAllowlist" || k === "businessHours"))) {
    failures.push({ property: "requestGuard", reason: `expected a map with ipAllowlist and/or businessHours, got ${JSON.stringify(guard)}` });
  }
  if ((modules === undefined) !== (guard === undefined)) {
    failures.push({ property: modules === undefined ? "modules" : "requestGuard", reason: "modules and requestGuard are set together (the stack settings of app.on_schema_apply)" });
  }
  return failures;
}

/** Anything unknown (the engine's sentinel) at any depth. */
function hasUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(hasUnknown);
  if (v && typeof v === "object") return Object.values(v as object).some(hasUnknown);
  return false;
}

/**
 * Lints the migrations pending relative to the state (keys of `news.migrations` absent from
 * `olds.migrations`), reading the files from `news.sqlDir` relative to the program's directory.
 * No database access. Skipped while the inputs it needs are unknown (a first preview).
 */
export async function lintPending(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<{ failures: Array<{ property: string; reason: string }>; warnings: string[] }> {
  const none = { failures: [], warnings: [] };
  const { migrations, sqlDir, environment } = news;
  const placeholders = news.placeholders ?? {};
  if (hasUnknown([migrations, sqlDir, environment, placeholders, news.checks, news.lintBlocking])) return none;
  if (!migrations || typeof migrations !== "object" || typeof sqlDir !== "string" || typeof environment !== "string") return none;
  const blocking = typeof news.lintBlocking === "boolean" ? news.lintBlocking : environment === "prod";
  const applied = olds.migrations && typeof olds.migrations === "object" ? Object.keys(olds.migrations as object) : [];
  const pendingKeys = Object.keys(migrations as object).filter((k) => !applied.includes(k));
  if (!pendingKeys.length) return none;
  const where = (file: string) => (path.isAbsolute(sqlDir) ? file : `${sqlDir.replace(/\/+$/, "")}/${file}`);
  try {
    const project = loadProject(path.resolve(process.cwd(), sqlDir), { environment, placeholders: placeholders as Record<string, string> });
    const pending = project.migrations.filter((m) => pendingKeys.includes(m.key));
    const managed = (news.checks as { managedSchemas?: unknown } | undefined)?.managedSchemas;
    const findings = await lintMigrations(pending, { managedSchemas: Array.isArray(managed) ? managed.filter((x): x is string => typeof x === "string") : [] });
    const failures: Array<{ property: string; reason: string }> = [];
    const warnings: string[] = [];
    for (const f of findings) {
      const text = `${where(f.file)}:${f.line}: ${f.rule}: ${f.message}`;
      // No property name: the engine would print the property's whole value (every checksum) before each reason.
      if (f.severity === "error" && blocking) failures.push({ property: "", reason: `lint error: ${text}` });
      else warnings.push(`${f.severity === "error" ? "error (not blocking here)" : "warning"}: ${text}`);
    }
    return { failures, warnings };
  } catch (e) {
    const text = `phi-db lint could not run on the pending migrations: ${(e as Error).message}`;
    return blocking ? { failures: [{ property: "", reason: text }], warnings: [] } : { failures: [], warnings: [text] };
  }
}

async function apply(inputs: SchemaInputs): Promise<SchemaOutputs> {
  const result = await runLayer({
    sqlRoot: path.resolve(process.cwd(), inputs.sqlDir),
    connection: inputs.connection,
    environment: inputs.environment,
    stack: inputs.stack,
    rules: inputs.rules,
    ownerRole: inputs.ownerRole,
    placeholders: inputs.placeholders,
    loadSeed: inputs.loadSeed,
    checks: inputs.checks,
    expected: { migrations: inputs.migrations, repeatables: inputs.repeatables },
    settings: inputs.modules && inputs.requestGuard ? { modules: inputs.modules, requestGuard: inputs.requestGuard } : undefined,
  });
  const versions = Object.keys(inputs.migrations).sort();
  return {
    ...inputs,
    lastVersion: versions.length ? versions[versions.length - 1].slice(0, 11) : "",
    lastApplied: [...result.applied, ...result.repeatables].map((a) => a.file),
    lastOnApply: result.onApply.map((r) => `${r.task}: ${r.result}`),
  };
}

export const schemaProvider = {
  /**
   * Validates the inputs, then lints the pending migrations: blocking errors (prod, or
   * `lintBlocking: true`) are check failures, so `pulumi preview` fails; everything else comes back
   * as the `lintWarnings` input (shown by `pulumi preview --diff`, never a diff by itself).
   */
  async check(olds: Record<string, unknown>, news: Record<string, unknown>) {
    const failures = checkInputs(news);
    if (failures.length) return { inputs: news, failures };
    const { lintWarnings: _previous, ...rest } = news;
    const lint = await lintPending(olds ?? {}, rest);
    return { inputs: lint.warnings.length ? { ...rest, lintWarnings: lint.warnings } : rest, failures: lint.failures };
  },

  async diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>) {
    const changed = changedProperties(olds, news);
    if (onlyPasswordChanged(olds, news)) changed.push("connection");
    const all = new Set([...Object.keys(olds), ...Object.keys(news)].filter((k) => !IGNORED.includes(k)));
    return {
      changes: changed.length > 0,
      replaces: [] as string[],
      stables: [...all].filter((k) => !changed.includes(k)),
      deleteBeforeReplace: false,
    };
  },

  async create(inputs: SchemaInputs) {
    const outs = await apply(inputs);
    return { id: `phi-db-schema/${inputs.stack}`, outs };
  },

  async update(_id: string, olds: SchemaOutputs, news: SchemaInputs) {
    if (onlyPasswordChanged(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>)) {
      const client = await connect(news.connection, `phi-db (${news.stack}/${news.environment}): new password`);
      await client.end();
      return { outs: { ...olds, connection: news.connection } };
    }
    return { outs: await apply(news) };
  },

  /** The database outlives this resource: deleting it from the stack drops nothing. */
  async delete(_id: string, _props: SchemaOutputs) {
    return;
  },

  /** Refresh: the ledger's checksums replace the recorded ones, so out-of-band changes show as a diff. */
  async read(id: string, props: SchemaOutputs) {
    const client = await connect(props.connection, `phi-db refresh (${props.stack}/${props.environment})`);
    try {
      const history = await readHistory(client);
      const migrations: Record<string, string> = {};
      const repeatables: Record<string, string> = {};
      for (const h of history) {
        if (h.kind === "versioned") migrations[h.key] = h.checksum;
        else repeatables[h.key] = h.checksum;
      }
      return { id, props: { ...props, migrations, repeatables } };
    } finally {
      await client.end();
    }
  },
};
