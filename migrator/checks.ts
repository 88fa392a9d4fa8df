/**
 * Post-apply verification. Every check reads the catalog and names each failing object:
 *
 *   rls-forced          every table in the managed schemas has RLS enabled AND forced
 *   rls-has-policy      ... and at least one policy
 *   no-orphan-policy    no policy exists in the database that no repository SQL file declares
 *   extensions          the required extensions are installed
 *   definer-search-path every SECURITY DEFINER function pins search_path
 *   views-invoker       views in schemas the request roles can use are security_invoker
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
  return results;
}
