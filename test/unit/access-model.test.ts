/**
 * The access model file and its validation (migrator/access-model.ts): the shipped model says what
 * the product needs, and every kind of bad input fails with AccessModelError naming the entry and
 * what was expected.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  AccessModelError,
  checkOptionalExtensions,
  iamRoles,
  loadAccessModel,
  parseAccessModel,
  passwordRoles,
  policyGranteeRoles,
  requestRoles,
  requiredExtensions,
  rlsSchemas,
  rolesInCreationOrder,
  sharedPreloadLibraries,
} from "../../migrator/access-model";

const FILE = path.resolve(__dirname, "../../sql/access.json");
const raw = () => JSON.parse(fs.readFileSync(FILE, "utf8"));

describe("the shipped access model (sql/access.json)", () => {
  const model = loadAccessModel();

  it("is valid and is the file the loader finds by default", () => {
    expect(loadAccessModel(FILE)).toEqual(model);
    expect(model.owner).toBe("phi_owner");
  });

  it("declares the contract roles with the agreed attributes", () => {
    const role = (n: string) => model.roles.find((r) => r.name === n)!;
    expect(model.roles.map((r) => r.name).sort()).toEqual(
      ["analytics_reader", "anon", "auditor", "authenticated", "authenticator", "phi_app", "phi_migrator", "phi_owner", "service_role"].sort(),
    );
    expect(role("phi_owner")).toMatchObject({ login: false, bypassRls: false, memberOf: [] });
    expect(role("phi_migrator")).toMatchObject({ login: true, memberOf: ["phi_owner"], auth: "password" });
    expect(role("authenticator")).toMatchObject({ login: true, inherit: false, memberOf: ["anon", "authenticated", "service_role"], auth: "password" });
    expect(role("phi_app")).toMatchObject({ login: true, inherit: false, auth: "rds_iam" });
    for (const n of ["anon", "authenticated", "service_role", "auditor", "analytics_reader"]) expect(role(n)).toMatchObject({ login: false, memberOf: [] });
    expect(model.roles.filter((r) => r.bypassRls)).toEqual([]);
  });

  it("keeps service_role away from user health data (schema app) and anon away from every table", () => {
    expect(model.grants.filter((g) => g.role === "service_role" && g.schema === "app")).toEqual([]);
    expect(model.grants.filter((g) => g.role === "anon").flatMap((g) => [...g.tables, ...g.sequences])).toEqual([]);
    expect(model.grants.filter((g) => g.role === "analytics_reader").map((g) => g.schema)).toEqual(["analytics"]);
    expect(model.grants.filter((g) => g.role === "auditor").map((g) => g.schema).sort()).toEqual(["audit", "phi_ledger"]);
    expect(model.grants.filter((g) => g.role === "auditor" || g.role === "analytics_reader").flatMap((g) => [...g.tables, ...g.sequences]).every((p) => p === "SELECT")).toBe(true);
  });

  it("grants no table in an RLS-managed schema (grants and policies together: the policy files grant them)", () => {
    const rls = rlsSchemas(model);
    expect(model.grants.filter((g) => rls.includes(g.schema) && g.tables.length > 0)).toEqual([]);
    // Bulk table grants remain only where there is no row-level security: the ledger, for the auditor.
    expect(model.grants.filter((g) => g.tables.length > 0).map((g) => `${g.role}@${g.schema}: ${g.tables.join(",")}`)).toEqual(["auditor@phi_ledger: SELECT"]);
    // Everything else a request role needs in those schemas stays in the model: USAGE and functions.
    const authenticated = (schema: string) => model.grants.find((g) => g.role === "authenticated" && g.schema === schema);
    expect(authenticated("app")).toMatchObject({ schemaPrivileges: ["USAGE"], functions: ["EXECUTE"] });
    expect(authenticated("tenant")).toMatchObject({ schemaPrivileges: ["USAGE"], functions: ["EXECUTE"] });
    expect(policyGranteeRoles(model)).toEqual(["anon", "authenticated", "service_role", "auditor", "analytics_reader"]);
  });

  it("declares analytics_private (owner-only materialized views) without RLS and without any grant", () => {
    const s = model.schemas.find((x) => x.name === "analytics_private");
    expect(s).toMatchObject({ rls: false });
    // The migration that fills it comments the schema the same way (no flip-flop between the two).
    const migration = fs.readFileSync(path.resolve(__dirname, "../../sql/migrations/20261122034_materialized_views.sql"), "utf8");
    expect(migration).toContain("create schema if not exists analytics_private;");
    expect(migration.replace(/\s+/g, " ")).toContain(`comment on schema analytics_private is '${s!.comment.replace(/'/g, "''")}';`);
    expect(model.grants.filter((g) => g.schema === "analytics_private")).toEqual([]);
    expect(rlsSchemas(model)).not.toContain("analytics_private");
  });

  it("answers the questions other modules ask", () => {
    expect(rlsSchemas(model)).toEqual(["auth", "tenant", "app", "storage_meta", "cache", "logs", "audit", "analytics"]);
    expect(rlsSchemas(model)).not.toContain("phi_ledger");
    expect(requestRoles(model)).toEqual(["anon", "authenticated", "service_role"]);
    expect(passwordRoles(model)).toEqual(["phi_migrator", "authenticator"]);
    expect(iamRoles(model)).toEqual(["phi_app"]);
    expect(requiredExtensions(model, ["pgaudit", "pg_cron", "pg_partman"])).toEqual(["pgcrypto", "uuid-ossp", "pg_trgm", "btree_gist", "pg_stat_statements"]);
    expect(sharedPreloadLibraries(model)).toEqual(["pg_stat_statements", "pgaudit", "pg_cron"]);
    const order = rolesInCreationOrder(model).map((r) => r.name);
    for (const r of model.roles) for (const m of r.memberOf) expect(order.indexOf(m)).toBeLessThan(order.indexOf(r.name));
  });
});

describe("the README's access-model chapter", () => {
  const readme = fs.readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
  const doc = readme.slice(readme.indexOf("## Access model"), readme.indexOf("\n## ", readme.indexOf("## Access model") + 3));
  const model = loadAccessModel();
  it("has a row for every role and every schema of the model, with the schema's RLS flag", () => {
    for (const r of model.roles) expect(doc).toContain(`| \`${r.name}\` | ${r.login ? "yes" : "no"}`);
    for (const s of model.schemas) expect(doc).toContain(`| \`${s.name}\` | ${s.rls ? "yes" : "no"} |`);
    for (const e of model.extensions) expect(doc).toContain(e.name);
  });
});

describe("bad model input fails with AccessModelError naming the entry", () => {
  // Each case edits a fresh copy of the shipped JSON; the error must name the path and say what was expected.
  type Edit = (m: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
  const cases: Array<[string, Edit, string]> = [
    ["unknown role in a grant", (m) => m.grants.push({ role: "nobody", schema: "app", schemaPrivileges: ["USAGE"] }), `grants[19].role: unknown role "nobody"; expected one of the declared roles`],
    ["unknown role in a database grant", (m) => (m.database[0].role = "ghost"), `database[0].role: unknown role "ghost"`],
    ["duplicate role", (m) => m.roles.push({ name: "anon", login: false }), `roles[9].name: duplicate role "anon" (already declared at roles[1])`],
    ["unknown extension", (m) => (m.extensions[0].name = "pgcrypt"), `extensions[0].name: unknown extension "pgcrypt"; expected one of pgcrypto, uuid-ossp`],
    ["duplicate extension", (m) => m.extensions.push({ name: "pg_trgm", schema: "extensions" }), `extensions[8].name: duplicate extension "pg_trgm"`],
    ["unknown schema in a grant", (m) => (m.grants[0].schema = "secrets"), `grants[0].schema: unknown schema "secrets"; expected one of the declared schemas`],
    ["unknown schema for an extension", (m) => (m.extensions[0].schema = "ext"), `extensions[0].schema: unknown schema "ext"`],
    ["bad table privilege", (m) => (m.grants[4].tables = ["SELECT", "ALL"]), `grants[4].tables[1]: bad privilege "ALL"; expected one of SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER (table)`],
    ["table privilege on a schema", (m) => (m.grants[0].schemaPrivileges = ["SELECT"]), `grants[0].schemaPrivileges[0]: bad privilege "SELECT"; expected one of USAGE, CREATE (schema)`],
    ["lower-case privilege", (m) => (m.database[1].privileges = ["connect"]), `database[1].privileges[0]: bad privilege "connect"; expected one of CONNECT, TEMPORARY, CREATE`],
    ["grant to the owner", (m) => m.grants.push({ role: "phi_owner", schema: "app", schemaPrivileges: ["USAGE"] }), `grants[19].role: "phi_owner" owns every object and already holds every privilege`],
    ["duplicate grant", (m) => m.grants.push({ role: "anon", schema: "auth", schemaPrivileges: ["USAGE"] }), `grants[19]: duplicate grant for role "anon" on schema "auth" (already at grants[1]); merge them`],
    ["object privileges without USAGE", (m) => (m.grants[4].schemaPrivileges = []), `grants[4].schemaPrivileges: object privileges in schema "tenant" are unusable without USAGE on it`],
    ["a LOGIN owner", (m) => (m.roles[0] = { name: "phi_owner", login: true, auth: "password" }), `owner: the owner role "phi_owner" must be NOLOGIN`],
    ["unknown owner", (m) => (m.owner = "root"), `owner: expected one of the declared roles`],
    ["membership cycle", (m) => (m.roles[1].memberOf = ["authenticated"]) && (m.roles[2].memberOf = ["anon"]), `roles[1].memberOf: membership cycle through role "anon"`],
    ["member of itself", (m) => (m.roles[1].memberOf = ["anon"]), `roles[1].memberOf[0]: a role cannot be a member of itself`],
    ["membership in an unknown role", (m) => m.roles[7].memberOf.push("postgres"), `roles[7].memberOf[3]: unknown role "postgres"`],
    ["rds_iam listed by hand", (m) => m.roles[8].memberOf.push("rds_iam"), `roles[8].memberOf[3]: do not list rds_iam; set "auth": "rds_iam"`],
    ["a LOGIN request role", (m) => Object.assign(m.roles[1], { login: true, auth: "password" }), `roles[1].requestRole: a request role is switched to with SET ROLE and must be NOLOGIN`],
    ["a LOGIN role without auth", (m) => delete m.roles[6].auth, `roles[6].auth: expected "password" or "rds_iam" for a LOGIN role`],
    ["auth on a NOLOGIN role", (m) => (m.roles[4].auth = "password"), `roles[4].auth: a NOLOGIN role cannot authenticate`],
    ["extension in an RLS-managed schema", (m) => (m.extensions[0].schema = "app"), `extensions[0].schema: schema "app" is RLS-managed`],
    ["pg_cron given a schema", (m) => (m.extensions[6].schema = "extensions"), `extensions[6].schema: pg_cron always installs into pg_catalog; expected null`],
    ["a misspelt key", (m) => (m.roles[6].memberof = ["phi_owner"]), `roles[6].memberof: unknown key; expected one of name, login, inherit`],
    ["a reserved role name", (m) => (m.roles[4].name = "user"), `roles[4].name: "user" is a reserved name`],
    ["a pg_ role name", (m) => (m.roles[4].name = "pg_auditor"), `roles[4].name: "pg_auditor": names starting with pg_ are reserved for the system`],
    ["an upper-case schema name", (m) => (m.schemas[2].name = "Tenant"), `schemas[2].name: expected a schema name: a lower-case identifier`],
    ["schema public", (m) => m.schemas.push({ name: "public", rls: false }), `schemas[11].name: "public" is a reserved name`],
    [
      "table privileges in an RLS-managed schema",
      (m) => (m.grants[4].tables = ["SELECT"]),
      `grants[4].tables: schema "tenant" is RLS-managed: its table privileges are granted per table in its policy file (sql/policies), next to the policies`,
    ],
    ["missing rls flag", (m) => delete m.schemas[3].rls, `schemas[3].rls: required: true when every table in the schema must have forced RLS`],
    ["declaring rds_iam", (m) => m.roles.push({ name: "rds_iam", login: false }), `roles[9].name: rds_iam is provided by RDS and cannot be declared`],
    ["wrong version", (m) => (m.version = 2), `version: expected 1, got 2`],
  ];

  it.each(cases)("%s", (_what, edit, message) => {
    const m = raw();
    edit(m);
    let error: unknown;
    try {
      parseAccessModel(m, "sql/access.json");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AccessModelError);
    expect((error as Error).name).toBe("AccessModelError");
    expect((error as Error).message).toContain("invalid sql/access.json:");
    expect((error as Error).message).toContain(message);
  });

  it("lists every issue at once, each with its path", () => {
    const m = raw();
    m.grants[0].role = "nobody";
    m.extensions[1].name = "uuid_ossp";
    m.roles.push({ name: "anon", login: false });
    try {
      parseAccessModel(m);
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(AccessModelError);
      expect((e as AccessModelError).issues.map((i) => i.path).sort()).toEqual(["extensions[1].name", "grants[0].role", "roles[9].name"]);
    }
  });

  it("rejects what is not an object", () => {
    expect(() => parseAccessModel([])).toThrow(AccessModelError);
    expect(() => parseAccessModel(null)).toThrow("(root): expected a JSON object, got null");
  });

  it("names the file when it cannot be read or parsed", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-access-"));
    const bad = path.join(dir, "access.json");
    fs.writeFileSync(bad, "{ not json");
    expect(() => loadAccessModel(bad)).toThrow(`cannot read the access model ${bad}`);
    expect(() => loadAccessModel(path.join(dir, "missing.json"))).toThrow("ENOENT");
    fs.writeFileSync(bad, JSON.stringify({ ...raw(), owner: "nobody" }));
    expect(() => loadAccessModel(bad)).toThrow(`invalid ${bad}:\n  owner: expected one of the declared roles`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("rejects optional extensions the model does not have (config phi-db:optionalExtensions)", () => {
    const model = loadAccessModel();
    expect(() => checkOptionalExtensions(model, ["pg_cron", "postgis"])).toThrow(`optionalExtensions[1]: unknown extension "postgis"`);
    expect(() => checkOptionalExtensions(model, ["pg_cron", "pgaudit", "pg_partman"])).not.toThrow();
  });
});
