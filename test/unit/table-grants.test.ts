/**
 * Table privileges as resources (components/table-grants.ts) in the composed program, dev and prod
 * stacks under mocks: exactly one postgresql.Grant per (table, role) the policy files grant, with the
 * file's privileges, through the access model's provider, each after the schema resource (which runs
 * the policy files), and none of them in the access model's component.
 */
import * as path from "path";
import { loadAccessModel, policyGranteeRoles, rlsSchemas } from "../../migrator/access-model";
import { loadProject } from "../../migrator/files";
import { policyTableGrants, TableGrant } from "../../migrator/policy-grants";
import { ProgramRun, REPO_ROOT, runProgram, urnKey } from "../support/mocks";

const GRANT = "postgresql:index/grant:Grant";
const SCHEMA = "pulumi-nodejs:dynamic/phi-db:DatabaseSchema";
const COMPONENT = "phi-db:access:TableGrants";

describe.each(["dev", "prod"] as const)("%s stack", (stack) => {
  let run: ProgramRun;
  let expected: TableGrant[];
  const tableGrants = () => run.ofType(GRANT).filter((g) => urnKey(g.options.parent) === `${COMPONENT}::table-grants`);

  beforeAll(async () => {
    run = await runProgram(stack);
    const project = loadProject(path.join(REPO_ROOT, "sql"), { environment: stack });
    expected = await policyTableGrants(project.repeatables.filter((r) => r.kind === "policies"), policyGranteeRoles(loadAccessModel()));
  });

  it("creates exactly one Grant per (table, role) the policy files grant, with the file's privileges", () => {
    expect(expected.length).toBeGreaterThan(50);
    const made = tableGrants()
      .map((g) => ({ name: g.name, ...g.inputs }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const want = expected
      .map((g) => ({
        name: `table-grants-${g.schema}.${g.table}-${g.role}`,
        database: "phi",
        role: g.role,
        objectType: "table",
        schema: g.schema,
        objects: [g.table],
        privileges: g.privileges,
        withGrantOption: false,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(made).toEqual(want);
  });

  it("states what the files say, for tables an auditor asks about", () => {
    const privileges = (schema: string, table: string, role: string) =>
      tableGrants().find((g) => g.inputs.schema === schema && g.inputs.objects[0] === table && g.inputs.role === role)?.inputs.privileges;
    expect(privileges("app", "mood_entries", "authenticated")).toEqual(["DELETE", "INSERT", "SELECT", "UPDATE"]);
    expect(privileges("audit", "security_events", "service_role")).toEqual(["INSERT"]);
    expect(privileges("analytics", "mood_weekly", "analytics_reader")).toEqual(["SELECT"]);
    // revoked from everyone and granted to no one: no resource
    expect(tableGrants().filter((g) => g.inputs.objects[0] === "encryption_keys" || g.inputs.objects[0] === "hash_salts")).toEqual([]);
    // zero-knowledge: service_role holds nothing in app; anon holds no table at all
    expect(tableGrants().filter((g) => (g.inputs.role === "service_role" && g.inputs.schema === "app") || g.inputs.role === "anon")).toEqual([]);
    // only tables of the RLS-managed schemas, only the roles the policy files decide
    expect([...new Set(tableGrants().map((g) => g.inputs.schema))].every((s) => rlsSchemas(loadAccessModel()).includes(s))).toBe(true);
    expect([...new Set(tableGrants().map((g) => g.inputs.role))].sort()).toEqual(["analytics_reader", "auditor", "authenticated", "service_role"]);
  });

  it("each Grant depends on the schema resource, uses the access model's provider and leaves the database alone when deleted", () => {
    const schema = run.ofType(SCHEMA);
    expect(schema).toHaveLength(1);
    const provider = run.get("pulumi:providers:postgresql", "access-provider");
    for (const g of tableGrants()) {
      expect({ g: g.name, dependsOnSchema: g.options.dependencies.map(urnKey).includes(`${SCHEMA}::${schema[0].name}`) }).toEqual({ g: g.name, dependsOnSchema: true });
      expect({ g: g.name, provider: g.providerName }).toEqual({ g: g.name, provider: provider.name });
      expect({ g: g.name, retainOnDelete: g.options.retainOnDelete }).toEqual({ g: g.name, retainOnDelete: true });
    }
    // ... and the schema resource does not wait for them (they restate what it applied)
    const deps = new Set(schema[0].options.dependencies.map(urnKey));
    expect(tableGrants().filter((g) => deps.has(`${GRANT}::${g.name}`))).toEqual([]);
  });

  it("the access model itself grants no table of an RLS-managed schema", () => {
    const rls = rlsSchemas(loadAccessModel());
    const accessTableGrants = run
      .ofType(GRANT)
      .filter((g) => urnKey(g.options.parent) === "phi-db:access:AccessModel::access" && g.inputs.objectType === "table" && g.inputs.role !== "public");
    expect(accessTableGrants.filter((g) => rls.includes(g.inputs.schema))).toEqual([]);
  });
});

it("the local stack declares no table grant (its database layer runs through phi-db up --local)", async () => {
  const run = await runProgram("local");
  expect(run.ofType(COMPONENT)).toEqual([]);
  expect(run.ofType(GRANT)).toEqual([]);
});
