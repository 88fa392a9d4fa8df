/**
 * The access model rendered as idempotent SQL, and applied with a plain `pg` client (local and
 * embedded databases; on RDS, components/access.ts applies the same model through Pulumi).
 *
 * Two parts, because roles are cluster-wide and everything else belongs to one database:
 *
 *   cluster   roles (attributes, comments) and memberships. Each statement is a DO block that
 *             commits on its own and tolerates a run against ANOTHER database of the same cluster
 *             doing the same thing at the same moment: CREATE ROLE / GRANT races raise
 *             duplicate_object or unique_violation, which the blocks catch. Attributes and comments
 *             are changed only when they differ, so a re-run writes nothing.
 *   database  database privileges, schemas, extensions, schema privileges, grants on existing
 *             objects and default privileges, in ONE transaction serialised by an advisory lock:
 *             a failure leaves the database as it was.
 *
 * Convergence: schema, database and default privileges of the model's roles are revoked and
 * re-granted inside that transaction, so the result is exactly the model whatever was there before.
 * Grants on existing tables, sequences and functions are additive (a migration may have granted more
 * on a single object, e.g. EXECUTE on one function to anon; that is the migration's business).
 *
 * Tables in RLS-managed schemas: the model grants none (grants and policies together: each table's
 * privileges are in its policy file, sql/policies, which revokes and re-grants them per table), so
 * this rendering grants no table there and its default privileges give new tables there nothing. It
 * does not revoke existing table grants either: an older database that still holds the former bulk
 * grants converges when the policy files run (their per-table `revoke all` + `grant`).
 *
 * Works on PostgreSQL 15, 16 and 17: PostgreSQL 16 made role membership options per grant
 * (INHERIT / SET / ADMIN, recorded with the grantor); the membership blocks set them explicitly there
 * (through EXECUTE, because the syntax does not parse on 15).
 *
 * No Pulumi import here.
 */
import type { Client } from "pg";
import {
  AccessModel,
  checkOptionalExtensions,
  extensionSchemas,
  granteeRoles,
  iamRoles,
  KNOWN_EXTENSIONS,
  ObjectKind,
  OBJECT_KINDS,
  RDS_IAM_ROLE,
  RoleSpec,
  rolesInCreationOrder,
  validateAccessModel,
} from "./access-model";

export interface AccessStatement {
  /** `cluster`: runs on its own (autocommit). `database`: runs inside the one database transaction. */
  scope: "cluster" | "database";
  /** What the statement does, for logs and errors ("role authenticator", "schema tenant"). */
  label: string;
  sql: string;
  /** Only a comment (e.g. a skipped extension): shown in the script, not sent to the server. */
  noop?: boolean;
}

export interface RenderOptions {
  /** Grant rds_iam to the roles with `"auth": "rds_iam"` (RDS only: the role exists nowhere else). */
  rdsIam: boolean;
  /** Model extensions not to create (optional ones this server does not have). Defaults to none. */
  skipExtensions?: readonly string[];
}

/** Key of the transaction advisory lock that serialises two access runs on the same database. */
export const ACCESS_LOCK_KEY = BigInt("0x7068692d61636331"); // "phi-acc1"

const PLAIN = /^[a-z_][a-z0-9_]*$/;
/** An identifier as SQL text: bare when it is a plain lower-case name (the model validates names), quoted otherwise. */
export function ident(name: string): string {
  return PLAIN.test(name) ? name : '"' + name.replace(/"/g, '""') + '"';
}
/** A string literal (standard_conforming_strings, the default since 9.1). */
export function literal(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}
const idents = (names: readonly string[]) => names.map(ident).join(", ");
const textArray = (names: readonly string[]) => (names.length ? `array[${names.map(literal).join(", ")}]::text[]` : "array[]::text[]");
const lower = (privs: readonly string[]) => privs.map((p) => p.toLowerCase()).join(", ");

/** SQL object-kind words for each model object kind. */
const KIND_SQL: Record<ObjectKind, { all: string; defaults: string }> = {
  tables: { all: "all tables", defaults: "tables" },
  sequences: { all: "all sequences", defaults: "sequences" },
  // ALL ROUTINES covers functions and procedures; in default privileges FUNCTIONS already covers both.
  functions: { all: "all routines", defaults: "functions" },
};

function doBlock(lines: string[], declare: string[] = []): string {
  const body = [...(declare.length ? ["declare", ...declare.map((d) => "  " + d)] : []), "begin", ...lines.map((l) => "  " + l), "end"].join("\n");
  if (body.includes("$access$")) throw new Error("internal: a rendered DO block contains its own delimiter");
  return `do $access$\n${body}\n$access$;`;
}

function roleSummary(r: RoleSpec): string {
  const attrs = [r.login ? "login" : "nologin", r.inherit ? "inherit" : "noinherit", r.bypassRls ? "bypassrls" : "nobypassrls"];
  if (r.connectionLimit !== -1) attrs.push(`connection limit ${r.connectionLimit}`);
  if (r.login) attrs.push(r.auth === "rds_iam" ? "IAM authentication on RDS" : "password authentication");
  return attrs.join(", ");
}

// ---------------------------------------------------------------------------------------------
// Cluster part: roles and memberships
// ---------------------------------------------------------------------------------------------

function roleStatement(r: RoleSpec): AccessStatement {
  const n = r.name;
  const create = [r.login ? "login" : "nologin", r.inherit ? "inherit" : "noinherit"];
  if (r.bypassRls) create.push("bypassrls");
  if (r.connectionLimit !== -1) create.push(`connection limit ${r.connectionLimit}`);
  const alter = (attr: string) => `alter role ${ident(n)} with ${attr};`;
  const lines = [
    `if not exists (select from pg_catalog.pg_roles where rolname = ${literal(n)}) then`,
    `  begin`,
    `    create role ${ident(n)} with ${create.join(" ")};`,
    `  exception when duplicate_object or unique_violation then`,
    `    null; -- created at this moment by a run against another database of this cluster`,
    `  end;`,
    `end if;`,
    `select * into strict r from pg_catalog.pg_roles where rolname = ${literal(n)};`,
    `-- one attribute at a time, only when it differs (naming SUPERUSER or BYPASSRLS at all needs privileges a no-op must not)`,
    `if r.rolcanlogin is distinct from ${r.login} then ${alter(r.login ? "login" : "nologin")} end if;`,
    `if r.rolinherit is distinct from ${r.inherit} then ${alter(r.inherit ? "inherit" : "noinherit")} end if;`,
    `if r.rolbypassrls is distinct from ${r.bypassRls} then ${alter(r.bypassRls ? "bypassrls" : "nobypassrls")} end if;`,
    `if r.rolsuper then ${alter("nosuperuser")} end if;`,
    `if r.rolcreatedb then ${alter("nocreatedb")} end if;`,
    `if r.rolcreaterole then ${alter("nocreaterole")} end if;`,
    `if r.rolreplication then ${alter("noreplication")} end if;`,
    `if r.rolconnlimit <> ${r.connectionLimit} then ${alter(`connection limit ${r.connectionLimit}`)} end if;`,
    `if pg_catalog.shobj_description(r.oid, 'pg_authid') is distinct from ${literal(r.comment)} then`,
    `  comment on role ${ident(n)} is ${literal(r.comment)};`,
    `end if;`,
  ];
  const header = [`-- role ${n}: ${roleSummary(r)}`, ...(r.comment ? [`-- ${r.comment}`] : [])];
  return { scope: "cluster", label: `role ${n}`, sql: header.join("\n") + "\n" + doBlock(lines, ["r record;"]) };
}

function membershipStatement(r: RoleSpec, rdsIam: boolean): AccessStatement {
  const n = r.name;
  const grant = [...r.memberOf, ...(r.auth === "rds_iam" && rdsIam ? [RDS_IAM_ROLE] : [])];
  // rds_iam is never revoked from an IAM role (a run with rdsIam off, e.g. locally, must not undo RDS).
  const keep = [...r.memberOf, ...(r.auth === "rds_iam" ? [RDS_IAM_ROLE] : [])];
  const header = [
    `-- memberships of ${n}: ${grant.length ? "exactly " + grant.join(", ") : "none"}`,
    `--   every grant: set true, inherit ${r.inherit} (as ${n} is ${r.inherit ? "inherit" : "noinherit"}), no admin option; any other membership of ${n} is revoked`,
  ];
  if (r.auth === "rds_iam" && !rdsIam) header.push(`--   ${RDS_IAM_ROLE} NOT granted: this rendering is for a server without IAM authentication (not RDS)`);
  const lines = [
    `foreach g in array wanted loop`,
    `  if not exists (select from pg_catalog.pg_auth_members am`,
    `                  where am.roleid = g::regrole and am.member = ${literal(n)}::regrole) then`,
    `    begin`,
    `      execute pg_catalog.format('grant %I to %I', g, ${literal(n)});`,
    `    exception when duplicate_object or unique_violation then`,
    `      null; -- granted at this moment by a run against another database of this cluster`,
    `    end;`,
    `  end if;`,
    `end loop;`,
    `for m in`,
    `  select pg_catalog.pg_get_userbyid(am.roleid) as granted, pg_catalog.pg_get_userbyid(am.grantor) as grantor, am.admin_option`,
    `    from pg_catalog.pg_auth_members am`,
    `   where am.member = ${literal(n)}::regrole`,
    `loop`,
    `  if not (m.granted = any (kept)) then`,
    `    if pg16 then`,
    `      execute pg_catalog.format('revoke %I from %I granted by %I', m.granted, ${literal(n)}, m.grantor);`,
    `    else`,
    `      execute pg_catalog.format('revoke %I from %I', m.granted, ${literal(n)});`,
    `    end if;`,
    `    raise notice 'revoked membership of ${n} in % (not in the access model)', m.granted;`,
    `  elsif m.admin_option then`,
    `    if pg16 then`,
    `      execute pg_catalog.format('revoke admin option for %I from %I granted by %I', m.granted, ${literal(n)}, m.grantor);`,
    `    else`,
    `      execute pg_catalog.format('revoke admin option for %I from %I', m.granted, ${literal(n)});`,
    `    end if;`,
    `  end if;`,
    `end loop;`,
    `if pg16 then`,
    `  -- PostgreSQL 16+: options live on each grant; a grant made while ${n} had other attributes keeps its old ones`,
    `  for m in execute 'select pg_catalog.pg_get_userbyid(roleid) as granted, pg_catalog.pg_get_userbyid(grantor) as grantor`,
    `                      from pg_catalog.pg_auth_members`,
    `                     where member = $1::regrole and (inherit_option is distinct from $2 or not set_option)'`,
    `    using ${literal(n)}, ${r.inherit}`,
    `  loop`,
    `    execute pg_catalog.format('grant %I to %I with inherit ${r.inherit}, set true granted by %I', m.granted, ${literal(n)}, m.grantor);`,
    `  end loop;`,
    `end if;`,
  ];
  const declare = [
    `wanted constant text[] := ${textArray(grant)};`,
    `kept constant text[] := ${textArray(keep)};`,
    `pg16 constant boolean := pg_catalog.current_setting('server_version_num')::int >= 160000;`,
    `g text;`,
    `m record;`,
  ];
  return { scope: "cluster", label: `memberships of ${n}`, sql: header.join("\n") + "\n" + doBlock(lines, declare) };
}

// ---------------------------------------------------------------------------------------------
// Database part
// ---------------------------------------------------------------------------------------------

/** Groups roles by identical privilege lists so one GRANT covers them ("usage" -> [a, b]). */
function byPrivileges(entries: { role: string; privileges: readonly string[] }[]): { privileges: string; roles: string[] }[] {
  const out = new Map<string, string[]>();
  for (const e of entries) {
    if (!e.privileges.length) continue;
    const key = lower(e.privileges);
    out.set(key, [...(out.get(key) ?? []), e.role]);
  }
  return [...out.entries()].map(([privileges, roles]) => ({ privileges, roles }));
}

function databaseStatements(model: AccessModel, skip: readonly string[]): AccessStatement[] {
  const out: AccessStatement[] = [];
  const db = (label: string, sql: string) => out.push({ scope: "database", label, sql });
  const grantees = granteeRoles(model);
  const everyone = model.roles.map((r) => r.name);
  const owner = ident(model.owner);

  db(
    "advisory lock",
    [
      `-- serialise two access runs on this database (released at commit; runs on other databases do not wait)`,
      `select pg_catalog.pg_advisory_xact_lock(${ACCESS_LOCK_KEY.toString()});`,
    ].join("\n"),
  );

  // Database privileges.
  const dbGrants = byPrivileges(model.database.map((d) => ({ role: d.role, privileges: d.privileges })));
  db(
    "database privileges",
    [
      `-- database: PUBLIC may not connect or create temporary tables; only the roles below get database privileges`,
      ...model.database.map((d) => `--   ${d.role}: ${lower(d.privileges)}`),
      doBlock([
        `execute pg_catalog.format('revoke all on database %I from public, ${idents(everyone)}', pg_catalog.current_database());`,
        ...dbGrants.map((g) => `execute pg_catalog.format('grant ${g.privileges} on database %I to ${idents(g.roles)}', pg_catalog.current_database());`),
      ]),
    ].join("\n"),
  );

  // Schema public.
  db(
    "schema public",
    [
      `-- schema public: nobody may use it or create in it (extensions live in their own schema)`,
      doBlock([
        `if exists (select from pg_catalog.pg_namespace where nspname = 'public') then`,
        `  revoke all on schema public from public, ${idents(everyone)};`,
        `end if;`,
      ]),
    ].join("\n"),
  );

  // Schemas.
  for (const s of model.schemas) {
    db(
      `schema ${s.name}`,
      [
        `-- schema ${s.name}${s.rls ? " (RLS-managed: every table must have forced row-level security and a policy)" : ""}`,
        ...(s.comment ? [`-- ${s.comment}`] : []),
        doBlock([
          `if not exists (select from pg_catalog.pg_namespace where nspname = ${literal(s.name)}) then`,
          `  create schema ${ident(s.name)} authorization ${owner};`,
          `end if;`,
        ]),
        `alter schema ${ident(s.name)} owner to ${owner};`,
        `comment on schema ${ident(s.name)} is ${literal(s.comment)};`,
      ].join("\n"),
    );
  }

  // Extensions.
  for (const e of model.extensions) {
    if (skip.includes(e.name)) {
      out.push({
        scope: "database",
        label: `extension ${e.name} (skipped)`,
        sql: `-- extension ${e.name}: SKIPPED (optional in this environment and not available on this server)`,
        noop: true,
      });
      continue;
    }
    const known = KNOWN_EXTENSIONS[e.name];
    const header = [`-- extension ${e.name}${e.schema ? ` in schema ${e.schema}` : " (installs where it must)"}${e.comment ? ": " + e.comment : ""}`];
    if (e.schema === null) {
      db(
        `extension ${e.name}`,
        [...header, doBlock([`if not exists (select from pg_catalog.pg_extension where extname = ${literal(e.name)}) then`, `  create extension ${ident(e.name)};`, `end if;`])].join("\n"),
      );
      continue;
    }
    const moveOrFail = known?.relocatable
      ? [`  alter extension ${ident(e.name)} set schema ${ident(e.schema)};`, `  raise notice 'moved extension ${e.name} from schema % to ${e.schema}', installed_in;`]
      : [
          `  raise exception 'extension ${e.name} is installed in schema % but the access model says ${e.schema}; it cannot be moved: drop and re-create it by hand', installed_in;`,
        ];
    db(
      `extension ${e.name}`,
      [
        ...header,
        doBlock(
          [
            `select n.nspname into installed_in`,
            `  from pg_catalog.pg_extension x join pg_catalog.pg_namespace n on n.oid = x.extnamespace`,
            ` where x.extname = ${literal(e.name)};`,
            `if installed_in is null then`,
            `  create extension ${ident(e.name)} with schema ${ident(e.schema)};`,
            `elsif installed_in <> ${literal(e.schema)} then`,
            ...moveOrFail,
            `end if;`,
          ],
          ["installed_in name;"],
        ),
      ].join("\n"),
    );
  }

  // Schema privileges, grants on existing objects, default privileges: per schema.
  const hostsExtensions = extensionSchemas(model);
  for (const s of model.schemas) {
    const entries = model.grants.filter((g) => g.schema === s.name);
    const schemaGrants = byPrivileges(entries.map((g) => ({ role: g.role, privileges: g.schemaPrivileges })));
    db(
      `privileges on schema ${s.name}`,
      [
        `-- who may use schema ${s.name}: ${schemaGrants.length ? schemaGrants.map((g) => `${g.privileges} to ${g.roles.join(", ")}`).join("; ") : "nobody but its owner"}`,
        `revoke all on schema ${ident(s.name)} from public, ${idents(grantees)};`,
        ...schemaGrants.map((g) => `grant ${g.privileges} on schema ${ident(s.name)} to ${idents(g.roles)};`),
      ].join("\n"),
    );

    const existing: string[] = [];
    if (s.rls) {
      existing.push(`-- tables: none here (RLS-managed: each table's privileges are granted in its policy file, sql/policies, next to its policies)`);
    }
    if (!hostsExtensions.includes(s.name)) existing.push(`revoke execute on all routines in schema ${ident(s.name)} from public;`);
    // Extension views and tables (pg_stat_statements: other sessions' query texts) are not for request roles.
    else existing.push(`revoke all on all tables in schema ${ident(s.name)} from public;`);
    for (const kind of OBJECT_KINDS) {
      for (const g of byPrivileges(entries.map((e) => ({ role: e.role, privileges: e[kind] })))) {
        existing.push(`grant ${g.privileges} on ${KIND_SQL[kind].all} in schema ${ident(s.name)} to ${idents(g.roles)};`);
      }
    }
    db(
      `existing objects in schema ${s.name}`,
      [
        `-- objects that already exist in schema ${s.name} (additive; objects created later get the default privileges below)`,
        ...(hostsExtensions.includes(s.name)
          ? [`-- (functions here belong to extensions and keep their EXECUTE for PUBLIC; their views and tables, e.g. pg_stat_statements, do not stay readable)`]
          : []),
        ...existing,
      ].join("\n"),
    );

    const defaults: string[] = [];
    for (const kind of OBJECT_KINDS) {
      defaults.push(`alter default privileges for role ${owner} in schema ${ident(s.name)} revoke all on ${KIND_SQL[kind].defaults} from ${idents(grantees)};`);
    }
    for (const kind of OBJECT_KINDS) {
      for (const g of byPrivileges(entries.map((e) => ({ role: e.role, privileges: e[kind] })))) {
        defaults.push(`alter default privileges for role ${owner} in schema ${ident(s.name)} grant ${g.privileges} on ${KIND_SQL[kind].defaults} to ${idents(g.roles)};`);
      }
    }
    db(
      `default privileges in schema ${s.name}`,
      [
        `-- default privileges: tables, sequences and functions ${model.owner} creates later in schema ${s.name} get exactly these grants`,
        ...(s.rls ? [`-- (RLS-managed: a new table gets no privilege for these roles; it stays dark until its policy file grants it)`] : []),
        ...defaults,
      ].join("\n"),
    );
  }

  db(
    "default privileges everywhere",
    [
      `-- default privileges outside any one schema: nothing for the model's roles, and functions ${model.owner} creates`,
      `-- are NOT executable by PUBLIC (a per-schema default can only add to this, never take away)`,
      ...["tables", "sequences", "functions", "types", "schemas"].map((k) => `alter default privileges for role ${owner} revoke all on ${k} from ${idents(grantees)};`),
      `alter default privileges for role ${owner} revoke execute on functions from public;`,
    ].join("\n"),
  );
  return out;
}

/**
 * The model as SQL statements, in the order they must run: the cluster part (roles, then
 * memberships), then the database part. Pure: reads nothing, so it can be printed and snapshotted.
 */
export function renderAccessSql(model: AccessModel, opts: RenderOptions): AccessStatement[] {
  const roles = rolesInCreationOrder(model);
  return [
    ...roles.map(roleStatement),
    ...roles.map((r) => membershipStatement(r, opts.rdsIam)),
    ...databaseStatements(model, opts.skipExtensions ?? []),
  ];
}

/** The same statements as one script a DBA can read or run with psql (database part in a transaction). */
export function renderAccessScript(model: AccessModel, opts: RenderOptions): string {
  const statements = renderAccessSql(model, opts);
  const cluster = statements.filter((s) => s.scope === "cluster");
  const database = statements.filter((s) => s.scope === "database");
  return [
    `-- phi-db access model, rendered from sql/access.json by migrator/access-sql.ts: edit the model, not this output.`,
    `-- Idempotent: running it again changes nothing. Run it as a superuser (local and embedded servers);`,
    `-- on RDS, components/access.ts applies the same model through @pulumi/postgresql as the master user.`,
    `-- rds_iam memberships: ${opts.rdsIam ? "granted (RDS)" : "not granted (no IAM authentication on this server)"}.`,
    ``,
    `-- ===== Part 1: roles and memberships (cluster-wide; each statement commits on its own) =====`,
    ``,
    cluster.map((s) => s.sql).join("\n\n"),
    ``,
    `-- ===== Part 2: this database (one transaction) =====`,
    ``,
    `begin;`,
    ``,
    database.map((s) => s.sql).join("\n\n"),
    ``,
    `commit;`,
    ``,
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Applying
// ---------------------------------------------------------------------------------------------

export interface ApplyAccessOptions {
  /** Environment name (local, dev, staging, prod): decides the rds_iam default and appears in notices. */
  environment: string;
  /** Extensions that may be missing on this server (config `optionalExtensions`): skipped with a notice. */
  optionalExtensions: readonly string[];
  /**
   * Grant rds_iam to IAM login roles: `true` (the role must exist, else AccessPreflightError),
   * `false` (never), or `"auto"` (when the server has it; a visible warning when it does not).
   * Defaults to false in the `local` environment and "auto" elsewhere (a dev/prod config pointed at a
   * plain PostgreSQL fails closed: the IAM login simply cannot log in).
   */
  rdsIam?: boolean | "auto";
  /** Progress and notices ("notice: extension pg_cron ... skipped"). */
  log?: (line: string) => void;
}

export interface ApplyAccessResult {
  /** Optional extensions this server does not have, which were not created. */
  skippedExtensions: string[];
  /** IAM login roles that were not made members of rds_iam (not RDS). */
  skippedRdsIam: string[];
  /** server_version_num of the server. */
  serverVersion: number;
  /** Number of statements run. */
  statements: number;
  /** NOTICE messages the server raised (revoked strays, moved extensions ...). */
  notices: string[];
}

/** The server is not fit for the model (too old, required extension or rds_iam missing). Nothing was applied. */
export class AccessPreflightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AccessPreflightError";
  }
}

/** A statement of the rendered model failed; `label` says which ("schema tenant", "role anon"). */
export class AccessApplyError extends Error {
  constructor(
    public readonly label: string,
    public readonly scope: "cluster" | "database",
    public readonly code: string | undefined,
    cause: string,
  ) {
    super(
      `access model: ${label} failed: ${cause}` +
        (scope === "database" ? " (the database part was rolled back)" : " (roles and memberships applied before it remain; re-running converges)"),
    );
    this.name = "AccessApplyError";
  }
}

/**
 * Applies the model on `client` (a superuser locally). Validates everything and checks the server
 * first, so bad input or a missing required extension changes nothing. Optional extensions the server
 * lacks are skipped with a notice (never silently); so are rds_iam memberships off RDS.
 * Leaves no session state behind (no SET, no open transaction).
 */
export async function applyAccessModel(client: Client, model: AccessModel, opts: ApplyAccessOptions): Promise<ApplyAccessResult> {
  const log = opts.log ?? (() => undefined);
  const m = validateAccessModel(model);
  checkOptionalExtensions(m, opts.optionalExtensions);
  const rdsIamOption = opts.rdsIam ?? (opts.environment === "local" ? false : "auto");

  // Preflight: reads only.
  const pre = await client.query(
    `select pg_catalog.current_setting('server_version_num')::int as version,
            array(select name::text from pg_catalog.pg_available_extensions) as available,
            exists (select from pg_catalog.pg_roles where rolname = $1) as has_rds_iam`,
    [RDS_IAM_ROLE],
  );
  const serverVersion: number = pre.rows[0].version;
  const available = new Set<string>(pre.rows[0].available);
  if (serverVersion < 150000) throw new AccessPreflightError(`access model: PostgreSQL 15 or later is required, this server is ${serverVersion}`);
  const missing = m.extensions.map((e) => e.name).filter((e) => !available.has(e));
  const missingRequired = missing.filter((e) => !opts.optionalExtensions.includes(e));
  if (missingRequired.length) {
    throw new AccessPreflightError(
      `access model: required extension(s) not available on this server: ${missingRequired.join(", ")} ` +
        `(environment ${opts.environment}; optional here: ${opts.optionalExtensions.join(", ") || "none"}). ` +
        `Install them on the server, or list them in config phi-db:optionalExtensions where that is acceptable. Nothing was applied.`,
    );
  }
  const iam = iamRoles(m);
  const hasRdsIam: boolean = pre.rows[0].has_rds_iam;
  if (rdsIamOption === true && iam.length && !hasRdsIam) {
    throw new AccessPreflightError(
      `access model: role ${RDS_IAM_ROLE} does not exist, so ${iam.join(", ")} cannot use IAM authentication ` +
        `(environment ${opts.environment}, rdsIam: true expects RDS). Nothing was applied.`,
    );
  }
  const rdsIam = rdsIamOption === "auto" ? hasRdsIam : rdsIamOption;
  for (const e of missing) log(`notice: extension ${e} is not available on this server; skipped (optional in environment ${opts.environment})`);
  const skippedRdsIam = rdsIam ? [] : iam;
  for (const r of skippedRdsIam) {
    if (rdsIamOption === "auto") {
      log(`warning: ${r} is not made a member of ${RDS_IAM_ROLE}: environment ${opts.environment} expects RDS, but this server has no ${RDS_IAM_ROLE} role; ${r} has no way to log in here`);
    } else {
      log(`notice: ${r} is not made a member of ${RDS_IAM_ROLE} (environment ${opts.environment}: IAM database authentication exists only on RDS); ${r} has no way to log in here`);
    }
  }

  const statements = renderAccessSql(m, { rdsIam, skipExtensions: missing });
  const notices: string[] = [];
  const onNotice = (n: { message?: string }) => {
    notices.push(n.message ?? "");
    log(`notice: ${n.message}`);
  };
  client.on("notice", onNotice);
  try {
    const cluster = statements.filter((s) => s.scope === "cluster" && !s.noop);
    log(`access model: ${cluster.length} role and membership statements (cluster-wide)`);
    for (const s of cluster) {
      try {
        await client.query(s.sql);
      } catch (e) {
        const err = e as { message: string; code?: string };
        throw new AccessApplyError(s.label, "cluster", err.code, err.message);
      }
    }
    const database = statements.filter((s) => s.scope === "database" && !s.noop);
    log(`access model: ${database.length} database statements (one transaction)`);
    await client.query("begin");
    let current = "";
    try {
      for (const s of database) {
        current = s.label;
        await client.query(s.sql);
      }
      await client.query("commit");
    } catch (e) {
      await client.query("rollback").catch(() => undefined);
      const err = e as { message: string; code?: string };
      throw new AccessApplyError(current, "database", err.code, err.message);
    }
  } finally {
    client.removeListener("notice", onNotice);
  }
  return { skippedExtensions: missing, skippedRdsIam, serverVersion, statements: statements.filter((s) => !s.noop).length, notices };
}
