/**
 * The access model (sql/access.json): roles, schemas, extensions, database grants and schema grants,
 * declared ONCE and applied two ways (components/access.ts through @pulumi/postgresql on RDS,
 * migrator/access-sql.ts as idempotent SQL locally).
 *
 * Grants and policies together: in an RLS-managed schema the model grants schema USAGE, sequences and
 * function EXECUTE only. Table privileges there are declared per table in the policy files
 * (sql/policies), next to the policies they make reachable; a new table is dark for every role but the
 * owner until its policy file grants it. Bulk table grants (and their default privileges) exist only in
 * schemas without RLS (phi_ledger).
 *
 * This module only reads and validates: `parseAccessModel` turns raw JSON into a typed, normalised
 * `AccessModel` (defaults filled in) or throws `AccessModelError` listing every problem with the entry
 * it is in (`grants[3].role`) and what was expected. Nothing is applied before the model is valid.
 *
 * No Pulumi import here (the migrator runs without Pulumi).
 */
import * as fs from "fs";
import * as path from "path";

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** How a LOGIN role authenticates. `none` for NOLOGIN roles. */
export type RoleAuth = "none" | "password" | "rds_iam";

export interface RoleSpec {
  name: string;
  /** LOGIN / NOLOGIN. */
  login: boolean;
  /** INHERIT / NOINHERIT. Defaults to true. */
  inherit: boolean;
  /** BYPASSRLS. Defaults to false (and nothing in the shipped model sets it). */
  bypassRls: boolean;
  /** `password` (generated, kept in Secrets Manager on AWS), `rds_iam` (IAM auth on RDS) or `none`. */
  auth: RoleAuth;
  /** Roles this role is a member of (it may SET ROLE to them). Exactly these: others are revoked. */
  memberOf: string[];
  /** A request role the API switches to per request (anon, authenticated, service_role). */
  requestRole: boolean;
  /** CONNECTION LIMIT; -1 = no limit. Defaults to -1. */
  connectionLimit: number;
  comment: string;
}

export interface SchemaSpec {
  name: string;
  /**
   * Every table in this schema must have RLS enabled and forced, with a policy (migrator checks), and
   * its table privileges are declared per table in sql/policies, not by the model.
   */
  rls: boolean;
  comment: string;
}

export interface ExtensionSpec {
  name: string;
  /** Schema to install into; null = where the extension itself decides (pg_cron: pg_catalog). */
  schema: string | null;
  comment: string;
}

export const DATABASE_PRIVILEGES = ["CONNECT", "TEMPORARY", "CREATE"] as const;
export const SCHEMA_PRIVILEGES = ["USAGE", "CREATE"] as const;
/** MAINTAIN (PostgreSQL 17) is left out on purpose: the model must apply to 15 and 16 too. */
export const TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"] as const;
export const SEQUENCE_PRIVILEGES = ["USAGE", "SELECT", "UPDATE"] as const;
export const FUNCTION_PRIVILEGES = ["EXECUTE"] as const;

export type DatabasePrivilege = (typeof DATABASE_PRIVILEGES)[number];
export type SchemaPrivilege = (typeof SCHEMA_PRIVILEGES)[number];
export type TablePrivilege = (typeof TABLE_PRIVILEGES)[number];
export type SequencePrivilege = (typeof SEQUENCE_PRIVILEGES)[number];
export type FunctionPrivilege = (typeof FUNCTION_PRIVILEGES)[number];

/** The kinds of objects inside a schema that grants and default privileges cover. */
export const OBJECT_KINDS = ["tables", "sequences", "functions"] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** What one role may do in one schema. Table/sequence/function privileges also become default privileges. */
export interface SchemaGrant {
  role: string;
  schema: string;
  schemaPrivileges: SchemaPrivilege[];
  /**
   * Privileges on every table (and view) of the schema. Only in schemas WITHOUT row-level security:
   * in an RLS-managed schema each table's privileges are granted in its policy file (sql/policies),
   * next to its policies, and the model grants no table there (validation refuses it).
   */
  tables: TablePrivilege[];
  sequences: SequencePrivilege[];
  functions: FunctionPrivilege[];
}

export interface DatabaseGrant {
  role: string;
  privileges: DatabasePrivilege[];
}

export interface AccessModel {
  version: 1;
  /** NOLOGIN role that owns every schema and object. */
  owner: string;
  roles: RoleSpec[];
  schemas: SchemaSpec[];
  extensions: ExtensionSpec[];
  /** Privileges on the database itself (PUBLIC gets none). */
  database: DatabaseGrant[];
  grants: SchemaGrant[];
}

/** What we know about each extension the model may name. Anything else is an unknown extension. */
export interface KnownExtension {
  /** Can be installed into any schema (and moved with ALTER EXTENSION ... SET SCHEMA). */
  relocatable: boolean;
  /** The extension always installs into this schema; the model must say `"schema": null`. */
  fixedSchema?: string;
  /** Library that must be in shared_preload_libraries (the RDS parameter group). */
  preload?: string;
}

export const KNOWN_EXTENSIONS: Readonly<Record<string, KnownExtension>> = {
  pgcrypto: { relocatable: true },
  "uuid-ossp": { relocatable: true },
  pg_trgm: { relocatable: true },
  btree_gist: { relocatable: true },
  pg_stat_statements: { relocatable: true, preload: "pg_stat_statements" },
  pgaudit: { relocatable: false, preload: "pgaudit" },
  pg_cron: { relocatable: false, fixedSchema: "pg_catalog", preload: "pg_cron" },
  pg_partman: { relocatable: false },
};

/** Role on RDS whose members log in with IAM database authentication. Absent on plain PostgreSQL. */
export const RDS_IAM_ROLE = "rds_iam";

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export interface AccessModelIssue {
  /** Where in the model: `roles[2].memberOf[0]`, `grants[5]`, `optionalExtensions[0]` ... */
  path: string;
  /** What is wrong and what was expected. */
  message: string;
}

/** The model (or an option naming parts of it) is invalid. Thrown before anything is applied. */
export class AccessModelError extends Error {
  constructor(
    public readonly issues: AccessModelIssue[],
    public readonly source = "access model",
  ) {
    super(`invalid ${source}:\n` + issues.map((i) => `  ${i.path}: ${i.message}`).join("\n"));
    this.name = "AccessModelError";
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------------------------

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
/** Names PostgreSQL reserves or treats specially in role and schema positions. */
const RESERVED_NAMES = new Set([
  "public", "none", "current_role", "current_user", "session_user", "user", "all", "analyse", "analyze", "and", "any",
  "array", "as", "asc", "asymmetric", "authorization", "binary", "both", "case", "cast", "check", "collate", "collation",
  "column", "concurrently", "constraint", "create", "cross", "current_catalog", "current_date", "current_schema",
  "current_time", "current_timestamp", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except",
  "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike", "in", "initially",
  "inner", "intersect", "into", "is", "isnull", "join", "lateral", "leading", "left", "like", "limit", "localtime",
  "localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only", "or", "order", "outer", "overlaps",
  "placing", "primary", "references", "returning", "right", "select", "similar", "some", "symmetric", "system_user",
  "table", "tablesample", "then", "to", "trailing", "true", "union", "unique", "using", "variadic", "verbose", "when",
  "where", "window", "with",
]);
const SYSTEM_SCHEMAS = new Set(["public", "pg_catalog", "information_schema", "pg_toast"]);

const ROLE_KEYS = ["name", "login", "inherit", "bypassRls", "auth", "memberOf", "requestRole", "connectionLimit", "comment"];
const SCHEMA_KEYS = ["name", "rls", "comment"];
const EXTENSION_KEYS = ["name", "schema", "comment"];
const GRANT_KEYS = ["role", "schema", "schemaPrivileges", "tables", "sequences", "functions", "comment"];
const DATABASE_KEYS = ["role", "privileges", "comment"];
const TOP_KEYS = ["version", "owner", "roles", "schemas", "extensions", "database", "grants"];

type Raw = Record<string, unknown>;

class Collector {
  issues: AccessModelIssue[] = [];
  add(path: string, message: string) {
    this.issues.push({ path, message });
  }
}

const isObject = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));

function unknownKeys(c: Collector, at: string, obj: Raw, allowed: string[]) {
  for (const k of Object.keys(obj)) {
    if (k.startsWith("$")) continue; // "$comment" and friends
    if (!allowed.includes(k)) c.add(`${at}.${k}`, `unknown key; expected one of ${allowed.join(", ")}`);
  }
}

function name(c: Collector, at: string, v: unknown, what: "role" | "schema"): string | undefined {
  if (typeof v !== "string" || !IDENTIFIER.test(v)) {
    c.add(at, `expected a ${what} name: a lower-case identifier (a-z, 0-9, _; at most 63 characters), got ${show(v)}`);
    return undefined;
  }
  if (RESERVED_NAMES.has(v)) {
    c.add(at, `${JSON.stringify(v)} is a reserved name; choose another ${what} name`);
    return undefined;
  }
  if (v.startsWith("pg_")) {
    c.add(at, `${JSON.stringify(v)}: names starting with pg_ are reserved for the system; choose another ${what} name`);
    return undefined;
  }
  return v;
}

function bool(c: Collector, at: string, v: unknown, dflt?: boolean): boolean {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "boolean") {
    c.add(at, `expected true or false, got ${show(v)}`);
    return dflt ?? false;
  }
  return v;
}

function text(c: Collector, at: string, v: unknown): string {
  if (v === undefined) return "";
  if (typeof v !== "string" || v.length > 1024 || /[\u0000-\u001f]/.test(v) || v.includes("$access$")) {
    c.add(at, `expected a one-line comment of at most 1024 characters, got ${show(v)}`);
    return "";
  }
  return v;
}

function privileges<P extends string>(c: Collector, at: string, v: unknown, allowed: readonly P[], what: string): P[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    c.add(at, `expected a list of ${what} privileges (${allowed.join(", ")}), got ${show(v)}`);
    return [];
  }
  const out: P[] = [];
  v.forEach((p, i) => {
    if (typeof p !== "string" || !(allowed as readonly string[]).includes(p)) {
      c.add(`${at}[${i}]`, `bad privilege ${show(p)}; expected one of ${allowed.join(", ")} (${what})`);
    } else if (out.includes(p as P)) {
      c.add(`${at}[${i}]`, `duplicate privilege ${p}`);
    } else {
      out.push(p as P);
    }
  });
  // Canonical order (as listed in `allowed`) so renderings and resource inputs are stable.
  return allowed.filter((p) => out.includes(p));
}

function list(c: Collector, at: string, v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) {
    c.add(at, `expected a list of ${what}, got ${show(v)}`);
    return [];
  }
  return v;
}

/**
 * Validates and normalises raw model JSON. Throws `AccessModelError` listing every issue.
 * `source` names the input in the error message (e.g. the file path).
 */
export function parseAccessModel(raw: unknown, source = "access model"): AccessModel {
  const c = new Collector();
  if (!isObject(raw)) throw new AccessModelError([{ path: "(root)", message: `expected a JSON object, got ${show(raw)}` }], source);
  unknownKeys(c, "(root)", raw, TOP_KEYS);
  if (raw.version !== 1) c.add("version", `expected 1, got ${show(raw.version)}`);

  // Roles -------------------------------------------------------------------------------------
  const roles: RoleSpec[] = [];
  const roleIndex = new Map<string, number>();
  list(c, "roles", raw.roles, "roles").forEach((r, i) => {
    const at = `roles[${i}]`;
    if (!isObject(r)) return c.add(at, `expected a role object, got ${show(r)}`);
    unknownKeys(c, at, r, ROLE_KEYS);
    const n = name(c, `${at}.name`, r.name, "role");
    const login = bool(c, `${at}.login`, r.login);
    const auth = r.auth === undefined ? (login ? undefined : "none") : r.auth;
    if (auth !== "none" && auth !== "password" && auth !== "rds_iam") {
      c.add(`${at}.auth`, `expected "password" or "rds_iam" for a LOGIN role ("none" for NOLOGIN), got ${show(r.auth)}`);
    } else if (login && auth === "none") {
      c.add(`${at}.auth`, `a LOGIN role needs "password" or "rds_iam", got "none"`);
    } else if (!login && auth !== "none") {
      c.add(`${at}.auth`, `a NOLOGIN role cannot authenticate; expected "none" or no auth key, got ${show(auth)}`);
    }
    let connectionLimit = -1;
    if (r.connectionLimit !== undefined) {
      if (typeof r.connectionLimit !== "number" || !Number.isInteger(r.connectionLimit) || r.connectionLimit < -1) {
        c.add(`${at}.connectionLimit`, `expected a whole number >= -1 (-1 = no limit), got ${show(r.connectionLimit)}`);
      } else connectionLimit = r.connectionLimit;
    }
    const memberOf: string[] = [];
    if (r.memberOf !== undefined) {
      list(c, `${at}.memberOf`, r.memberOf, "role names").forEach((m, j) => {
        if (typeof m !== "string") return c.add(`${at}.memberOf[${j}]`, `expected a role name, got ${show(m)}`);
        if (memberOf.includes(m)) return c.add(`${at}.memberOf[${j}]`, `duplicate membership ${JSON.stringify(m)}`);
        memberOf.push(m);
      });
    }
    const spec: RoleSpec = {
      name: n ?? String(r.name),
      login,
      inherit: bool(c, `${at}.inherit`, r.inherit, true),
      bypassRls: bool(c, `${at}.bypassRls`, r.bypassRls, false),
      auth: (auth as RoleAuth) ?? "none",
      memberOf,
      requestRole: bool(c, `${at}.requestRole`, r.requestRole, false),
      connectionLimit,
      comment: text(c, `${at}.comment`, r.comment),
    };
    if (spec.requestRole && spec.login) c.add(`${at}.requestRole`, `a request role is switched to with SET ROLE and must be NOLOGIN; set "login": false`);
    if (n === RDS_IAM_ROLE) c.add(`${at}.name`, `${RDS_IAM_ROLE} is provided by RDS and cannot be declared; give a role "auth": "rds_iam" instead`);
    if (n !== undefined) {
      if (roleIndex.has(n)) c.add(`${at}.name`, `duplicate role ${JSON.stringify(n)} (already declared at roles[${roleIndex.get(n)}])`);
      else roleIndex.set(n, i);
    }
    roles.push(spec);
  });
  const isRole = (r: unknown) => typeof r === "string" && roleIndex.has(r);
  const roleNames = () => [...roleIndex.keys()].join(", ");

  roles.forEach((r, i) => {
    r.memberOf.forEach((m, j) => {
      if (m === RDS_IAM_ROLE) c.add(`roles[${i}].memberOf[${j}]`, `do not list ${RDS_IAM_ROLE}; set "auth": "rds_iam" (the membership is granted only on RDS)`);
      else if (!isRole(m)) c.add(`roles[${i}].memberOf[${j}]`, `unknown role ${JSON.stringify(m)}; expected one of the declared roles (${roleNames()})`);
      else if (m === r.name) c.add(`roles[${i}].memberOf[${j}]`, `a role cannot be a member of itself`);
    });
  });
  // Membership cycles (PostgreSQL refuses them; say which roles).
  const reach = (from: string, seen: Set<string>): boolean => {
    for (const m of roles.find((r) => r.name === from)?.memberOf ?? []) {
      if (seen.has(m)) return true;
      if (!isRole(m)) continue;
      seen.add(m);
      if (reach(m, seen)) return true;
      seen.delete(m);
    }
    return false;
  };
  roles.forEach((r, i) => {
    if (roleIndex.get(r.name) === i && reach(r.name, new Set([r.name]))) c.add(`roles[${i}].memberOf`, `membership cycle through role ${JSON.stringify(r.name)}`);
  });

  // Owner -------------------------------------------------------------------------------------
  const owner = typeof raw.owner === "string" ? raw.owner : "";
  if (!isRole(raw.owner)) c.add("owner", `expected one of the declared roles (${roleNames()}), got ${show(raw.owner)}`);
  else {
    const o = roles[roleIndex.get(owner)!];
    if (o.login) c.add("owner", `the owner role ${JSON.stringify(owner)} must be NOLOGIN (set "login": false on roles[${roleIndex.get(owner)}])`);
    if (o.memberOf.length) c.add("owner", `the owner role ${JSON.stringify(owner)} must not be a member of other roles`);
  }

  // Schemas -----------------------------------------------------------------------------------
  const schemas: SchemaSpec[] = [];
  const schemaIndex = new Map<string, number>();
  list(c, "schemas", raw.schemas, "schemas").forEach((s, i) => {
    const at = `schemas[${i}]`;
    if (!isObject(s)) return c.add(at, `expected a schema object, got ${show(s)}`);
    unknownKeys(c, at, s, SCHEMA_KEYS);
    let n = name(c, `${at}.name`, s.name, "schema");
    if (n !== undefined && (SYSTEM_SCHEMAS.has(n) || n.startsWith("pg_"))) {
      c.add(`${at}.name`, `${JSON.stringify(n)} is a system schema and is not managed by the model`);
      n = undefined;
    }
    if (n !== undefined) {
      if (schemaIndex.has(n)) c.add(`${at}.name`, `duplicate schema ${JSON.stringify(n)} (already declared at schemas[${schemaIndex.get(n)}])`);
      else schemaIndex.set(n, i);
    }
    if (s.rls === undefined) c.add(`${at}.rls`, `required: true when every table in the schema must have forced RLS, else false`);
    schemas.push({ name: n ?? String(s.name), rls: bool(c, `${at}.rls`, s.rls, false), comment: text(c, `${at}.comment`, s.comment) });
  });
  const isSchema = (s: unknown) => typeof s === "string" && schemaIndex.has(s);
  const schemaNames = () => [...schemaIndex.keys()].join(", ");

  // Extensions --------------------------------------------------------------------------------
  const extensions: ExtensionSpec[] = [];
  const extensionIndex = new Map<string, number>();
  list(c, "extensions", raw.extensions, "extensions").forEach((e, i) => {
    const at = `extensions[${i}]`;
    if (!isObject(e)) return c.add(at, `expected an extension object, got ${show(e)}`);
    unknownKeys(c, at, e, EXTENSION_KEYS);
    const n = e.name;
    const known = typeof n === "string" ? KNOWN_EXTENSIONS[n] : undefined;
    if (!known) c.add(`${at}.name`, `unknown extension ${show(n)}; expected one of ${Object.keys(KNOWN_EXTENSIONS).join(", ")}`);
    else if (extensionIndex.has(n as string)) c.add(`${at}.name`, `duplicate extension ${JSON.stringify(n)} (already declared at extensions[${extensionIndex.get(n as string)}])`);
    else extensionIndex.set(n as string, i);
    let schema: string | null = null;
    if (e.schema === undefined) c.add(`${at}.schema`, `required: a declared schema, or null to let the extension choose`);
    else if (e.schema !== null) {
      if (!isSchema(e.schema)) c.add(`${at}.schema`, `unknown schema ${show(e.schema)}; expected one of the declared schemas (${schemaNames()}) or null`);
      else {
        schema = e.schema as string;
        if (schemas[schemaIndex.get(schema)!].rls) c.add(`${at}.schema`, `schema ${JSON.stringify(schema)} is RLS-managed; extension objects cannot carry policies, install into a schema with "rls": false`);
      }
    }
    if (known?.fixedSchema && e.schema !== null) c.add(`${at}.schema`, `${n} always installs into ${known.fixedSchema}; expected null`);
    extensions.push({ name: String(n), schema, comment: text(c, `${at}.comment`, e.comment) });
  });

  // Database privileges -----------------------------------------------------------------------
  const database: DatabaseGrant[] = [];
  const dbIndex = new Map<string, number>();
  list(c, "database", raw.database ?? [], "database grants").forEach((d, i) => {
    const at = `database[${i}]`;
    if (!isObject(d)) return c.add(at, `expected {"role": ..., "privileges": [...]}, got ${show(d)}`);
    unknownKeys(c, at, d, DATABASE_KEYS);
    if (!isRole(d.role)) c.add(`${at}.role`, `unknown role ${show(d.role)}; expected one of the declared roles (${roleNames()})`);
    else if (dbIndex.has(d.role as string)) c.add(`${at}.role`, `duplicate entry for role ${JSON.stringify(d.role)} (already at database[${dbIndex.get(d.role as string)}])`);
    else dbIndex.set(d.role as string, i);
    const p = privileges(c, `${at}.privileges`, d.privileges, DATABASE_PRIVILEGES, "database");
    if (d.privileges === undefined || (Array.isArray(d.privileges) && d.privileges.length === 0)) c.add(`${at}.privileges`, `expected at least one of ${DATABASE_PRIVILEGES.join(", ")}`);
    database.push({ role: String(d.role), privileges: p });
  });

  // Schema grants -----------------------------------------------------------------------------
  const grants: SchemaGrant[] = [];
  const grantIndex = new Map<string, number>();
  list(c, "grants", raw.grants, "grants").forEach((g, i) => {
    const at = `grants[${i}]`;
    if (!isObject(g)) return c.add(at, `expected a grant object, got ${show(g)}`);
    unknownKeys(c, at, g, GRANT_KEYS);
    if (!isRole(g.role)) c.add(`${at}.role`, `unknown role ${show(g.role)}; expected one of the declared roles (${roleNames()})`);
    else if (g.role === owner) c.add(`${at}.role`, `${JSON.stringify(owner)} owns every object and already holds every privilege; remove this grant`);
    if (!isSchema(g.schema)) c.add(`${at}.schema`, `unknown schema ${show(g.schema)}; expected one of the declared schemas (${schemaNames()})`);
    const key = `${String(g.role)}/${String(g.schema)}`;
    if (grantIndex.has(key)) c.add(at, `duplicate grant for role ${JSON.stringify(g.role)} on schema ${JSON.stringify(g.schema)} (already at grants[${grantIndex.get(key)}]); merge them`);
    else grantIndex.set(key, i);
    const spec: SchemaGrant = {
      role: String(g.role),
      schema: String(g.schema),
      schemaPrivileges: privileges(c, `${at}.schemaPrivileges`, g.schemaPrivileges, SCHEMA_PRIVILEGES, "schema"),
      tables: privileges(c, `${at}.tables`, g.tables, TABLE_PRIVILEGES, "table"),
      sequences: privileges(c, `${at}.sequences`, g.sequences, SEQUENCE_PRIVILEGES, "sequence"),
      functions: privileges(c, `${at}.functions`, g.functions, FUNCTION_PRIVILEGES, "function"),
    };
    const objectPrivileges = spec.tables.length + spec.sequences.length + spec.functions.length;
    if (objectPrivileges + spec.schemaPrivileges.length === 0) c.add(at, `grants nothing; expected schemaPrivileges, tables, sequences or functions`);
    if (objectPrivileges > 0 && !spec.schemaPrivileges.includes("USAGE")) {
      c.add(`${at}.schemaPrivileges`, `object privileges in schema ${JSON.stringify(spec.schema)} are unusable without USAGE on it; add "USAGE"`);
    }
    // Grants and policies together: a table privilege in an RLS-managed schema is declared next to the
    // table's policies (sql/policies), never in bulk here, so no role holds one that no policy backs.
    if (spec.tables.length && isSchema(g.schema) && schemas[schemaIndex.get(g.schema as string)!].rls) {
      c.add(
        `${at}.tables`,
        `schema ${JSON.stringify(spec.schema)} is RLS-managed: its table privileges are granted per table in its policy file (sql/policies), next to the policies, ` +
          `so a role gets a table privilege only where a policy exists; remove "tables" here`,
      );
    }
    grants.push(spec);
  });

  if (c.issues.length) throw new AccessModelError(c.issues, source);
  return { version: 1, owner, roles, schemas, extensions, database, grants };
}

/** Re-validates an in-memory model (e.g. one a test or a caller built or edited). */
export function validateAccessModel(model: AccessModel, source = "access model"): AccessModel {
  return parseAccessModel(JSON.parse(JSON.stringify(model)), source);
}

/** sql/access.json, found from the source tree (migrator/) or the build output (dist/migrator/). */
export function defaultAccessModelPath(): string {
  const candidates = [path.join(__dirname, "..", "sql", "access.json"), path.join(__dirname, "..", "..", "sql", "access.json")];
  return candidates.find((p) => fs.existsSync(p)) ?? candidates[0];
}

/** Reads and validates the model file. Throws AccessModelError (invalid) or a read/JSON error naming the file. */
export function loadAccessModel(file = defaultAccessModelPath()): AccessModel {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot read the access model ${file}: ${(e as Error).message}`);
  }
  return parseAccessModel(raw, file);
}

// ---------------------------------------------------------------------------------------------
// Questions other modules ask of the model
// ---------------------------------------------------------------------------------------------

/** Schemas where every table must have RLS enabled and forced, with a policy (the migrator's checks). */
export function rlsSchemas(model: AccessModel): string[] {
  return model.schemas.filter((s) => s.rls).map((s) => s.name);
}

/**
 * The roles whose table privileges in RLS-managed schemas the policy files decide: every NOLOGIN role
 * but the owner (anon, authenticated, service_role, auditor, analytics_reader). Each policy file
 * revokes everything on its tables from these (and PUBLIC), then grants what its policies back.
 */
export function policyGranteeRoles(model: AccessModel): string[] {
  return model.roles.filter((r) => !r.login && r.name !== model.owner).map((r) => r.name);
}

/** Request roles the API switches to (anon, authenticated, service_role). */
export function requestRoles(model: AccessModel): string[] {
  return model.roles.filter((r) => r.requestRole).map((r) => r.name);
}

/** LOGIN roles whose password phi-db generates (Secrets Manager on AWS). */
export function passwordRoles(model: AccessModel): string[] {
  return model.roles.filter((r) => r.auth === "password").map((r) => r.name);
}

/** LOGIN roles that authenticate with IAM (member of rds_iam on RDS). */
export function iamRoles(model: AccessModel): string[] {
  return model.roles.filter((r) => r.auth === "rds_iam").map((r) => r.name);
}

/** Every role except the owner: the grantees whose privileges the model decides. */
export function granteeRoles(model: AccessModel): string[] {
  return model.roles.filter((r) => r.name !== model.owner).map((r) => r.name);
}

/**
 * Roles in an order where every role comes after the roles it is a member of (so memberships can be
 * granted as each role is created). Declaration order otherwise.
 */
export function rolesInCreationOrder(model: AccessModel): RoleSpec[] {
  const done = new Set<string>();
  const out: RoleSpec[] = [];
  const visit = (r: RoleSpec) => {
    if (done.has(r.name)) return;
    done.add(r.name);
    for (const m of r.memberOf) {
      const dep = model.roles.find((x) => x.name === m);
      if (dep) visit(dep);
    }
    out.push(r);
  };
  model.roles.forEach(visit);
  return out;
}

/**
 * Checks a list of extension names the environment marks optional (config `optionalExtensions`):
 * each must be an extension of the model. Throws AccessModelError naming the entry otherwise.
 */
export function checkOptionalExtensions(model: AccessModel, optional: readonly string[], source = "optionalExtensions"): void {
  const names = model.extensions.map((e) => e.name);
  const issues = optional
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => !names.includes(e))
    .map(({ e, i }) => ({ path: `optionalExtensions[${i}]`, message: `unknown extension ${JSON.stringify(e)}; expected one of the model's extensions (${names.join(", ")})` }));
  if (issues.length) throw new AccessModelError(issues, source);
}

/** Extensions that must be present in this environment (the model's, minus the optional ones). */
export function requiredExtensions(model: AccessModel, optional: readonly string[] = []): string[] {
  return model.extensions.map((e) => e.name).filter((e) => !optional.includes(e));
}

/** Libraries the server must preload for the model's extensions (for the RDS parameter group). */
export function sharedPreloadLibraries(model: AccessModel): string[] {
  const libs = model.extensions.map((e) => KNOWN_EXTENSIONS[e.name]?.preload).filter((l): l is string => !!l);
  return [...new Set(libs)];
}

/** Schemas that hold extensions (their functions must stay executable by PUBLIC). */
export function extensionSchemas(model: AccessModel): string[] {
  return [...new Set(model.extensions.map((e) => e.schema).filter((s): s is string => s !== null))];
}
