/**
 * Helpers for the access-model database tests: read what the catalog says about the model's roles
 * and the current database, and derive what the MODEL says the catalog should hold, independently
 * of migrator/access-sql.ts (so a rendering bug cannot hide behind its own expectations).
 */
import type { Client } from "pg";
import type { AccessModel } from "../../migrator/access-model";

export interface Catalog {
  roles: Record<string, { login: boolean; inherit: boolean; bypassrls: boolean; superuser: boolean; createrole: boolean; createdb: boolean; replication: boolean; connlimit: number; comment: string | null }>;
  /** "member -> granted" for every membership whose member is a model role, with options (PG16+: inherit/set; admin). */
  memberships: string[];
  /** schema -> owner, comment, privileges ("grantee:PRIV", PUBLIC as "public"). */
  schemas: Record<string, { owner: string; comment: string | null; privileges: string[] }>;
  /** Privileges on schema public of PUBLIC and the model's roles. */
  publicSchema: string[];
  /** extension -> schema. */
  extensions: Record<string, string>;
  /** Database privileges of PUBLIC and the model's roles ("grantee:PRIV"). */
  database: string[];
  /** Default privileges of objects created by the owner: "schema|objtype|grantee:PRIV" (schema "*" = everywhere). */
  defaultPrivileges: string[];
}

/** Reads the catalog for `roleNames` (cluster) and the current database. */
export async function readCatalog(client: Client, roleNames: string[], owner: string): Promise<Catalog> {
  const pg16 = Number((await client.query("show server_version_num")).rows[0].server_version_num) >= 160000;
  const roles: Catalog["roles"] = {};
  const r = await client.query(
    `select rolname, rolcanlogin, rolinherit, rolbypassrls, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolconnlimit,
            pg_catalog.shobj_description(oid, 'pg_authid') as comment
       from pg_catalog.pg_roles where rolname = any($1) order by rolname`,
    [roleNames],
  );
  for (const x of r.rows) {
    roles[x.rolname] = {
      login: x.rolcanlogin,
      inherit: x.rolinherit,
      bypassrls: x.rolbypassrls,
      superuser: x.rolsuper,
      createrole: x.rolcreaterole,
      createdb: x.rolcreatedb,
      replication: x.rolreplication,
      connlimit: x.rolconnlimit,
      comment: x.comment,
    };
  }
  const m = await client.query(
    `select pg_catalog.pg_get_userbyid(member) as member, pg_catalog.pg_get_userbyid(roleid) as granted, admin_option
            ${pg16 ? ", inherit_option, set_option" : ""}
       from pg_catalog.pg_auth_members
      where pg_catalog.pg_get_userbyid(member) = any($1)`,
    [roleNames],
  );
  const memberships = m.rows
    .map((x) => `${x.member} -> ${x.granted}` + (x.admin_option ? " admin" : "") + (pg16 ? ` inherit=${x.inherit_option} set=${x.set_option}` : ""))
    .sort();

  const acl = (grantee: string, priv: string) => `${grantee}:${priv}`;
  const s = await client.query(
    `select n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) as owner, pg_catalog.obj_description(n.oid, 'pg_namespace') as comment,
            coalesce((select array_agg(case when a.grantee = 0 then 'public' else pg_catalog.pg_get_userbyid(a.grantee) end || ':' || a.privilege_type order by 1)
                        from pg_catalog.aclexplode(n.nspacl) a where a.grantee <> n.nspowner), '{}') as privileges
       from pg_catalog.pg_namespace n
      where n.nspname not like 'pg\\_%' and n.nspname not in ('information_schema')`,
  );
  const schemas: Catalog["schemas"] = {};
  let publicSchema: string[] = [];
  for (const x of s.rows) {
    if (x.nspname === "public") {
      publicSchema = (x.privileges as string[]).filter((p) => p.startsWith("public:") || roleNames.includes(p.split(":")[0]));
    } else {
      schemas[x.nspname] = { owner: x.owner, comment: x.comment, privileges: [...x.privileges].sort() };
    }
  }
  const e = await client.query(`select x.extname, n.nspname from pg_catalog.pg_extension x join pg_catalog.pg_namespace n on n.oid = x.extnamespace where x.extname <> 'plpgsql'`);
  const extensions: Record<string, string> = {};
  for (const x of e.rows) extensions[x.extname] = x.nspname;

  const d = await client.query(
    `select case when a.grantee = 0 then 'public' else pg_catalog.pg_get_userbyid(a.grantee) end as grantee, a.privilege_type
       from pg_catalog.pg_database db, pg_catalog.aclexplode(coalesce(db.datacl, pg_catalog.acldefault('d', db.datdba))) a
      where db.datname = pg_catalog.current_database()`,
  );
  const database = d.rows.filter((x) => x.grantee === "public" || roleNames.includes(x.grantee)).map((x) => acl(x.grantee, x.privilege_type)).sort();

  const da = await client.query(
    `select coalesce(n.nspname, '*') as schema, da.defaclobjtype as objtype,
            case when a.grantee = 0 then 'public' else pg_catalog.pg_get_userbyid(a.grantee) end as grantee, a.privilege_type
       from pg_catalog.pg_default_acl da
       left join pg_catalog.pg_namespace n on n.oid = da.defaclnamespace
       cross join lateral pg_catalog.aclexplode(da.defaclacl) a
      where da.defaclrole = $1::regrole`,
    [owner],
  );
  const defaultPrivileges = da.rows.map((x) => `${x.schema}|${x.objtype}|${x.grantee}:${x.privilege_type}`).sort();
  return { roles, memberships, schemas, publicSchema, extensions, database, defaultPrivileges };
}

const OBJTYPE = { tables: "r", sequences: "S", functions: "f" } as const;

/** What the catalog must hold according to the model (local rendering: no rds_iam). */
export function expectedCatalog(model: AccessModel, opts: { pg16: boolean; installedExtensions: string[] }): Catalog {
  const roles: Catalog["roles"] = {};
  for (const r of model.roles) {
    roles[r.name] = {
      login: r.login,
      inherit: r.inherit,
      bypassrls: r.bypassRls,
      superuser: false,
      createrole: false,
      createdb: false,
      replication: false,
      connlimit: r.connectionLimit,
      comment: r.comment || null,
    };
  }
  const memberships = model.roles
    .flatMap((r) => r.memberOf.map((g) => `${r.name} -> ${g}` + (opts.pg16 ? ` inherit=${r.inherit} set=true` : "")))
    .sort();
  const schemas: Catalog["schemas"] = {};
  for (const s of model.schemas) {
    schemas[s.name] = {
      owner: model.owner,
      comment: s.comment || null,
      privileges: model.grants.filter((g) => g.schema === s.name).flatMap((g) => g.schemaPrivileges.map((p) => `${g.role}:${p}`)).sort(),
    };
  }
  const extensions: Record<string, string> = {};
  for (const e of model.extensions) {
    if (!opts.installedExtensions.includes(e.name)) continue;
    extensions[e.name] = e.schema ?? "pg_catalog";
  }
  const database = model.database.flatMap((d) => d.privileges.map((p) => `${d.role}:${p}`)).sort();
  const defaultPrivileges = [
    ...model.grants.flatMap((g) =>
      (["tables", "sequences", "functions"] as const).flatMap((k) => g[k].map((p) => `${g.schema}|${OBJTYPE[k]}|${g.role}:${p}`)),
    ),
    // Functions created anywhere: only the owner's own EXECUTE (PUBLIC's is revoked).
    `*|f|${model.owner}:EXECUTE`,
  ].sort();
  return { roles, memberships, schemas, publicSchema: [], extensions, database, defaultPrivileges };
}

/** A copy of the model whose role names carry a suffix (fresh cluster-wide roles for one test file). */
export function withRoleSuffix(model: AccessModel, suffix: string): AccessModel {
  const rn = (n: string) => `${n}_${suffix}`;
  return {
    ...model,
    owner: rn(model.owner),
    roles: model.roles.map((r) => ({ ...r, name: rn(r.name), memberOf: r.memberOf.map(rn) })),
    database: model.database.map((d) => ({ ...d, role: rn(d.role) })),
    grants: model.grants.map((g) => ({ ...g, role: rn(g.role) })),
  };
}

/** Drops roles made for one test file (after the databases that reference them are gone). */
export async function dropRoles(client: Client, roles: string[]): Promise<void> {
  for (const r of roles) await client.query(`drop role if exists "${r}"`);
}
