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
import { AttackMatrix, formatAttackMatrix, verifyMatricesText, VerifyMatrices } from "../../migrator/rls-matrix";
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

it("no policy lacks its privilege, and no partition's policies drift from its parent's", () => {
  expect(verify.policyMatrix.policyWithoutGrant).toEqual([]);
  expect(verify.policyMatrix.partitionDrift).toEqual([]);
});

it("the matrix leaves nothing behind: the fixture and every probe were rolled back", async () => {
  const r = await db.client.query(
    "select (select count(*) from tenant.organizations where slug like 'rls-fixture-%')::int as orgs, (select count(*) from app.profiles where email like '%@rls-fixture.example')::int as people",
  );
  expect(r.rows[0]).toEqual({ orgs: 0, people: 0 });
});
