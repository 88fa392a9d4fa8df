/**
 * `phi-db lint` against a database: only the migrations the ledger has not applied are linted
 * (an applied file is history, not a pull request), and the exit code follows lintBlocking.
 */
import * as fs from "fs";
import * as path from "path";
import { main } from "../../cli/main";
import { migrate } from "../../migrator/apply";
import { loadProject } from "../../migrator/files";
import { createDatabase, TestDatabase } from "../support/db";
import { ctxFor, FixtureProject, PROD_RULES } from "../support/project";

const REPO = path.resolve(__dirname, "../..");

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

// Applied first: destructive without the marker (the engine does not lint; an old file is history).
const APPLIED =
  "create schema if not exists app;\ndrop table if exists app.legacy;\n" +
  "create table app.visits (id bigint primary key, reason text);\nalter table app.visits enable row level security, force row level security;\n";
// Pending: a type change without the marker, and a new unprotected table.
const PENDING = "alter table app.visits alter column reason type varchar(200);\ncreate table app.loose (id bigint);\n";

let db: TestDatabase;
let fx: FixtureProject;
beforeAll(async () => {
  db = await createDatabase("lint");
  fx = new FixtureProject({
    "Pulumi.yaml": "name: phi-db-lint-fixture\nruntime: nodejs\n",
    "Pulumi.prod.yaml": "config:\n  phi-db:environment: prod\n",
    "Pulumi.dev.yaml": "config:\n  phi-db:environment: dev\n  phi-db:lintBlocking: false\n",
    "sql/access.json": fs.readFileSync(path.join(REPO, "sql", "access.json"), "utf8"),
    "sql/migrations/20260101001_visits.sql": APPLIED,
  });
  await migrate(ctxFor(db.url, PROD_RULES), loadProject(path.join(fx.root, "sql"), { environment: "prod" }));
  fx.write({ "sql/migrations/20260101002_reason_type.sql": PENDING });
});
afterAll(async () => {
  fx.dispose();
  await db.drop();
});

it("lints only what the ledger has not applied, and blocks in prod", async () => {
  const c = capture();
  const code = await main(["lint", "--env", "prod", "--database-url", db.url, "--dir", fx.root, "--json"], c.io);
  expect(c.err).toEqual([]);
  expect(code).toBe(1);
  const json = JSON.parse(c.out.join("\n"));
  expect(json.linted).toEqual(["sql/migrations/20260101002_reason_type.sql"]);
  const ours = json.findings.filter((f: { rule: string }) => f.rule.startsWith("phi-db/"));
  expect(ours.map((f: { file: string; line: number; rule: string }) => `${f.file}:${f.line} ${f.rule}`)).toEqual([
    "sql/migrations/20260101002_reason_type.sql:1 phi-db/destructive",
    "sql/migrations/20260101002_reason_type.sql:2 phi-db/rls",
  ]);
  // squawk's own view of the same file comes through as a warning
  expect(json.findings).toEqual(expect.arrayContaining([expect.objectContaining({ line: 1, rule: "squawk/prefer-text-field", severity: "warning" })]));
});

it("the same pending file only warns in dev (exit 0)", async () => {
  const c = capture();
  expect(await main(["lint", "--env", "dev", "--database-url", db.url, "--dir", fx.root], c.io)).toBe(0);
  expect(c.out.join("\n")).toContain("sql/migrations/20260101002_reason_type.sql:1: warning phi-db/destructive: column type change of app.visits.reason");
  expect(c.out[c.out.length - 1]).toMatch(/^phi-db lint \(dev\): 2 error\(s\), \d+ warning\(s\) in 1 pending migration\(s\); errors do not block this stack/);
});

it("nothing pending: exit 0 in prod, although an applied file would not pass today", async () => {
  const done = capture();
  fx.remove("sql/migrations/20260101002_reason_type.sql");
  try {
    expect(await main(["lint", "--env", "prod", "--database-url", db.url, "--dir", fx.root], done.io)).toBe(0);
    expect(done.out).toEqual(["phi-db lint (prod): 0 error(s), 0 warning(s) in 0 pending migration(s)"]);
    // without the database, the applied file is linted too, and its DROP TABLE is an error
    const all = capture();
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      expect(await main(["lint", "--env", "prod", "--dir", fx.root], all.io)).toBe(1);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
    expect(all.out[0]).toMatch(/^sql\/migrations\/20260101001_visits\.sql:2: error phi-db\/destructive: DROP TABLE app\.legacy/);
  } finally {
    fx.write({ "sql/migrations/20260101002_reason_type.sql": PENDING });
  }
});
