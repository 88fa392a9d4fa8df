/**
 * The database layer in the composed program (dev and prod stacks under mocks): the access model's
 * resources and the schema resource, wired to the RDS instance, with the stack's rules and secrets.
 */
import * as fs from "fs";
import * as path from "path";
import { loadProject, migrationMap } from "../../migrator/files";
import { ProgramRun, REPO_ROOT, runProgram, urnKey } from "../support/mocks";

const SCHEMA = "pulumi-nodejs:dynamic/phi-db:DatabaseSchema";
/** The access model's resources (components/access.ts): what migrations need to exist first. */
const ACCESS_TYPES = [
  "postgresql:index/role:Role",
  "postgresql:index/schema:Schema",
  "postgresql:index/extension:Extension",
  "postgresql:index/grant:Grant",
  "postgresql:index/defaultPrivileges:DefaultPrivileges",
];

describe.each(["dev", "prod"] as const)("%s stack", (stack) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stack);
  });

  it("declares one schema resource whose inputs list every migration by name and checksum", () => {
    const schemas = run.ofType(SCHEMA);
    expect(schemas).toHaveLength(1);
    const s = schemas[0];
    const project = loadProject(path.join(REPO_ROOT, "sql"), { environment: stack, includeSeeds: stack === "dev" });
    expect(s.inputs.migrations).toEqual(migrationMap(project));
    const onDisk = fs.readdirSync(path.join(REPO_ROOT, "sql", "migrations")).filter((f) => !f.endsWith(".down.sql"));
    expect(Object.keys(s.inputs.migrations as object).map((k) => `${k}.sql`).sort()).toEqual(onDisk.sort());
    expect(s.inputs.environment).toBe(stack);
    expect(s.inputs.loadSeed).toBe(stack === "dev");
  });

  it("connects as the NOINHERIT migrator login with a secret password, verifying the server certificate", () => {
    const s = run.ofType(SCHEMA)[0];
    expect(s.secretInputs).toContain("connection");
    const c = s.inputs.connection as Record<string, unknown>;
    expect(c).toMatchObject({ user: "phi_migrator", sslmode: "verify-full", sslrootcert: "certs/rds-global-bundle.pem" });
    expect(typeof c.password).toBe("string");
    expect((c.password as string).length).toBeGreaterThan(0);
    expect(s.inputs.ownerRole).toBe("phi_owner");
    // no other input, and no output, carries the migrator's password
    const others = JSON.stringify({ ...s.inputs, connection: undefined });
    expect(others).not.toContain(c.password as string);
    expect(JSON.stringify(run.outputs)).not.toContain(c.password as string);
  });

  it("depends on every access-model resource (roles, schemas, extensions, grants, default privileges): migrations run after them", () => {
    const s = run.ofType(SCHEMA)[0];
    const deps = new Set(s.options.dependencies.map(urnKey));
    // The access model's resources; the table grants (phi-db:access:TableGrants) come after the schema resource instead.
    const access = run.resources.filter((r) => ACCESS_TYPES.includes(r.type) && urnKey(r.options.parent) === "phi-db:access:AccessModel::access");
    expect(access.length).toBeGreaterThan(50);
    for (const t of ACCESS_TYPES) expect({ type: t, declared: access.some((r) => r.type === t) }).toEqual({ type: t, declared: true });
    expect(access.filter((r) => !deps.has(`${r.type}::${r.name}`)).map((r) => r.name)).toEqual([]);
    // the ones the first migrations cannot do without, by name
    for (const key of ["postgresql:index/role:Role::access-role-phi_owner", "postgresql:index/schema:Schema::access-schema-app", "postgresql:index/extension:Extension::access-extension-pgcrypto"]) {
      expect(deps).toContain(key);
    }
    // ... and nothing of the access model depends on the schema resource (the data flow is one-way)
    const schemaKey = `${SCHEMA}::${s.name}`;
    expect(access.filter((r) => r.options.dependencies.map(urnKey).includes(schemaKey)).map((r) => r.name)).toEqual([]);
  });

  it("carries the stack's rules and what the checks require from the access model", () => {
    const s = run.ofType(SCHEMA)[0];
    expect(s.inputs.rules).toEqual(
      stack === "prod"
        ? { allowOutOfOrder: false, allowRollback: false, lockTimeout: "3s", statementTimeout: "30min", lockWaitSeconds: 300 }
        : { allowOutOfOrder: true, allowRollback: true, lockTimeout: "5s", statementTimeout: "15min", lockWaitSeconds: 120 },
    );
    const checks = s.inputs.checks as { managedSchemas: string[]; requiredExtensions: string[]; requestRoles: string[] };
    expect(checks.managedSchemas).toEqual(expect.arrayContaining(["app", "tenant", "audit"]));
    expect(checks.requiredExtensions).toEqual(expect.arrayContaining(["pgaudit", "pg_cron", "pg_partman", "pgcrypto"]));
    expect(checks.requestRoles.sort()).toEqual(["anon", "authenticated", "service_role"]);
  });
});

it("the local stack declares no schema resource (its database layer runs through phi-db up --local)", async () => {
  const run = await runProgram("local");
  expect(run.ofType(SCHEMA)).toEqual([]);
});
