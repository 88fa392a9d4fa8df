/**
 * The table grants the Pulumi program declares (one postgresql.Grant per `policyTableGrants` entry,
 * components/table-grants.ts) against real PostgreSQL after a full apply (access model, migrations,
 * functions, views, policies): the catalog holds exactly those privileges for the roles the policy
 * files decide, on the tables of the RLS-managed schemas, so the resources and the database cannot
 * drift apart. And the statements the provider runs for a Grant change nothing a policy file set.
 */
import type { Client } from "pg";
import { loadAccessModel, policyGranteeRoles, rlsSchemas } from "../../migrator/access-model";
import { loadProject, Repeatable } from "../../migrator/files";
import { policyTableGrants, TableGrant } from "../../migrator/policy-grants";
import { createSchemaDatabase, SchemaDatabase } from "./schema-support";

let db: SchemaDatabase;
let policies: Repeatable[];
const model = loadAccessModel();
const roles = policyGranteeRoles(model);

beforeAll(async () => {
  db = await createSchemaDatabase("table_grants");
  policies = loadProject(db.sqlRoot, { environment: "local" }).repeatables.filter((r) => r.kind === "policies");
}, 180000);
afterAll(async () => db?.drop());

/** Table privileges of PUBLIC and the policy files' roles on relations (not partitions) of the RLS-managed schemas. */
async function catalogGrants(client: Client): Promise<TableGrant[]> {
  const r = await client.query(
    `select n.nspname as schema, c.relname as table, coalesce(g.rolname, 'public') as role,
            array_agg(a.privilege_type || case when a.is_grantable then ' WITH GRANT OPTION' else '' end order by a.privilege_type collate "C") as privileges
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       cross join lateral pg_catalog.aclexplode(c.relacl) a
       left join pg_catalog.pg_roles g on g.oid = a.grantee
      where n.nspname = any ($1) and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
        and (a.grantee = 0 or g.rolname = any ($2))
      group by 1, 2, 3`,
    [rlsSchemas(model), roles],
  );
  return r.rows.map((x) => ({ schema: x.schema, table: x.table, role: x.role, privileges: x.privileges }));
}

/** Every relation's privileges (grantee, privilege, grantor, grant option) in the RLS-managed schemas, partitions included. */
async function acls(client: Client): Promise<Array<{ rel: string; acl: string[] }>> {
  const r = await client.query(
    `select c.oid::regclass::text as rel,
            array(select format('%s:%s:%s:%s', a.grantee::regrole, a.privilege_type, a.grantor::regrole, a.is_grantable)
                    from pg_catalog.aclexplode(c.relacl) a order by 1) as acl
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any ($1) order by 1`,
    [rlsSchemas(model)],
  );
  return r.rows;
}

const key = (g: TableGrant) => `${g.schema}.${g.table} ${g.role}`;
const sorted = (list: TableGrant[]) => [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/** What the provider's create (revoke = the new list) or update (revoke = the previous list) runs for one Grant on `objects: [table]`. */
const providerStatements = (g: TableGrant, revoke: readonly string[] = g.privileges) =>
  `revoke ${revoke.join(", ")} on table ${g.schema}.${g.table} from ${g.role}; grant ${g.privileges.join(", ")} on table ${g.schema}.${g.table} to ${g.role};`;

/** Runs `fn` in a transaction that is rolled back, as the owner (the role migrations and policy files run as). */
async function rolledBack(fn: (c: Client) => Promise<void>): Promise<void> {
  await db.client.query("begin");
  try {
    await db.client.query("set local role phi_owner");
    await fn(db.client);
  } finally {
    await db.client.query("rollback");
  }
}

it("after a full apply the catalog holds exactly the table privileges the program declares as Grants", async () => {
  const declared = await policyTableGrants(policies, roles);
  expect(declared.length).toBeGreaterThan(50);
  expect(sorted(await catalogGrants(db.client))).toEqual(sorted(declared));
});

it("the drift comparison sees a hand-made grant, a missing one and a grant option", async () => {
  const declared = await policyTableGrants(policies, roles);
  await rolledBack(async (c) => {
    await c.query("grant delete on app.patients to authenticated; revoke select on audit.log from auditor; grant select on app.conditions to anon; grant select on app.trials to authenticated with grant option");
    const now = await catalogGrants(c);
    const find = (list: TableGrant[], t: string, role: string) => list.find((g) => `${g.schema}.${g.table}` === t && g.role === role)?.privileges;
    expect(sorted(now)).not.toEqual(sorted(declared));
    expect(find(now, "app.patients", "authenticated")).toEqual(["DELETE", "INSERT", "SELECT", "UPDATE"]);
    expect(find(now, "audit.log", "auditor")).toBeUndefined();
    expect(find(now, "app.conditions", "anon")).toEqual(["SELECT"]);
    expect(find(now, "app.trials", "authenticated")).toEqual(["SELECT WITH GRANT OPTION"]);
  });
});

it("creating every Grant (revoke its privileges, grant them) after the policy files changes no ACL, partitions included", async () => {
  const declared = await policyTableGrants(policies, roles);
  const before = await acls(db.client);
  await rolledBack(async (c) => {
    for (const g of declared) await c.query(providerStatements(g));
    expect(await acls(c)).toEqual(before);
  });
});

it("a privilege removed from a policy file: the file revokes it, the Grant's update converges to the same state", async () => {
  const line = "grant select, insert, update, delete on app.mood_entries to authenticated;";
  const file = policies.find((p) => p.sql.includes(line))!;
  const changed = { ...file, sql: file.sql.replace(line, "grant select, insert on app.mood_entries to authenticated;") };
  const edited = policies.map((p) => (p === file ? changed : p));
  const [before, after] = [await policyTableGrants(policies, roles), await policyTableGrants(edited, roles)];
  const mood = (list: TableGrant[]) => list.find((g) => key(g) === "app.mood_entries authenticated")!;
  expect(mood(after).privileges).toEqual(["INSERT", "SELECT"]);
  await rolledBack(async (c) => {
    // the schema resource re-runs the changed file, then the Grant resource updates (revoking its previous list)
    await c.query(changed.sql);
    await c.query(providerStatements(mood(after), mood(before).privileges));
    expect(sorted(await catalogGrants(c))).toEqual(sorted(after));
  });
});
