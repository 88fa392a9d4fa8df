/**
 * Post-apply verification. Every check reads the catalog and names each failing object:
 *
 *   rls-forced          every table in the managed schemas has RLS enabled AND forced
 *   rls-has-policy      ... and at least one policy
 *   no-orphan-policy    no policy exists in the database that no repository SQL file declares
 *   extensions          the required extensions are installed
 *   definer-search-path every SECURITY DEFINER function pins search_path
 *   views-invoker       views in schemas the request roles can use are security_invoker
 *   grant-has-policy    no role holds a table privilege (SELECT/INSERT/UPDATE/DELETE) on a table of the
 *                       managed schemas that no permissive policy backs (grants and policies together)
 *   policy-has-grant    no permissive policy names a role that lacks the privilege it would need
 *
 * The last two read the policy matrix (see `policyMatrix`) for the request roles and every other
 * NOLOGIN role that may use a managed schema (auditor, analytics_reader), except the schemas' owner.
 */
import type { Client } from "pg";
import type { SqlProject } from "./files";
import { parseTrees } from "./statements";

export interface CheckOptions {
  /** Schemas whose every table must have RLS enabled, forced, and a policy. */
  managedSchemas: string[];
  /** Extensions that must be installed (optional ones already removed for this environment). */
  requiredExtensions: string[];
  /** Policies the repository declares, as `schema.table.policy` (see `declaredPolicies`). */
  declaredPolicies: string[];
  /** Roles that serve requests; views in schemas they may use must be security_invoker. */
  requestRoles: string[];
}

export interface CheckResult {
  name: string;
  ok: boolean;
  failures: string[];
}

export class ChecksFailedError extends Error {
  constructor(public readonly results: CheckResult[]) {
    const bad = results.filter((r) => !r.ok);
    super(`verification failed:\n` + bad.map((r) => r.failures.map((f) => `  [${r.name}] ${f}`).join("\n")).join("\n"));
    this.name = "ChecksFailedError";
  }
}

interface RangeVar {
  schemaname?: string;
  relname: string;
}

/**
 * Every policy the repository's SQL declares (`create policy` and `alter policy ... rename to`),
 * read with the real parser from migrations and repeatables. Unqualified tables count as `public`.
 */
export async function declaredPolicies(project: SqlProject): Promise<string[]> {
  const out = new Set<string>();
  const files = [...project.migrations, ...project.repeatables, ...project.seeds];
  for (const f of files) {
    for (const stmt of await parseTrees(f.sql)) {
      const create = stmt.CreatePolicyStmt as { policy_name: string; table: RangeVar } | undefined;
      if (create) out.add(`${create.table.schemaname ?? "public"}.${create.table.relname}.${create.policy_name}`);
      const rename = stmt.RenameStmt as { renameType: string; relation?: RangeVar; newname: string } | undefined;
      if (rename && rename.renameType === "OBJECT_POLICY" && rename.relation) {
        out.add(`${rename.relation.schemaname ?? "public"}.${rename.relation.relname}.${rename.newname}`);
      }
    }
  }
  return [...out].sort();
}

const SYSTEM_SCHEMAS = ["pg_catalog", "information_schema", "pg_toast"];

export async function runChecks(client: Client, opts: CheckOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];

  const tables = await client.query(
    `select n.nspname as schema, c.relname as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
            (select count(*) from pg_catalog.pg_policy p where p.polrelid = c.oid)::int as policies
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname = any($1::text[])
      order by 1, 2`,
    [opts.managedSchemas],
  );
  const forced: string[] = [];
  const noPolicy: string[] = [];
  for (const t of tables.rows) {
    const name = `${t.schema}.${t.name}`;
    if (!t.enabled) forced.push(`table ${name}: row-level security is not enabled (alter table ${name} enable row level security)`);
    else if (!t.forced) forced.push(`table ${name}: row-level security is not forced (alter table ${name} force row level security)`);
    if (t.policies === 0) noPolicy.push(`table ${name}: has no policy (every table in a managed schema needs at least one)`);
  }
  results.push({ name: "rls-forced", ok: forced.length === 0, failures: forced });
  results.push({ name: "rls-has-policy", ok: noPolicy.length === 0, failures: noPolicy });

  // A policy on a partition counts as declared when the partition root declares the same name
  // (partitions created later by a function copy their parent's policies).
  const policies = await client.query(
    `select n.nspname as schema, c.relname as name, p.polname as policy,
            rn.nspname as root_schema, rc.relname as root_name
       from pg_catalog.pg_policy p
       join pg_catalog.pg_class c on c.oid = p.polrelid
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       left join pg_catalog.pg_class rc on rc.oid = pg_catalog.pg_partition_root(c.oid)
       left join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
      where n.nspname <> all($1::text[])
      order by 1, 2, 3`,
    [SYSTEM_SCHEMAS],
  );
  const declared = new Set(opts.declaredPolicies);
  const orphans = policies.rows
    .filter((p) => !declared.has(`${p.schema}.${p.name}.${p.policy}`) && !(p.root_name && declared.has(`${p.root_schema}.${p.root_name}.${p.policy}`)))
    .map((p) => `policy ${p.policy} on ${p.schema}.${p.name}: not declared by any SQL file in the repository (drop it, or declare it in sql/policies/)`);
  results.push({ name: "no-orphan-policy", ok: orphans.length === 0, failures: orphans });

  const ext = await client.query("select extname from pg_catalog.pg_extension");
  const have = new Set(ext.rows.map((r) => r.extname as string));
  const missingExt = opts.requiredExtensions.filter((e) => !have.has(e)).map((e) => `extension ${e}: required but not installed`);
  results.push({ name: "extensions", ok: missingExt.length === 0, failures: missingExt });

  const definers = await client.query(
    `select n.nspname as schema, p.proname as name, pg_catalog.pg_get_function_identity_arguments(p.oid) as args
       from pg_catalog.pg_proc p
       join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where p.prosecdef and n.nspname <> all($1::text[])
        and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
        and not exists (select 1 from unnest(coalesce(p.proconfig, '{}'::text[])) cfg where cfg like 'search_path=%')
      order by 1, 2`,
    [SYSTEM_SCHEMAS],
  );
  const unpinned = definers.rows.map(
    (f) => `function ${f.schema}.${f.name}(${f.args}): SECURITY DEFINER without a pinned search_path (add: set search_path = '')`,
  );
  results.push({ name: "definer-search-path", ok: unpinned.length === 0, failures: unpinned });

  const views = await client.query(
    `select n.nspname as schema, c.relname as name
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'v' and n.nspname <> all($1::text[])
        and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
        and exists (select 1 from pg_catalog.pg_roles r where r.rolname = any($2::text[])
                     and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE'))
        and not coalesce(c.reloptions @> array['security_invoker=true'], false)
        and not coalesce(c.reloptions @> array['security_invoker=on'], false)
      order by 1, 2`,
    [SYSTEM_SCHEMAS, opts.requestRoles],
  );
  const definerViews = views.rows.map(
    (v) => `view ${v.schema}.${v.name}: request roles can reach its schema but it is not security_invoker (it would bypass RLS with its owner's rights)`,
  );
  results.push({ name: "views-invoker", ok: definerViews.length === 0, failures: definerViews });

  const pm = await policyMatrix(client, { managedSchemas: opts.managedSchemas, requestRoles: await policyMatrixRoles(client, opts.managedSchemas, opts.requestRoles) });
  const cell = (key: string) => {
    const [table, role, command] = key.split(" ");
    return { table, role, command };
  };
  const unbacked = pm.grantedWithoutPolicy.map(cell).map(
    (c) =>
      `table ${c.table}: ${c.role} holds ${c.command} but no policy lets it ${c.command.toLowerCase()} a row ` +
      `(revoke it in the table's policy file in sql/policies, or add the policy there)`,
  );
  results.push({ name: "grant-has-policy", ok: unbacked.length === 0, failures: unbacked });
  const dead = pm.policyWithoutGrant.map(cell).map((c) => {
    const names = pm.entries.find((e) => e.table === c.table && e.role === c.role && e.command === c.command)?.policies ?? [];
    return (
      `table ${c.table}: ${c.role} lacks ${c.command} although polic${names.length === 1 ? "y" : "ies"} ${names.join(", ")} ` +
      `would let it ${c.command.toLowerCase()} rows (grant it next to the policy in sql/policies, or drop the policy)`
    );
  });
  results.push({ name: "policy-has-grant", ok: dead.length === 0, failures: dead });
  return results;
}

/**
 * The roles whose privileges and policies the policy matrix compares: the given request roles plus
 * every other NOLOGIN role (not pg_*) that may use one of the managed schemas, except the roles owning
 * a managed schema (the owner holds every privilege and has its own policies).
 */
export async function policyMatrixRoles(client: Client, managedSchemas: string[], requestRoles: string[] = [], owner?: string): Promise<string[]> {
  const r = await client.query(
    `select r.rolname from pg_catalog.pg_roles r
      where (r.rolname = any ($2::text[])
             or (not r.rolcanlogin and r.rolname !~ '^pg_'
                 and exists (select from pg_catalog.pg_namespace n where n.nspname = any ($1::text[]) and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE'))))
        and not exists (select from pg_catalog.pg_namespace n where n.nspname = any ($1::text[]) and n.nspowner = r.oid)
        and r.rolname is distinct from $3
      order by 1`,
    [managedSchemas, requestRoles, owner ?? null],
  );
  return r.rows.map((x) => x.rolname as string);
}

// ---------------------------------------------------------------------------------------------
// Policy matrix (read from the catalog; the checks grant-has-policy and policy-has-grant fail on its
// grantedWithoutPolicy and policyWithoutGrant)
// ---------------------------------------------------------------------------------------------

export const POLICY_COMMANDS = ["SELECT", "INSERT", "UPDATE", "DELETE"] as const;
export type PolicyCommand = (typeof POLICY_COMMANDS)[number];

export interface PolicyMatrixOptions {
  /** Schemas whose tables are listed (the RLS-managed schemas). */
  managedSchemas: string[];
  /** Roles to list (the request roles, plus e.g. auditor and analytics_reader). */
  requestRoles: string[];
}

export interface PolicyMatrixEntry {
  table: string;
  role: string;
  command: PolicyCommand;
  /** The role holds the table privilege for this command. */
  granted: boolean;
  /** Permissive policies that apply to the role and command and can let a row through (not `false`). */
  policies: string[];
  /** Restrictive policies that apply (they can only take rows away). */
  restrictive: string[];
  /** granted and at least one permissive policy: some rows can be reached. */
  allowed: boolean;
}

export interface PolicyMatrix {
  entries: PolicyMatrixEntry[];
  /** "table role COMMAND": a privilege no policy backs (row-level security denies every row). */
  grantedWithoutPolicy: string[];
  /** "table role COMMAND": a policy for a role that lacks the privilege (dead policy). */
  policyWithoutGrant: string[];
  /** Partitions whose policies differ from their parent's (a partition queried directly applies its own). */
  partitionDrift: string[];
}

/**
 * Per table (partitions excluded) x role x command: does the role hold the privilege, which
 * policies apply. A policy applies to a role when it names the role, PUBLIC, or a role the given
 * role is a member of. A permissive policy whose USING (for SELECT/DELETE) or WITH CHECK (for
 * INSERT) is the constant `false` (baseline_deny_all) lets nothing through and is not listed.
 */
export async function policyMatrix(client: Client, opts: PolicyMatrixOptions): Promise<PolicyMatrix> {
  const tables = await client.query(
    `select c.oid, format('%s.%s', n.nspname, c.relname) as name
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1::text[])
      order by 2`,
    [opts.managedSchemas],
  );
  const roles = await client.query(`select oid, rolname from pg_catalog.pg_roles where rolname = any($1::text[]) order by rolname`, [opts.requestRoles]);
  const policies = await client.query(
    `select p.polrelid as rel, p.polname as name, p.polpermissive as permissive, p.polcmd as cmd, p.polroles as roles,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) as qual, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as with_check
       from pg_catalog.pg_policy p
       join pg_catalog.pg_class c on c.oid = p.polrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[]) and not c.relispartition
      order by p.polname`,
    [opts.managedSchemas],
  );
  // role oid -> oids of the roles it is a member of (directly or not), itself included
  const member = await client.query(
    `select r.oid as role, m.oid as of from pg_catalog.pg_roles r cross join pg_catalog.pg_roles m
      where r.rolname = any($1::text[]) and pg_catalog.pg_has_role(r.oid, m.oid, 'MEMBER')`,
    [opts.requestRoles],
  );
  const memberships = new Map<number, Set<number>>();
  for (const m of member.rows) {
    if (!memberships.has(Number(m.role))) memberships.set(Number(m.role), new Set());
    memberships.get(Number(m.role))!.add(Number(m.of));
  }
  const privileges = await client.query(
    `select c.oid as rel, r.oid as role, k.cmd, pg_catalog.has_table_privilege(r.oid, c.oid, k.cmd) as ok
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      cross join pg_catalog.pg_roles r
      cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as k(cmd)
      where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1::text[]) and r.rolname = any($2::text[])`,
    [opts.managedSchemas, opts.requestRoles],
  );
  const hasPrivilege = new Set(privileges.rows.filter((x) => x.ok).map((x) => `${x.rel}/${x.role}/${x.cmd}`));
  const CMD: Record<PolicyCommand, string> = { SELECT: "r", INSERT: "a", UPDATE: "w", DELETE: "d" };
  const entries: PolicyMatrixEntry[] = [];
  const grantedWithoutPolicy: string[] = [];
  const policyWithoutGrant: string[] = [];
  for (const t of tables.rows) {
    for (const r of roles.rows) {
      const of = memberships.get(Number(r.oid)) ?? new Set<number>();
      for (const command of POLICY_COMMANDS) {
        const granted = hasPrivilege.has(`${t.oid}/${r.oid}/${command}`);
        const applicable = policies.rows.filter(
          (p) =>
            Number(p.rel) === Number(t.oid) &&
            (p.cmd === "*" || p.cmd === CMD[command]) &&
            (p.roles as number[]).some((o) => Number(o) === 0 || of.has(Number(o))),
        );
        const lets = (p: { qual: string | null; with_check: string | null }) =>
          command === "INSERT" ? p.with_check !== "false" : p.qual !== "false";
        const permissive = applicable.filter((p) => p.permissive && lets(p)).map((p) => p.name as string);
        const restrictive = applicable.filter((p) => !p.permissive).map((p) => p.name as string);
        const allowed = granted && permissive.length > 0;
        entries.push({ table: t.name, role: r.rolname, command, granted, policies: permissive, restrictive, allowed });
        const key = `${t.name} ${r.rolname} ${command}`;
        if (granted && permissive.length === 0) grantedWithoutPolicy.push(key);
        if (!granted && applicable.some((p) => p.permissive && lets(p) && (p.roles as number[]).some((o) => Number(o) !== 0))) policyWithoutGrant.push(key);
      }
    }
  }
  const drift = await client.query(
    `select format('%s.%s', n.nspname, c.relname) as part
       from pg_catalog.pg_inherits i
       join pg_catalog.pg_class c on c.oid = i.inhrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[])
        and array(select p.polname || p.polpermissive::text || p.polcmd::text || p.polroles::text || coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')
                    from pg_catalog.pg_policy p where p.polrelid = i.inhrelid order by 1)
         <> array(select p.polname || p.polpermissive::text || p.polcmd::text || p.polroles::text || coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')
                    from pg_catalog.pg_policy p where p.polrelid = i.inhparent order by 1)
      order by 1`,
    [opts.managedSchemas],
  );
  return { entries, grantedWithoutPolicy, policyWithoutGrant, partitionDrift: drift.rows.map((r) => `${r.part}: its policies differ from its parent's`) };
}
