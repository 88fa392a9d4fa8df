/**
 * Typed, validated stack configuration: the ONLY place defaults live.
 *
 * `parseStackConfig` is pure (no Pulumi import needed to call it): the Pulumi program feeds it
 * `pulumi.runtime.allConfig()`, the `phi-db` CLI feeds it the `config:` map of `Pulumi.<env>.yaml`.
 * Every key is declared once in `SPEC` with its default and what it allows; a missing or invalid
 * value fails with an error naming the key and what is allowed.
 */

import * as net from "net";
import type { RunRules } from "../migrator/apply";
import type { BusinessHours, RequestGuard, StackSettings } from "../migrator/engine";

export type { BusinessHours, RequestGuard, StackSettings };

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

type Kind = "string" | "int" | "bool" | "duration" | "stringList" | "stringMap" | "object";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySpec = KeySpec<any>;

export interface KeySpec<T> {
  kind: Kind;
  /** Default value; `undefined` means the key is required. */
  default?: T | ((env: EnvironmentName) => T);
  /**
   * Allowed values (enumerations), or a predicate with a description of what it allows. A structured
   * value may also say which part of it is wrong (`problem`), and normalise it (`normalise`).
   */
  allowed?: readonly T[] | { test: (v: T) => boolean; says: string; problem?: (v: T) => string | undefined; normalise?: (v: T) => T };
  doc: string;
}

/** Optional modules the stack config switches (values of tenant.instance_module_activations.module_name). */
export const MODULES = ["ecommerce"] as const;

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
  seedSet: {
    kind: "string",
    default: "dev",
    allowed: { test: (v: string) => /^[a-z0-9_-]+$/.test(v), says: "a folder name under sql/seed/" },
    doc: "Which sql/seed/<set>/ folder loadSeed applies (local uses the dev demo data).",
  } as KeySpec<string>,
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
  sslRootCertPath: {
    kind: "string",
    default: "certs/rds-global-bundle.pem",
    doc: "PEM bundle of the RDS certificate authorities (relative to the project), used to verify the server certificate (sslmode verify-full).",
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
  modules: {
    kind: "stringList",
    default: [],
    allowed: {
      test: (v: string[]) => v.every((m) => (MODULES as readonly string[]).includes(m)) && new Set(v).size === v.length,
      says: `a list of distinct optional modules from: ${MODULES.join(", ")}`,
    },
    doc: "Optional modules switched on (tenant.instance_module_activations) after every apply; a module left out is switched off (its tables refuse writes, PHM01).",
  } as KeySpec<string[]>,
  requestGuard: {
    kind: "object",
    default: {},
    allowed: {
      test: (v: RequestGuard) => requestGuardProblem(v) === undefined,
      says: "{} (off), or ipAllowlist: [CIDR, ...] and/or businessHours: {timezone: IANA zone, days: [1-7], start: HH:MM, end: HH:MM}",
      problem: requestGuardProblem,
      normalise: normaliseRequestGuard,
    },
    doc: "RLS request guard written to tenant.instance_settings (security.ip_allowlist, security.business_hours) after every apply; a part left out is removed.",
  } as KeySpec<RequestGuard>,
} as const;

/** "HH:MM", 00:00-23:59 (windows, business hours). */
const HHMM = "([01]\\d|2[0-3]):[0-5]\\d";
const HH_MM = new RegExp(`^${HHMM}$`);
/** Region/City style names (and UTC, EST5EDT, Etc/GMT+5); offsets like +05:00 are refused (POSIX inverts their sign). */
const TIME_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** True when `tz` is a time zone of the IANA database (as Node's ICU knows it). */
export function isIanaTimeZone(tz: string): boolean {
  if (!TIME_ZONE_NAME.test(tz)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The 128/32 address bits of an IPv6/IPv4 address as a bigint, or undefined. */
function addressBits(addr: string): { bits: bigint; width: number } | undefined {
  if (net.isIPv4(addr)) {
    return { bits: addr.split(".").reduce((a, o) => (a << 8n) + BigInt(Number(o)), 0n), width: 32 };
  }
  if (!net.isIPv6(addr)) return undefined;
  let text = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = addressBits(v4[1])!.bits;
    text = text.slice(0, -v4[1].length) + ((n >> 16n) & 0xffffn).toString(16) + ":" + (n & 0xffffn).toString(16);
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return { bits: groups.reduce((a, g) => (a << 16n) + BigInt(parseInt(g, 16)), 0n), width: 128 };
}

/**
 * True for an IPv4 or IPv6 CIDR with an explicit prefix length and no host bits set: PostgreSQL's
 * `cidr` type refuses `10.20.1.0/16`, and the guard fails closed (denies everyone) on a value it
 * cannot cast.
 */
export function isCidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const a = addressBits(m[1]);
  const prefix = Number(m[2]);
  if (!a || prefix > a.width) return false;
  const hostMask = (1n << BigInt(a.width - prefix)) - 1n;
  return (a.bits & hostMask) === 0n;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** What is wrong with a requestGuard value (the part named), or undefined when it is valid. */
export function requestGuardProblem(v: unknown): string | undefined {
  if (!isPlainObject(v)) return `expected a map with ipAllowlist and/or businessHours ({} = off), got ${JSON.stringify(v)}`;
  const unknown = Object.keys(v).filter((k) => k !== "ipAllowlist" && k !== "businessHours");
  if (unknown.length) return `unknown key ${JSON.stringify(unknown[0])} (allowed: ipAllowlist, businessHours)`;
  const allow = v.ipAllowlist;
  if (allow !== undefined) {
    if (!Array.isArray(allow) || !allow.every((x) => typeof x === "string")) return `ipAllowlist: expected a list of CIDRs, got ${JSON.stringify(allow)}`;
    if (allow.length === 0) return "ipAllowlist: expected at least one CIDR (leave ipAllowlist out to switch the allow-list off; an empty list would refuse every request), got []";
    const bad = allow.findIndex((c) => !isCidr(c));
    if (bad >= 0) return `ipAllowlist[${bad}]: expected a CIDR with its prefix length and no host bits set (e.g. 10.20.0.0/16 or 2001:db8::/32), got ${JSON.stringify(allow[bad])}`;
    if (new Set(allow).size !== allow.length) return `ipAllowlist: expected distinct CIDRs, got ${JSON.stringify(allow)}`;
  }
  const hours = v.businessHours;
  if (hours !== undefined) {
    if (!isPlainObject(hours)) return `businessHours: expected a map {timezone, days, start, end}, got ${JSON.stringify(hours)}`;
    const extra = Object.keys(hours).filter((k) => !["timezone", "days", "start", "end"].includes(k));
    if (extra.length) return `businessHours: unknown key ${JSON.stringify(extra[0])} (allowed: timezone, days, start, end)`;
    const { timezone, days, start, end } = hours;
    if (timezone === undefined) return "businessHours.timezone: is required (an IANA time zone such as America/New_York)";
    if (typeof timezone !== "string" || !isIanaTimeZone(timezone)) return `businessHours.timezone: expected an IANA time zone such as America/New_York or UTC, got ${JSON.stringify(timezone)}`;
    if (days === undefined) return "businessHours.days: is required (ISO weekdays 1-7, 1 = Monday)";
    if (!Array.isArray(days) || days.length === 0 || !days.every((d) => Number.isInteger(d) && d >= 1 && d <= 7) || new Set(days).size !== days.length) {
      return `businessHours.days: expected a non-empty list of distinct ISO weekdays 1-7 (1 = Monday), got ${JSON.stringify(days)}`;
    }
    for (const [name, t] of [["start", start], ["end", end]] as const) {
      if (t === undefined) return `businessHours.${name}: is required ("HH:MM")`;
      if (typeof t !== "string" || !(HH_MM.test(t) || (name === "end" && t === "24:00"))) {
        return `businessHours.${name}: expected "HH:MM" (00:00-23:59${name === "end" ? " or 24:00" : ""}), got ${JSON.stringify(t)}`;
      }
    }
    if ((start as string) >= (end as string)) return `businessHours.end: expected a time later than start (${start}); a window past midnight is not supported, got ${JSON.stringify(end)}`;
  }
  return undefined;
}

/** Fixed key order and sorted days, so equal guards serialise (and diff) equally. */
function normaliseRequestGuard(v: RequestGuard): RequestGuard {
  const out: RequestGuard = {};
  if (v.ipAllowlist) out.ipAllowlist = [...v.ipAllowlist];
  if (v.businessHours) {
    const h = v.businessHours;
    out.businessHours = { timezone: h.timezone, days: [...h.days].sort((a, b) => a - b), start: h.start, end: h.end };
  }
  return out;
}

export interface DatabaseLayerConfig {
  environment: EnvironmentName;
  databaseName: string;
  allowRollback: boolean;
  allowOutOfOrder: boolean;
  lintBlocking: boolean;
  loadSeed: boolean;
  seedSet: string;
  lockTimeout: string;
  statementTimeout: string;
  migrationLockWaitSeconds: number;
  sslRootCertPath: string;
  optionalExtensions: string[];
  placeholders: Record<string, string>;
  modules: string[];
  requestGuard: RequestGuard;
}

export interface StackConfig {
  stack: string;
  database: DatabaseLayerConfig;
  /** The AWS side; `undefined` for `environment: local`, which has no AWS. */
  infra?: InfraConfig;
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
      throw new ConfigError(key, `expected ${spec.kind === "stringList" ? "a list of strings" : spec.kind === "object" ? "a map" : "a map of strings"}, got ${JSON.stringify(v)}`);
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
    case "object": {
      const v = asJson(value);
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new ConfigError(key, `expected a map, got ${JSON.stringify(value)}`);
      return v;
    }
  }
}

/** Checks `value` against the key's allowed values; returns it (normalised where the spec says how). */
function checkAllowed(key: string, spec: AnySpec, value: unknown): unknown {
  const allowed = spec.allowed;
  if (!allowed) return value;
  if (Array.isArray(allowed)) {
    if (!allowed.includes(value)) throw new ConfigError(key, `expected one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
    return value;
  }
  const a = allowed as { test: (v: unknown) => boolean; says: string; problem?: (v: unknown) => string | undefined; normalise?: (v: unknown) => unknown };
  if (!a.test(value)) throw new ConfigError(key, a.problem?.(value) ?? `expected ${a.says}, got ${JSON.stringify(value)}`);
  return a.normalise ? a.normalise(value) : value;
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
    out[key] = checkAllowed(key, s, value);
  }
  return out as { [K in keyof S]: unknown };
}

/** Rules that no stack config can relax: rollback and seed data only in local/dev. */
export function validateRules(db: DatabaseLayerConfig): void {
  const relaxed = db.environment === "local" || db.environment === "dev";
  if (db.allowRollback && !relaxed) throw new ConfigError("allowRollback", `must be false in ${db.environment} (rollback is allowed only in local and dev)`);
  if (db.loadSeed && !relaxed) throw new ConfigError("loadSeed", `must be false in ${db.environment} (seed data is allowed only in local and dev)`);
}

/** The migrator's run rules of a stack (same for the CLI and the Pulumi schema resource). */
export function runRules(db: DatabaseLayerConfig): RunRules {
  return {
    allowOutOfOrder: db.allowOutOfOrder,
    allowRollback: db.allowRollback,
    lockTimeout: db.lockTimeout,
    statementTimeout: db.statementTimeout,
    lockWaitSeconds: db.migrationLockWaitSeconds,
  };
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

/**
 * What `app.on_schema_apply(settings)` makes the database match after every apply: every optional
 * module on or off, and the request guard's settings rows. (Same for the CLI and the schema resource.)
 */
export function stackSettings(db: Pick<DatabaseLayerConfig, "modules" | "requestGuard">): StackSettings {
  return {
    modules: Object.fromEntries(MODULES.map((m) => [m, db.modules.includes(m)])),
    requestGuard: db.requestGuard,
  };
}

/** The whole stack's configuration. */
export function parseStackConfig(raw: RawConfig, stack: string): StackConfig {
  const database = parseDatabaseConfig(raw);
  return { stack, database, infra: parseInfraConfig(raw, database.environment) };
}

// ---------------------------------------------------------------------------------------------
// Infrastructure layer (AWS). Read for every environment except `local` (which has no AWS).
// ---------------------------------------------------------------------------------------------

/** CloudWatch Logs accepts only these retention periods (0 = never expire is deliberately refused). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
/** RDS CA certificates a stack may pin. */
export const RDS_CA_CERTIFICATES = ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"] as const;
/** Enhanced Monitoring intervals (0 = off is deliberately refused). */
export const MONITORING_INTERVALS = [1, 5, 10, 15, 30, 60] as const;
/** pgaudit session classes (`-class` excludes one). */
export const PGAUDIT_CLASSES = ["read", "write", "function", "role", "ddl", "misc", "misc_set", "all", "none"] as const;
/** PostgreSQL major versions this stack has a parameter list for. */
export const SUPPORTED_PG_MAJORS = [15, 16, 17] as const;

const REGION = /^(us|eu|ap|sa|ca|me|af|il|mx)(-gov|-iso[a-z]*)?-[a-z]+-\d$|^cn-[a-z]+-\d$/;
const DAY = "(mon|tue|wed|thu|fri|sat|sun)";
const BACKUP_WINDOW = new RegExp(`^${HHMM}-${HHMM}$`);
const MAINTENANCE_WINDOW = new RegExp(`^${DAY}:${HHMM}-${DAY}:${HHMM}$`);
const PRIVATE_CIDRS: Array<[number, number]> = [
  [ipv4("10.0.0.0"), 8],
  [ipv4("172.16.0.0"), 12],
  [ipv4("192.168.0.0"), 16],
  [ipv4("100.64.0.0"), 10],
];

function ipv4(s: string): number {
  const p = s.split(".").map(Number);
  return ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3];
}

/** True for an IPv4 CIDR that lies inside 10/8, 172.16/12, 192.168/16 or 100.64/10. */
export function isPrivateCidr(cidr: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return false;
  const addr = ipv4(octets.join("."));
  return PRIVATE_CIDRS.some(([net, netBits]) => {
    if (bits < netBits) return false;
    const mask = netBits === 0 ? 0 : (~0 << (32 - netBits)) >>> 0;
    return ((addr & mask) >>> 0) === net;
  });
}

/** The AWS partition of a region (`aws`, `aws-us-gov`, `aws-cn`, `aws-iso*`). */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.includes("-gov-")) return "aws-us-gov";
  if (region.includes("-isob-")) return "aws-iso-b";
  if (region.includes("-iso-")) return "aws-iso";
  return "aws";
}

/** DNS suffix of a region's service endpoints (`amazonaws.com`, `amazonaws.com.cn` in China). */
export function dnsSuffixOf(region: string): string {
  return region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

/** `17` -> 17, `17.6` -> 17. */
export function pgMajor(engineVersion: string): number {
  return Number(engineVersion.split(".")[0]);
}

/** RDS parameter group family for an engine version: `17.6` -> `postgres17`. */
export function parameterGroupFamily(engineVersion: string): string {
  return `postgres${pgMajor(engineVersion)}`;
}

const WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** A window as [start, end) minute ranges inside one week (a range that wraps is split in two). */
function weekRanges(start: number, end: number): Array<[number, number]> {
  const weekLen = 7 * 24 * 60;
  if (end > start) return [[start, end]];
  return [
    [start, weekLen],
    [0, end],
  ];
}

/** Length in minutes of `hh:mm-hh:mm` (wrapping past midnight allowed). */
export function backupWindowMinutes(w: string): number {
  const [a, b] = w.split("-");
  return (minutes(b) - minutes(a) + 24 * 60) % (24 * 60);
}

/** Length in minutes of `ddd:hh:mm-ddd:hh:mm` (wrapping past Sunday allowed). */
export function maintenanceWindowMinutes(w: string): number {
  const [a, b] = w.split("-");
  const at = (x: string) => WEEK.indexOf(x.slice(0, 3)) * 1440 + minutes(x.slice(4));
  return (at(b) - at(a) + 7 * 1440) % (7 * 1440);
}

/** True when the daily backup window and the weekly maintenance window overlap (RDS refuses that). */
export function windowsOverlap(backupWindow: string, maintenanceWindow: string): boolean {
  const week = 7 * 1440;
  const at = (x: string) => WEEK.indexOf(x.slice(0, 3)) * 1440 + minutes(x.slice(4));
  const ma = at(maintenanceWindow.split("-")[0]);
  const maint = weekRanges(ma, (ma + maintenanceWindowMinutes(maintenanceWindow)) % week);
  const bStart = minutes(backupWindow.split("-")[0]);
  const bLen = backupWindowMinutes(backupWindow);
  for (let d = 0; d < 7; d++) {
    const s = d * 1440 + bStart;
    const daily = weekRanges(s, (s + bLen) % week);
    if (maint.some(([ms, me]) => daily.some(([ds, de]) => ds < me && ms < de))) return true;
  }
  return false;
}

const listOf = (re: RegExp, what: string) => ({
  test: (v: string[]) => v.every((x) => re.test(x)) && new Set(v).size === v.length,
  says: `a list of distinct ${what}`,
});
const between = (lo: number, hi: number, unit = "") => ({ test: (v: number) => v >= lo && v <= hi, says: `${lo} to ${hi}${unit}` });
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const SG_ID = /^sg-[0-9a-f]{8,17}$/;
/** Client CIDRs: private ranges only (the instance is never public). */
const PRIVATE_CIDR_LIST = {
  test: (v: string[]) => v.every(isPrivateCidr) && new Set(v).size === v.length,
  says: "a list of distinct private IPv4 CIDRs (inside 10/8, 172.16/12, 192.168/16 or 100.64/10)",
};
/** Where alarm notifications may go: an email address (the recipient confirms) or an https:// endpoint. */
const EMAIL = /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i;
const HTTPS_URL = /^https:\/\/[^\s/]+\.[^\s/]+(\/\S*)?$/;

/**
 * Every configuration key of the AWS infrastructure. Defaults are the strict (production) choice;
 * a stack opts *out* of a protection explicitly in its `Pulumi.<env>.yaml`, and `validateInfraRules`
 * refuses the opt-outs production may never take.
 */
export const INFRA_SPEC = {
  // --- account, regions, tags
  accountId: {
    kind: "string",
    allowed: { test: (v: string) => /^\d{12}$/.test(v), says: "a 12-digit AWS account id" },
    doc: "AWS account the stack deploys into; the providers refuse any other account (allowedAccountIds).",
  } as KeySpec<string>,
  region: {
    kind: "string",
    allowed: { test: (v: string) => REGION.test(v), says: "an AWS region such as us-east-1" },
    doc: "Primary AWS region (an explicit provider is built from it; `aws:region`, if also set, must agree).",
  } as KeySpec<string>,
  drRegion: {
    kind: "string",
    allowed: { test: (v: string) => REGION.test(v), says: "an AWS region such as us-west-2" },
    doc: "Disaster-recovery region: DR key, replicated backups, backup copies, bucket replicas, the DR network (drVpcId).",
  } as KeySpec<string>,
  administratorArns: {
    kind: "stringList",
    default: [],
    allowed: listOf(/^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, "IAM role/user ARNs"),
    doc: "IAM principals allowed to administer (not use) the KMS keys, besides the account root.",
  } as KeySpec<string[]>,
  tags: {
    kind: "stringMap",
    default: {},
    doc: "Extra tags on every resource (the stack always adds Project, Environment, DataClassification, ManagedBy).",
  } as KeySpec<Record<string, string>>,
  // --- network
  vpcId: {
    kind: "string",
    allowed: { test: (v: string) => VPC_ID.test(v), says: "a VPC id (vpc-…)" },
    doc: "Existing VPC the database lives in.",
  } as KeySpec<string>,
  privateSubnetIds: {
    kind: "stringList",
    allowed: {
      test: (v: string[]) => v.length >= 2 && listOf(SUBNET_ID, "").test(v),
      says: "at least two distinct private subnet ids (subnet-…) in different AZs",
    },
    doc: "Private subnets of the DB subnet group (RDS requires two AZs even for single-AZ instances).",
  } as KeySpec<string[]>,
  allowedSecurityGroupIds: {
    kind: "stringList",
    default: [],
    allowed: listOf(SG_ID, "security group ids (sg-…)"),
    doc: "Client security groups allowed to reach port 5432.",
  } as KeySpec<string[]>,
  allowedCidrBlocks: {
    kind: "stringList",
    default: [],
    allowed: PRIVATE_CIDR_LIST,
    doc: "Client CIDRs allowed to reach port 5432 (private ranges only; the instance is never public).",
  } as KeySpec<string[]>,
  endpointHost: {
    kind: "string",
    default: null,
    doc: "Override of the host clients (the schema runner) connect to, e.g. 127.0.0.1 behind an SSM port-forward.",
  } as KeySpec<string | null>,
  endpointPort: {
    kind: "int",
    default: null,
    allowed: { test: (v: number | null) => v === null || (v >= 1 && v <= 65535), says: "1 to 65535" },
    doc: "Override of the port clients connect to (set together with endpointHost).",
  } as KeySpec<number | null>,
  // --- DR-region network (where a restore into drRegion lands)
  drVpcId: {
    kind: "string",
    default: null,
    allowed: { test: (v: string | null) => v === null || VPC_ID.test(v), says: "a VPC id (vpc-…) in drRegion" },
    doc: "Existing VPC in drRegion to restore into: with it the stack creates a DB subnet group, a security group and the parameter group there (set together with drPrivateSubnetIds).",
  } as KeySpec<string | null>,
  drPrivateSubnetIds: {
    kind: "stringList",
    default: [],
    allowed: {
      test: (v: string[]) => v.length === 0 || (v.length >= 2 && listOf(SUBNET_ID, "").test(v)),
      says: "none, or at least two distinct private subnet ids (subnet-…) of drVpcId in different AZs",
    },
    doc: "Private subnets of the DR-region DB subnet group (set together with drVpcId).",
  } as KeySpec<string[]>,
  drAllowedSecurityGroupIds: {
    kind: "stringList",
    default: [],
    allowed: listOf(SG_ID, "security group ids (sg-…) of drVpcId"),
    doc: "Client security groups in drVpcId allowed to reach port 5432 of a restored instance.",
  } as KeySpec<string[]>,
  drAllowedCidrBlocks: {
    kind: "stringList",
    default: [],
    allowed: PRIVATE_CIDR_LIST,
    doc: "Client CIDRs in drRegion allowed to reach port 5432 of a restored instance (private ranges only).",
  } as KeySpec<string[]>,
  // --- database instance
  engineVersion: {
    kind: "string",
    default: "17",
    allowed: {
      test: (v: string) => /^\d+(\.\d+)?$/.test(v) && (SUPPORTED_PG_MAJORS as readonly number[]).includes(pgMajor(v)),
      says: `a PostgreSQL version ${SUPPORTED_PG_MAJORS.join("/")}, major only (17) or pinned (17.6)`,
    },
    doc: "RDS PostgreSQL engine version; the parameter group family follows its major version.",
  } as KeySpec<string>,
  instanceClass: {
    kind: "string",
    default: "db.m7g.large",
    allowed: { test: (v: string) => /^db\.[a-z0-9-]+\.[a-z0-9]+$/.test(v) && !/\.(micro|small)$/.test(v), says: "an RDS instance class of size medium or larger (db.t4g.medium, db.r7g.large…)" },
    doc: "Instance class (micro/small are refused: no Performance Insights).",
  } as KeySpec<string>,
  storageType: {
    kind: "string",
    default: "gp3",
    allowed: ["gp3", "io2"],
    doc: "EBS storage type.",
  } as KeySpec<string>,
  allocatedStorageGb: {
    kind: "int",
    default: 100,
    allowed: between(20, 65536, " GiB"),
    doc: "Initial allocated storage.",
  } as KeySpec<number>,
  maxAllocatedStorageGb: {
    kind: "int",
    default: 1000,
    allowed: between(21, 65536, " GiB"),
    doc: "Storage autoscaling ceiling (must be above allocatedStorageGb; autoscaling is always on).",
  } as KeySpec<number>,
  multiAz: {
    kind: "bool",
    default: true,
    doc: "Synchronous standby in a second AZ.",
  } as KeySpec<boolean>,
  masterUsername: {
    kind: "string",
    default: "phi_admin",
    allowed: {
      test: (v: string) => /^[a-z][a-z0-9_]{0,62}$/.test(v) && !["postgres", "rdsadmin", "admin", "root", "rds_superuser"].includes(v),
      says: "a lower-case identifier other than postgres, rdsadmin, admin, root, rds_superuser",
    },
    doc: "Master user name (RDS generates its password, keeps it in Secrets Manager and rotates it).",
  } as KeySpec<string>,
  caCertIdentifier: {
    kind: "string",
    default: "rds-ca-rsa2048-g1",
    allowed: RDS_CA_CERTIFICATES,
    doc: "RDS CA certificate pinned on the instance.",
  } as KeySpec<string>,
  applyImmediately: {
    kind: "bool",
    default: false,
    doc: "Apply instance changes now instead of in the maintenance window.",
  } as KeySpec<boolean>,
  autoMinorVersionUpgrade: {
    kind: "bool",
    default: true,
    doc: "Let RDS apply minor versions in the maintenance window (pin only the major engineVersion then).",
  } as KeySpec<boolean>,
  maintenanceWindow: {
    kind: "string",
    default: "sun:04:30-sun:05:30",
    allowed: { test: (v: string) => MAINTENANCE_WINDOW.test(v) && maintenanceWindowMinutes(v) >= 30, says: "ddd:hh:mm-ddd:hh:mm (UTC, at least 30 minutes)" },
    doc: "Weekly maintenance window (UTC).",
  } as KeySpec<string>,
  deletionProtection: {
    kind: "bool",
    default: true,
    doc: "RDS deletion protection, and Pulumi `protect` on the instance, keys, buckets and backup vaults.",
  } as KeySpec<boolean>,
  monitoringIntervalSeconds: {
    kind: "int",
    default: 60,
    allowed: MONITORING_INTERVALS,
    doc: "Enhanced Monitoring interval (always on).",
  } as KeySpec<number>,
  performanceInsightsRetentionDays: {
    kind: "int",
    default: 7,
    allowed: { test: (v: number) => v === 7 || v === 731 || (v % 31 === 0 && v >= 31 && v <= 713), says: "7, a multiple of 31 up to 713, or 731" },
    doc: "Performance Insights retention (encrypted with the database key; always on).",
  } as KeySpec<number>,
  // --- logging / parameter group
  logRetentionDays: {
    kind: "int",
    default: 2192,
    allowed: LOG_RETENTION_DAYS,
    doc: "Retention of the CloudWatch log groups (postgresql, upgrade) and of S3 access logs; 2192 = 6 years (HIPAA).",
  } as KeySpec<number>,
  rdsLogRetentionMinutes: {
    kind: "int",
    default: 4320,
    allowed: between(1440, 10080, " minutes"),
    doc: "`rds.log_retention_period`: how long log files stay on the instance.",
  } as KeySpec<number>,
  logMinDurationStatementMs: {
    kind: "int",
    default: 1000,
    allowed: between(-1, 3600000, " ms (-1 = off)"),
    doc: "`log_min_duration_statement`.",
  } as KeySpec<number>,
  idleInTransactionSessionTimeoutMs: {
    kind: "int",
    default: 300000,
    allowed: between(1000, 86400000, " ms"),
    doc: "`idle_in_transaction_session_timeout` (0 = off is refused).",
  } as KeySpec<number>,
  pgauditLog: {
    kind: "string",
    default: "ddl,role,write",
    allowed: {
      test: (v: string) => v.split(",").every((c) => (PGAUDIT_CLASSES as readonly string[]).includes(c.trim().replace(/^-/, ""))) && !/^\s*none\s*$/.test(v),
      says: `a comma list of pgaudit classes (${PGAUDIT_CLASSES.join(", ")}), not none`,
    },
    doc: "`pgaudit.log` session audit classes.",
  } as KeySpec<string>,
  pgauditRole: {
    kind: "string",
    default: "rds_pgaudit",
    allowed: { test: (v: string) => /^[a-z_][a-z0-9_]{0,62}$/.test(v), says: "a lower-case role name" },
    doc: "`pgaudit.role`: object-audit role (the access model creates it and grants it on PHI tables).",
  } as KeySpec<string>,
  // --- secrets and keys
  masterPasswordRotationDays: {
    kind: "int",
    default: 7,
    allowed: between(1, 90, " days"),
    doc: "Days between rotations of the RDS-managed master password (Secrets Manager managed rotation; RDS's own default is 7).",
  } as KeySpec<number>,
  loginPasswordRotationDays: {
    kind: "int",
    default: 30,
    allowed: between(1, 90, " days"),
    doc: "Days between rotations of the access model's login passwords (phi_migrator, authenticator, ...) by AWS's single-user PostgreSQL rotation Lambda; 30 is the HIPAA conformance pack's maximum.",
  } as KeySpec<number>,
  secretsManagerEndpoint: {
    kind: "bool",
    default: true,
    doc: "Create a Secrets Manager interface VPC endpoint (private DNS) in privateSubnetIds for the rotation Lambda; false when the VPC already has one or a NAT route (the Lambda may then open HTTPS to any address).",
  } as KeySpec<boolean>,
  keyDeletionWindowDays: {
    kind: "int",
    default: 30,
    allowed: between(7, 30, " days"),
    doc: "KMS key deletion window.",
  } as KeySpec<number>,
  // --- backups
  backupRetentionDays: {
    kind: "int",
    default: 35,
    allowed: between(1, 35, " days"),
    doc: "Automated backup (PITR) retention; also the AWS Backup continuous-backup retention and DR replica retention.",
  } as KeySpec<number>,
  backupWindow: {
    kind: "string",
    default: "03:00-03:30",
    allowed: { test: (v: string) => BACKUP_WINDOW.test(v) && backupWindowMinutes(v) >= 30, says: "hh:mm-hh:mm (UTC, at least 30 minutes)" },
    doc: "Daily automated backup window (UTC); must not overlap the maintenance window.",
  } as KeySpec<string>,
  backupSnapshotRetentionDays: {
    kind: "int",
    default: 90,
    allowed: between(7, 36500, " days"),
    doc: "Retention of the daily AWS Backup snapshot recovery points (and of their DR-region copies).",
  } as KeySpec<number>,
  crossRegionBackupReplication: {
    kind: "bool",
    default: true,
    doc: "Replicate automated backups (PITR) to drRegion under the DR key and copy AWS Backup snapshots to a DR vault.",
  } as KeySpec<boolean>,
  backupVaultLockMode: {
    kind: "string",
    default: "compliance",
    allowed: ["compliance", "governance", "none"],
    doc: "AWS Backup Vault Lock: compliance becomes immutable after backupVaultLockChangeableDays.",
  } as KeySpec<string>,
  backupVaultLockChangeableDays: {
    kind: "int",
    default: 3,
    allowed: between(3, 365, " days"),
    doc: "Grace period before a compliance-mode vault lock can no longer be changed or removed.",
  } as KeySpec<number>,
  restoreTesting: {
    kind: "bool",
    default: true,
    doc: "AWS Backup restore testing: scheduled real restores of the latest recovery point, then cleanup.",
  } as KeySpec<boolean>,
  restoreTestingSchedule: {
    kind: "string",
    default: "cron(0 5 ? * SAT *)",
    allowed: { test: (v: string) => /^(cron|rate)\(.+\)$/.test(v), says: "an AWS schedule expression cron(…) or rate(…)" },
    doc: "When restore tests start (UTC).",
  } as KeySpec<string>,
  // --- buckets
  bucketReplication: {
    kind: "bool",
    default: true,
    doc: "Replicate the documents and audit-export buckets to drRegion (replicas under the DR key).",
  } as KeySpec<boolean>,
  bucketForceDestroy: {
    kind: "bool",
    default: false,
    doc: "Allow `pulumi destroy` to empty buckets. Only local/dev may set true.",
  } as KeySpec<boolean>,
  bucketArchiveAfterDays: {
    kind: "int",
    default: 90,
    allowed: between(1, 3650, " days"),
    doc: "Age at which objects transition to bucketArchiveStorageClass.",
  } as KeySpec<number>,
  bucketArchiveStorageClass: {
    kind: "string",
    default: "GLACIER_IR",
    allowed: ["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"],
    doc: "Archive storage class for old objects.",
  } as KeySpec<string>,
  noncurrentVersionExpireDays: {
    kind: "int",
    default: 365,
    allowed: between(1, 36500, " days"),
    doc: "Noncurrent object versions expire after this many days.",
  } as KeySpec<number>,
  auditObjectLockMode: {
    kind: "string",
    default: "COMPLIANCE",
    allowed: ["COMPLIANCE", "GOVERNANCE"],
    doc: "Default Object Lock mode of the audit-export bucket.",
  } as KeySpec<string>,
  auditObjectLockDays: {
    kind: "int",
    default: 2192,
    allowed: between(1, 36500, " days"),
    doc: "Default Object Lock retention of audit exports (2192 = 6 years, HIPAA documentation retention).",
  } as KeySpec<number>,
  // --- monitoring (CloudWatch alarms and RDS events, to one SNS topic)
  alarmEndpoints: {
    kind: "stringList",
    default: [],
    allowed: {
      test: (v: string[]) => v.every((e) => EMAIL.test(e) || HTTPS_URL.test(e)) && new Set(v).size === v.length,
      says: "a list of distinct email addresses or https:// URLs",
    },
    doc: "Subscribers of the alarm topic: email addresses (each must confirm) and https:// endpoints (e.g. an on-call service; set the key with --secret if a URL holds a token).",
  } as KeySpec<string[]>,
  alarmCpuUtilizationPercent: {
    kind: "int",
    default: 80,
    allowed: between(1, 100, " %"),
    doc: "CPUUtilization alarm: average above this for 15 minutes.",
  } as KeySpec<number>,
  alarmFreeStorageSpaceGb: {
    kind: "int",
    default: 10,
    allowed: between(1, 65536, " GiB"),
    doc: "FreeStorageSpace alarm: below this many GiB (storage autoscaling did not keep up or reached maxAllocatedStorageGb); must be below allocatedStorageGb.",
  } as KeySpec<number>,
  alarmFreeableMemoryMb: {
    kind: "int",
    default: 256,
    allowed: between(16, 1048576, " MiB"),
    doc: "FreeableMemory alarm: below this many MiB for 15 minutes.",
  } as KeySpec<number>,
  alarmSwapUsageMb: {
    kind: "int",
    default: 256,
    allowed: between(1, 1048576, " MiB"),
    doc: "SwapUsage alarm: above this many MiB for 15 minutes.",
  } as KeySpec<number>,
  alarmDatabaseConnections: {
    kind: "int",
    default: 400,
    allowed: between(1, 100000, ""),
    doc: "DatabaseConnections alarm: above this many (about 80% of max_connections, which RDS derives from the instance memory).",
  } as KeySpec<number>,
  alarmIoLatencyMs: {
    kind: "int",
    default: 20,
    allowed: between(1, 10000, " ms"),
    doc: "ReadLatency and WriteLatency alarms: average above this many milliseconds for 15 minutes.",
  } as KeySpec<number>,
  alarmDiskQueueDepth: {
    kind: "int",
    default: 64,
    allowed: between(1, 100000, ""),
    doc: "DiskQueueDepth alarm: more outstanding I/O requests than this for 15 minutes.",
  } as KeySpec<number>,
  alarmMaximumUsedTransactionIds: {
    kind: "int",
    default: 1000000000,
    allowed: between(100000000, 2000000000, ""),
    doc: "MaximumUsedTransactionIDs alarm: transaction ids used since the oldest unfrozen one (wraparound stops writes at about 2.1 billion; vacuum is behind).",
  } as KeySpec<number>,
} as const;

export interface InfraConfig {
  accountId: string;
  region: string;
  drRegion: string;
  administratorArns: string[];
  tags: Record<string, string>;
  vpcId: string;
  privateSubnetIds: string[];
  allowedSecurityGroupIds: string[];
  allowedCidrBlocks: string[];
  endpointHost: string | null;
  endpointPort: number | null;
  drVpcId: string | null;
  drPrivateSubnetIds: string[];
  drAllowedSecurityGroupIds: string[];
  drAllowedCidrBlocks: string[];
  engineVersion: string;
  instanceClass: string;
  storageType: string;
  allocatedStorageGb: number;
  maxAllocatedStorageGb: number;
  multiAz: boolean;
  masterUsername: string;
  caCertIdentifier: string;
  applyImmediately: boolean;
  autoMinorVersionUpgrade: boolean;
  maintenanceWindow: string;
  deletionProtection: boolean;
  monitoringIntervalSeconds: number;
  performanceInsightsRetentionDays: number;
  logRetentionDays: number;
  rdsLogRetentionMinutes: number;
  logMinDurationStatementMs: number;
  idleInTransactionSessionTimeoutMs: number;
  pgauditLog: string;
  pgauditRole: string;
  masterPasswordRotationDays: number;
  loginPasswordRotationDays: number;
  secretsManagerEndpoint: boolean;
  keyDeletionWindowDays: number;
  backupRetentionDays: number;
  backupWindow: string;
  backupSnapshotRetentionDays: number;
  crossRegionBackupReplication: boolean;
  backupVaultLockMode: "compliance" | "governance" | "none";
  backupVaultLockChangeableDays: number;
  restoreTesting: boolean;
  restoreTestingSchedule: string;
  bucketReplication: boolean;
  bucketForceDestroy: boolean;
  bucketArchiveAfterDays: number;
  bucketArchiveStorageClass: string;
  noncurrentVersionExpireDays: number;
  auditObjectLockMode: "COMPLIANCE" | "GOVERNANCE";
  auditObjectLockDays: number;
  alarmEndpoints: string[];
  alarmCpuUtilizationPercent: number;
  alarmFreeStorageSpaceGb: number;
  alarmFreeableMemoryMb: number;
  alarmSwapUsageMb: number;
  alarmDatabaseConnections: number;
  alarmIoLatencyMs: number;
  alarmDiskQueueDepth: number;
  alarmMaximumUsedTransactionIds: number;
}

/** The default of an infrastructure key (for component args documented "Defaults to …"). */
export function infraDefault<K extends keyof InfraConfig>(key: K): InfraConfig[K] {
  const d = (INFRA_SPEC as Record<string, AnySpec>)[key].default;
  if (d === undefined) throw new Error(`phi-db:${key} has no default (it is required)`);
  return d as InfraConfig[K];
}

/** Opt-outs production may never take, whatever Pulumi.prod.yaml says (the floor under the defaults). */
export const PROD_FLOOR: Array<{ key: keyof InfraConfig; ok: (c: InfraConfig) => boolean; says: string }> = [
  { key: "deletionProtection", ok: (c) => c.deletionProtection, says: "must be true in prod" },
  { key: "multiAz", ok: (c) => c.multiAz, says: "must be true in prod" },
  { key: "bucketForceDestroy", ok: (c) => !c.bucketForceDestroy, says: "must be false in prod" },
  { key: "crossRegionBackupReplication", ok: (c) => c.crossRegionBackupReplication, says: "must be true in prod" },
  { key: "bucketReplication", ok: (c) => c.bucketReplication, says: "must be true in prod" },
  { key: "backupVaultLockMode", ok: (c) => c.backupVaultLockMode === "compliance", says: "must be compliance in prod" },
  { key: "restoreTesting", ok: (c) => c.restoreTesting, says: "must be true in prod" },
  { key: "auditObjectLockMode", ok: (c) => c.auditObjectLockMode === "COMPLIANCE", says: "must be COMPLIANCE in prod" },
  { key: "alarmEndpoints", ok: (c) => c.alarmEndpoints.length > 0, says: "must name at least one subscriber in prod (an alarm nobody receives protects nothing)" },
];

/** Rules across keys, and the production floor. Throws ConfigError naming the offending key. */
export function validateInfraRules(c: InfraConfig, env: EnvironmentName): void {
  if (c.drRegion === c.region) throw new ConfigError("drRegion", `must differ from region (${c.region})`);
  if (partitionOf(c.drRegion) !== partitionOf(c.region)) throw new ConfigError("drRegion", `must be in the same partition as region (${partitionOf(c.region)})`);
  if (c.maxAllocatedStorageGb <= c.allocatedStorageGb) {
    throw new ConfigError("maxAllocatedStorageGb", `must be greater than allocatedStorageGb (${c.allocatedStorageGb}) so storage autoscaling is on, got ${c.maxAllocatedStorageGb}`);
  }
  if (c.autoMinorVersionUpgrade && c.engineVersion.includes(".")) {
    throw new ConfigError("engineVersion", `pin only the major version (e.g. ${pgMajor(c.engineVersion)}) while autoMinorVersionUpgrade is true, or every RDS minor upgrade becomes a downgrade in the next preview; got ${JSON.stringify(c.engineVersion)}`);
  }
  if (c.allowedSecurityGroupIds.length === 0 && c.allowedCidrBlocks.length === 0) {
    throw new ConfigError("allowedSecurityGroupIds", "expected at least one client security group or allowedCidrBlocks entry (otherwise nothing, not even the schema runner, can reach the database)");
  }
  if ((c.endpointHost === null) !== (c.endpointPort === null)) {
    throw new ConfigError(c.endpointHost === null ? "endpointHost" : "endpointPort", "endpointHost and endpointPort must be set together");
  }
  if (windowsOverlap(c.backupWindow, c.maintenanceWindow)) {
    throw new ConfigError("maintenanceWindow", `must not overlap backupWindow (${c.backupWindow}), got ${JSON.stringify(c.maintenanceWindow)}`);
  }
  if (c.bucketForceDestroy && env !== "local" && env !== "dev") {
    throw new ConfigError("bucketForceDestroy", `must be false in ${env} (only local and dev may empty buckets on destroy)`);
  }
  if (c.backupVaultLockMode !== "none" && c.backupSnapshotRetentionDays < c.backupRetentionDays) {
    throw new ConfigError("backupSnapshotRetentionDays", `must be at least backupRetentionDays (${c.backupRetentionDays}) so the vault lock minimum fits every rule, got ${c.backupSnapshotRetentionDays}`);
  }
  if (c.alarmFreeStorageSpaceGb >= c.allocatedStorageGb) {
    throw new ConfigError("alarmFreeStorageSpaceGb", `must be less than allocatedStorageGb (${c.allocatedStorageGb}), or the alarm fires on a new instance, got ${c.alarmFreeStorageSpaceGb}`);
  }
  if (env === "prod") {
    for (const f of PROD_FLOOR) if (!f.ok(c)) throw new ConfigError(f.key, `${f.says}, got ${JSON.stringify(c[f.key])}`);
  }
  // DR-region network: all or nothing, only with something to restore there, and reachable by someone.
  if ((c.drVpcId === null) !== (c.drPrivateSubnetIds.length === 0)) {
    throw new ConfigError(c.drVpcId === null ? "drVpcId" : "drPrivateSubnetIds", "drVpcId and drPrivateSubnetIds must be set together");
  }
  if (c.drVpcId === null) {
    for (const k of ["drAllowedSecurityGroupIds", "drAllowedCidrBlocks"] as const) {
      if (c[k].length > 0) throw new ConfigError(k, `needs drVpcId (the DR-region network it belongs to), got ${JSON.stringify(c[k])}`);
    }
  } else {
    if (!c.crossRegionBackupReplication) {
      throw new ConfigError("drVpcId", "needs crossRegionBackupReplication: true (without replicated backups there is nothing to restore in drRegion)");
    }
    if (c.drAllowedSecurityGroupIds.length === 0 && c.drAllowedCidrBlocks.length === 0) {
      throw new ConfigError("drAllowedSecurityGroupIds", "expected at least one DR client security group or drAllowedCidrBlocks entry when drVpcId is set (otherwise nothing can reach a restored instance)");
    }
  }
}

/** Parses the infrastructure section; `undefined` for `local` (no AWS). */
export function parseInfraConfig(raw: RawConfig, env: EnvironmentName): InfraConfig | undefined {
  if (env === "local") return undefined;
  const r = normaliseRaw(raw);
  const c = readSection(INFRA_SPEC, r, env) as unknown as InfraConfig;
  const awsRegion = raw["aws:region"];
  if (awsRegion !== undefined && awsRegion !== c.region) {
    throw new ConfigError("region", `must agree with aws:region (${JSON.stringify(awsRegion)}), got ${JSON.stringify(c.region)}`);
  }
  validateInfraRules(c, env);
  return c;
}
