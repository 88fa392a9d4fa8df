/**
 * Reading table privileges out of policy files (migrator/policy-grants.ts) with the real PostgreSQL
 * parser: what a sequence of `revoke all` / `grant` statements leaves, and a PolicyGrantError naming
 * file, line and what was expected for everything one Grant per (table, role) cannot state.
 */
import { PolicyGrantError, policyTableGrants } from "../../migrator/policy-grants";
import { SqlSyntaxError } from "../../migrator/statements";

const ROLES = ["anon", "authenticated", "service_role", "auditor", "analytics_reader"];
const RESET = "from public, anon, authenticated, service_role, auditor, analytics_reader";
const read = (...sql: string[]) => policyTableGrants(sql.map((s, i) => ({ file: `policies/0${i + 1}0_x.sql`, sql: s })), ROLES);
const failure = async (...sql: string[]) => {
  const e = await read(...sql).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PolicyGrantError);
  return e as PolicyGrantError;
};

describe("what the files leave", () => {
  it("one entry per (table, role), privileges sorted, several tables and roles per statement, grants adding up", async () => {
    const grants = await read(`
      -- app.notes: patients write their own
      revoke all on app.notes, app.tags ${RESET};
      grant update, select on app.notes to authenticated;
      grant insert on table app.notes to authenticated;
      grant select on app.notes, app.tags to authenticated, analytics_reader;
      grant execute on function app.f(int) to anon; -- not a table privilege
      create policy p on app.notes for select to authenticated using (true);
    `);
    expect(grants).toEqual([
      { schema: "app", table: "notes", role: "analytics_reader", privileges: ["SELECT"] },
      { schema: "app", table: "notes", role: "authenticated", privileges: ["INSERT", "SELECT", "UPDATE"] },
      { schema: "app", table: "tags", role: "analytics_reader", privileges: ["SELECT"] },
      { schema: "app", table: "tags", role: "authenticated", privileges: ["SELECT"] },
    ]);
  });

  it("a later revoke all resets the table, in the order the files run; a table granted to nobody has no entry", async () => {
    const grants = await read(
      `revoke all on app.notes ${RESET}; grant select, delete on app.notes to authenticated;
       revoke all on app.keys ${RESET};`,
      `revoke all on app.notes ${RESET}; grant select on app.notes to service_role;`,
    );
    expect(grants).toEqual([{ schema: "app", table: "notes", role: "service_role", privileges: ["SELECT"] }]);
  });

  it("revoke all on ALL TABLES IN SCHEMA takes away what the files granted there so far, for the roles it names", async () => {
    const grants = await read(`
      revoke all on logs.a, app.b ${RESET};
      grant select on logs.a, app.b to service_role, auditor;
      revoke all on all tables in schema logs from service_role;
    `);
    expect(grants).toEqual([
      { schema: "app", table: "b", role: "auditor", privileges: ["SELECT"] },
      { schema: "app", table: "b", role: "service_role", privileges: ["SELECT"] },
      { schema: "logs", table: "a", role: "auditor", privileges: ["SELECT"] },
    ]);
  });
});

describe("what cannot be one Grant per table and role fails, naming file, line and what was expected", () => {
  it("a column list", async () => {
    const e = await failure(`revoke all on app.t ${RESET};\n\ngrant select (id, name) on app.t to authenticated;`);
    expect(e.issues).toEqual([{ file: "policies/010_x.sql", line: 3, message: expect.stringContaining("a column list (select (...)) cannot be one Grant per table; expected `grant <privileges> on <schema.table>") }]);
    expect(e.message).toContain("policies/010_x.sql:3: a column list");
  });

  it("WITH GRANT OPTION", async () => {
    const e = await failure(`revoke all on app.t ${RESET};\ngrant select on app.t to authenticated with grant option;`);
    expect(e.issues).toEqual([{ file: "policies/010_x.sql", line: 2, message: expect.stringContaining("WITH GRANT OPTION is not allowed") }]);
  });

  it("a grantee that is not one of the roles the policy files decide: PUBLIC, a login, CURRENT_USER", async () => {
    const e = await failure(`revoke all on app.t ${RESET};\ngrant select on app.t to public;\ngrant select on app.t to authenticated, phi_app;\ngrant select on app.t to current_user;`);
    expect(e.issues.map((i) => [i.line, i.message])).toEqual([
      [2, "grant to public: not a role the policy files decide; expected one of anon, authenticated, service_role, auditor, analytics_reader"],
      [3, "grant to phi_app: not a role the policy files decide; expected one of anon, authenticated, service_role, auditor, analytics_reader"],
      [4, "grant to current_user: not a role the policy files decide; expected one of anon, authenticated, service_role, auditor, analytics_reader"],
    ]);
  });

  it("a grant not preceded by its table's revoke all in the same file", async () => {
    const e = await failure(`grant select on app.t to authenticated;\nrevoke all on app.t ${RESET};`);
    expect(e.issues).toEqual([
      { file: "policies/010_x.sql", line: 1, message: `grant on app.t is not preceded by \`revoke all on app.t ${RESET}\` in this file (a table's privileges are reset and granted in one file)` },
    ]);
    // ... an earlier file's revoke does not count either
    const other = await failure(`revoke all on app.t ${RESET};`, `grant select on app.t to authenticated;`);
    expect(other.issues.map((i) => `${i.file}:${i.line}`)).toEqual(["policies/020_x.sql:1"]);
  });

  it("a revoke that leaves some of the roles (or PUBLIC) as they were, or revokes less than all", async () => {
    const e = await failure(`revoke all on app.t from anon, authenticated;\nrevoke select on app.u ${RESET};\nrevoke grant option for select on app.v ${RESET};`);
    expect(e.issues.map((i) => [i.line, i.message])).toEqual([
      [1, `revoke all on app.t leaves public, service_role, auditor, analytics_reader as they were; expected \`revoke all on app.t ${RESET}\``],
      [2, `only \`revoke all\` is understood here (a table's privileges are reset, then granted); expected \`revoke all on app.u ${RESET}\``],
      [3, `only \`revoke all\` is understood here (a table's privileges are reset, then granted); expected \`revoke all on app.v ${RESET}\``],
    ]);
  });

  it("grant all, an unknown privilege, ALL TABLES IN SCHEMA, an unqualified table", async () => {
    const e = await failure(
      `revoke all on app.t ${RESET};\ngrant all on app.t to authenticated;\ngrant maintain on app.t to authenticated;\ngrant select on all tables in schema app to authenticated;\ngrant select on t to authenticated;`,
    );
    expect(e.issues.map((i) => [i.line, i.message])).toEqual([
      [2, expect.stringContaining("`grant all` would also grant privileges no policy backs; spell them out (select, insert, update, delete, truncate, references, trigger)")],
      [3, "unknown table privilege maintain; expected one of select, insert, update, delete, truncate, references, trigger"],
      [4, expect.stringContaining("a grant on ALL TABLES IN SCHEMA cannot be one Grant per table")],
      [5, expect.stringContaining("table t is not schema-qualified")],
    ]);
  });

  it("lists every problem of every file at once", async () => {
    const e = await failure(`grant select on app.t to authenticated;`, `revoke all on app.u ${RESET};\ngrant select on app.u to public with grant option;`);
    expect(e.issues.map((i) => `${i.file}:${i.line}`)).toEqual(["policies/010_x.sql:1", "policies/020_x.sql:2", "policies/020_x.sql:2"]);
  });

  it("a file that does not parse is a syntax error naming file and line", async () => {
    await expect(read(`revoke all on app.t ${RESET};\ngrant select app.t to authenticated;`)).rejects.toThrow(SqlSyntaxError);
    await expect(read(`revoke all on app.t ${RESET};\ngrant select app.t to authenticated;`)).rejects.toThrow(/^policies\/010_x\.sql:2: syntax error/);
  });
});
