/**
 * Typed, validated stack configuration: the ONLY place defaults live.
 *
 * `parseStackConfig` is pure (no Pulumi import needed to call it): the Pulumi program feeds it
 * `pulumi.runtime.allConfig()`, the `phi-db` CLI feeds it the `config:` map of `Pulumi.<env>.yaml`.
 * Every key is declared once in `SPEC` with its default and what it allows; a missing or invalid
 * value fails with an error naming the key and what is allowed.
 */

export const PROJECT = "phi-db";

export const ENVIRONMENTS = ["local", "dev", "staging", "prod"] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];

/** Raw stack configuration: keys with or without the `phi-db:` namespace, values as YAML or strings. */
export type RawConfig = Record<string, unknown>;

export class ConfigError extends Error {
  constructor(
    public readonly key: string,
    message: string,
  ) {
    super(`config ${PROJECT}:${key}: ${message}`);
    this.name = "ConfigError";
  }
}

type Kind = "string" | "int" | "bool" | "duration" | "stringList" | "stringMap";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySpec = KeySpec<any>;

export interface KeySpec<T> {
  kind: Kind;
  /** Default value; `undefined` means the key is required. */
  default?: T | ((env: EnvironmentName) => T);
  /** Allowed values (enumerations), or a predicate with a description of what it allows. */
  allowed?: readonly T[] | { test: (v: T) => boolean; says: string };
  doc: string;
}

/**
 * Every configuration key of the database layer. Secure defaults: a stack must opt *in* to
 * anything less strict, and the strict-only rules (no rollback, no seed data outside local/dev)
 * are also enforced in `validateRules`.
 */
export const DATABASE_SPEC = {
  environment: {
    kind: "string",
    allowed: ENVIRONMENTS,
    doc: "Environment name; decides which relaxed rules the stack may opt into.",
  } as KeySpec<string>,
  databaseName: {
    kind: "string",
    default: "phi",
    allowed: { test: (v: string) => /^[a-z][a-z0-9_]{0,62}$/.test(v), says: "a lower-case identifier (a-z, 0-9, _)" },
    doc: "Name of the application database.",
  } as KeySpec<string>,
  allowRollback: {
    kind: "bool",
    default: false,
    doc: "Allow `phi-db rollback` (down files). Only local/dev may set true.",
  } as KeySpec<boolean>,
  allowOutOfOrder: {
    kind: "bool",
    default: false,
    doc: "Allow applying a new migration older than the newest applied one.",
  } as KeySpec<boolean>,
  lintBlocking: {
    kind: "bool",
    default: true,
    doc: "Lint errors on pending migrations stop the run (otherwise they are warnings).",
  } as KeySpec<boolean>,
  loadSeed: {
    kind: "bool",
    default: false,
    doc: "Load the synthetic demo data in sql/seed/<env>/. Only local/dev may set true.",
  } as KeySpec<boolean>,
  lockTimeout: {
    kind: "duration",
    default: "5s",
    doc: "`lock_timeout` inside each migration's transaction.",
  } as KeySpec<string>,
  statementTimeout: {
    kind: "duration",
    default: "15min",
    doc: "`statement_timeout` inside each migration's transaction.",
  } as KeySpec<string>,
  migrationLockWaitSeconds: {
    kind: "int",
    default: 60,
    allowed: { test: (v: number) => v >= 0 && v <= 3600, says: "0 to 3600" },
    doc: "How long to wait for another run's migration lock before failing with the holder named.",
  } as KeySpec<number>,
  ownerRole: {
    kind: "string",
    default: "phi_owner",
    allowed: { test: (v: string) => /^[a-z_][a-z0-9_]{0,62}$/.test(v), says: "a lower-case role name" },
    doc: "NOLOGIN role that owns every object; migrations run as this role (SET ROLE).",
  } as KeySpec<string>,
  optionalExtensions: {
    kind: "stringList",
    default: (env: EnvironmentName) => (env === "local" ? ["pgaudit", "pg_cron", "pg_partman"] : []),
    doc: "Extensions that may be missing on this server (skipped with a notice).",
  } as KeySpec<string[]>,
  placeholders: {
    kind: "stringMap",
    default: {},
    doc: "Extra `${name}` placeholders rendered into SQL files (`${env}` is always set).",
  } as KeySpec<Record<string, string>>,
} as const;

export interface DatabaseLayerConfig {
  environment: EnvironmentName;
  databaseName: string;
  allowRollback: boolean;
  allowOutOfOrder: boolean;
  lintBlocking: boolean;
  loadSeed: boolean;
  lockTimeout: string;
  statementTimeout: string;
  migrationLockWaitSeconds: number;
  ownerRole: string;
  optionalExtensions: string[];
  placeholders: Record<string, string>;
}

export interface StackConfig {
  stack: string;
  database: DatabaseLayerConfig;
}

/** Strip the project namespace (`phi-db:key` -> `key`); keys of other namespaces are dropped. */
export function normaliseRaw(raw: RawConfig): RawConfig {
  const out: RawConfig = {};
  for (const [k, v] of Object.entries(raw)) {
    const i = k.indexOf(":");
    if (i < 0) out[k] = v;
    else if (k.slice(0, i) === PROJECT) out[k.slice(i + 1)] = v;
  }
  return out;
}

const DURATION = /^\d+(ms|s|min|h)$/;

function coerce(key: string, spec: AnySpec, value: unknown): unknown {
  const asJson = (v: unknown) => {
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v);
    } catch {
      throw new ConfigError(key, `expected ${spec.kind === "stringList" ? "a list of strings" : "a map of strings"}, got ${JSON.stringify(v)}`);
    }
  };
  switch (spec.kind) {
    case "string":
      if (typeof value !== "string" || value === "") throw new ConfigError(key, `expected a non-empty string, got ${JSON.stringify(value)}`);
      return value;
    case "bool":
      if (value === true || value === "true") return true;
      if (value === false || value === "false") return false;
      throw new ConfigError(key, `expected true or false, got ${JSON.stringify(value)}`);
    case "int": {
      const n = typeof value === "number" ? value : typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n)) throw new ConfigError(key, `expected a whole number, got ${JSON.stringify(value)}`);
      return n;
    }
    case "duration":
      if (typeof value !== "string" || !DURATION.test(value)) {
        throw new ConfigError(key, `expected a duration like 500ms, 5s, 15min or 1h, got ${JSON.stringify(value)}`);
      }
      return value;
    case "stringList": {
      const v = asJson(value);
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new ConfigError(key, `expected a list of strings, got ${JSON.stringify(value)}`);
      return v;
    }
    case "stringMap": {
      const v = asJson(value);
      if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.values(v).every((x) => typeof x === "string")) {
        throw new ConfigError(key, `expected a map of strings, got ${JSON.stringify(value)}`);
      }
      return v;
    }
  }
}

function checkAllowed(key: string, spec: AnySpec, value: unknown) {
  const allowed = spec.allowed;
  if (!allowed) return;
  if (Array.isArray(allowed)) {
    if (!allowed.includes(value)) throw new ConfigError(key, `expected one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  } else {
    const a = allowed as { test: (v: unknown) => boolean; says: string };
    if (!a.test(value)) throw new ConfigError(key, `expected ${a.says}, got ${JSON.stringify(value)}`);
  }
}

/** Reads every key of `spec` from `raw`, applying defaults; throws ConfigError naming the key. */
export function readSection<S extends Record<string, AnySpec>>(
  spec: S,
  raw: RawConfig,
  env: EnvironmentName,
): { [K in keyof S]: unknown } {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(spec)) {
    const present = raw[key] !== undefined && raw[key] !== null;
    if (!present && s.default === undefined) throw new ConfigError(key, "is required" + (s.allowed && Array.isArray(s.allowed) ? ` (one of ${s.allowed.join(", ")})` : ""));
    const value = present ? coerce(key, s, raw[key]) : typeof s.default === "function" ? (s.default as (e: EnvironmentName) => unknown)(env) : s.default;
    checkAllowed(key, s, value);
    out[key] = value;
  }
  return out as { [K in keyof S]: unknown };
}

/** Rules that no stack config can relax: rollback and seed data only in local/dev. */
export function validateRules(db: DatabaseLayerConfig): void {
  const relaxed = db.environment === "local" || db.environment === "dev";
  if (db.allowRollback && !relaxed) throw new ConfigError("allowRollback", `must be false in ${db.environment} (rollback is allowed only in local and dev)`);
  if (db.loadSeed && !relaxed) throw new ConfigError("loadSeed", `must be false in ${db.environment} (seed data is allowed only in local and dev)`);
}

export function parseDatabaseConfig(raw: RawConfig): DatabaseLayerConfig {
  const r = normaliseRaw(raw);
  const envRaw = r.environment;
  if (typeof envRaw !== "string" || !(ENVIRONMENTS as readonly string[]).includes(envRaw)) {
    throw new ConfigError("environment", `expected one of ${ENVIRONMENTS.join(", ")}, got ${JSON.stringify(envRaw)}`);
  }
  const db = readSection(DATABASE_SPEC, r, envRaw as EnvironmentName) as unknown as DatabaseLayerConfig;
  validateRules(db);
  return db;
}

/** The whole stack's configuration. */
export function parseStackConfig(raw: RawConfig, stack: string): StackConfig {
  return { stack, database: parseDatabaseConfig(raw) };
}
