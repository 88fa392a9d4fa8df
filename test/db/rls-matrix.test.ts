/**
 * The attack matrix as `phi-db verify` prints it, compared with the checked-in
 * test/db/expected-rls-matrix.json: every table x persona x command and the fixture rows it reached.
 * Any change to access (a policy, a grant, a helper, a new table) changes this file, so it shows up
 * in review. After a deliberate change, regenerate it and review the diff:
 *
 *   npm run build && UPDATE_RLS_MATRIX=1 npx jest test/db/rls-matrix.test.ts
 */
import * as fs from "fs";
import * as path from "path";
import { main } from "../../cli/main";
import { loadAccessModel, rlsSchemas } from "../../migrator/access-model";
import { AttackMatrix, formatAttackMatrix, PERSONAS, verifyMatricesText, VerifyMatrices } from "../../migrator/rls-matrix";
import { createDatabase, TestDatabase } from "../support/db";
import { applyPlatform, REPO_ROOT } from "../support/platform";

const EXPECTED = path.join(__dirname, "expected-rls-matrix.json");

let db: TestDatabase;
let verify: VerifyMatrices & { checks: Array<{ name: string; ok: boolean }> };

beforeAll(async () => {
  db = await createDatabase("rls_matrix");
  await applyPlatform(db.url);
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["verify", "--env", "local", "--database-url", db.url, "--dir", REPO_ROOT, "--json"], { out: (s) => out.push(s), err: (s) => err.push(s) });
  if (code !== 0) throw new Error(`verify exited ${code}: ${err.join("\n")}`);
  verify = JSON.parse(out.join("\n"));
}, 240000);
afterAll(async () => db?.drop());

it("phi-db verify --json prints the checks, the policy matrix and the attack matrix", () => {
  expect(verify.checks.every((c) => c.ok)).toBe(true);
  expect(verify.attackMatrixNote).toBeNull();
  expect(verify.attackMatrix).not.toBeNull();
  expect(verify.policyMatrix.entries.length).toBeGreaterThan(100);
  expect([...new Set(verify.policyMatrix.entries.map((e) => e.role))].sort()).toEqual(["analytics_reader", "anon", "auditor", "authenticated", "service_role"]);
  // The text rendering names both matrices.
  const text = verifyMatricesText(verify).join("\n");
  expect(text).toContain("policy matrix (table / role");
  expect(text).toMatch(/\n {2}app\.appointments\n {4}A\.admin: select A\.appointment\.patient1\.consultation /);
});

it("the attack matrix equals test/db/expected-rls-matrix.json", () => {
  const m = verify.attackMatrix as AttackMatrix;
  const actual = JSON.parse(formatAttackMatrix(m, verify.policyMatrix.grantedWithoutPolicy));
  if (process.env.UPDATE_RLS_MATRIX === "1") fs.writeFileSync(EXPECTED, formatAttackMatrix(m, verify.policyMatrix.grantedWithoutPolicy));
  const expected = JSON.parse(fs.readFileSync(EXPECTED, "utf8"));
  expect(actual.personas).toEqual(expected.personas);
  expect(actual.grantedWithoutPolicy).toEqual(expected.grantedWithoutPolicy);
  expect(Object.keys(actual.tables)).toEqual(Object.keys(expected.tables));
  for (const t of Object.keys(expected.tables)) expect({ table: t, cells: actual.tables[t] }).toEqual({ table: t, cells: expected.tables[t] });
});

it("no policy lacks its privilege, no privilege lacks its policy, and no partition's policies drift from its parent's", () => {
  expect(verify.policyMatrix.policyWithoutGrant).toEqual([]);
  expect(verify.policyMatrix.grantedWithoutPolicy).toEqual([]);
  expect(verify.policyMatrix.partitionDrift).toEqual([]);
  // ... and the checks that fail a run on either are among the ones verify ran
  for (const name of ["grant-has-policy", "policy-has-grant"]) expect(verify.checks.find((c) => c.name === name)).toMatchObject({ ok: true });
});

const cells = () =>
  Object.entries((verify.attackMatrix as AttackMatrix).tables).flatMap(([table, byPersona]) => Object.entries(byPersona).map(([persona, cell]) => ({ table, persona, cell })));

it("nobody writes what they cannot read: the rows an UPDATE or DELETE reaches are rows the persona can SELECT", () => {
  const wider: string[] = [];
  for (const { table, persona, cell } of cells()) {
    const readable = new Set(Array.isArray(cell.select) ? cell.select : []);
    for (const command of ["update", "delete"] as const) {
      const reached = cell[command];
      if (Array.isArray(reached)) for (const row of reached.filter((r) => !readable.has(r))) wider.push(`${persona} ${command}s ${table} ${row} without seeing it`);
    }
  }
  expect(wider).toEqual([]);
  // Not vacuous: personas do update and delete rows somewhere.
  expect(cells().filter(({ cell }) => Array.isArray(cell.delete) && cell.delete.length > 0).length).toBeGreaterThan(20);
  expect(cells().filter(({ cell }) => Array.isArray(cell.update) && cell.update.length > 0).length).toBeGreaterThan(20);
});

it("no persona can move any row to the other organization (UPDATE of organization_id: refused or 0 rows)", () => {
  const moved: string[] = [];
  const outcomes: string[] = [];
  for (const { table, persona, cell } of cells()) {
    for (const [move, outcome] of Object.entries(cell.move ?? {})) {
      if (!move.startsWith("organization_id=")) continue;
      outcomes.push(Array.isArray(outcome) ? "0 rows" : outcome);
      if (Array.isArray(outcome) && outcome.length > 0) moved.push(`${persona} moved ${table} ${outcome.join(", ")} (${move})`);
    }
  }
  expect(moved).toEqual([]);
  // Every fixture table with an organization_id was probed, and row-level security really stood in the way.
  const tables = Object.entries((verify.attackMatrix as AttackMatrix).tables).filter(([, byPersona]) => Object.keys(Object.values(byPersona)[0].move ?? {}).includes("organization_id=org.B"));
  expect(tables.length).toBeGreaterThan(40);
  expect(outcomes).toContain("refused by row-level security");
  expect(outcomes).toContain("0 rows");
});

it("moves of patient_id and user_id are in the matrix too (reviewed in the expected file), never to another organization's patient", () => {
  const withPatient = cells().filter(({ cell }) => cell.move && "patient_id=A.patient1.record" in cell.move);
  const withUser = cells().filter(({ cell }) => cell.move && "user_id=A.patient1" in cell.move);
  expect(withPatient.length).toBeGreaterThanOrEqual(15 * PERSONAS.length);
  expect(withUser.length).toBeGreaterThanOrEqual(5 * PERSONAS.length);
  // A row of organization B never lands on organization A's patient (the composite foreign keys and the policies refuse it).
  const crossed = withPatient.flatMap(({ table, persona, cell }) =>
    Object.entries(cell.move!).flatMap(([m, o]) => (m.startsWith("patient_id=") && Array.isArray(o) ? o.filter((r) => r.startsWith("B.")).map((r) => `${persona} ${table} ${r} -> ${m}`) : [])),
  );
  expect(crossed).toEqual([]);
});

it("declares schema analytics_private in the access model, created before its migration, owner only", async () => {
  const r = await db.client.query(
    `select pg_catalog.pg_get_userbyid(n.nspowner) as owner,
            coalesce((select array_agg(a.grantee::regrole::text) from pg_catalog.aclexplode(n.nspacl) a where a.grantee <> n.nspowner), '{}') as grantees,
            (select array_agg(c.relname::text order by c.relname) from pg_catalog.pg_class c where c.relnamespace = n.oid and c.relkind = 'm') as views,
            pg_catalog.obj_description(n.oid, 'pg_namespace') as comment
       from pg_catalog.pg_namespace n where n.nspname = 'analytics_private'`,
  );
  const model = loadAccessModel();
  expect(r.rows).toEqual([
    {
      owner: model.owner,
      grantees: [],
      views: ["organization_dashboard", "patient_mood_summary", "provider_availability", "top_providers"],
      comment: model.schemas.find((s) => s.name === "analytics_private")!.comment,
    },
  ]);
  // Not RLS-managed (materialized views cannot carry policies): outside the checks and the matrices.
  expect(rlsSchemas(model)).not.toContain("analytics_private");
  expect(Object.keys((verify.attackMatrix as AttackMatrix).tables).filter((t) => t.startsWith("analytics_private."))).toEqual([]);
});

it("the matrix leaves nothing behind: the fixture and every probe were rolled back", async () => {
  const r = await db.client.query(
    "select (select count(*) from tenant.organizations where slug like 'rls-fixture-%')::int as orgs, (select count(*) from app.profiles where email like '%@rls-fixture.example')::int as people",
  );
  expect(r.rows[0]).toEqual({ orgs: 0, people: 0 });
});
