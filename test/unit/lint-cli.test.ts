/**
 * `phi-db lint` without a database (what CI runs on a pull request): every migration file is
 * linted; text, JSON and GitHub-annotation output; exit 1 on errors only where lintBlocking is true.
 */
import * as fs from "fs";
import * as path from "path";
import { main } from "../../cli/main";
import { githubAnnotation } from "../../cli/lint-command";
import { FixtureProject } from "../support/project";

const REPO = path.resolve(__dirname, "../..");

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

/** A phi-db project: stack files, the access model, and the given migrations. */
function lintProject(migrations: Record<string, string>): FixtureProject {
  return new FixtureProject({
    "Pulumi.yaml": "name: phi-db-lint-fixture\nruntime: nodejs\n",
    "Pulumi.prod.yaml": "config:\n  phi-db:environment: prod\n",
    "Pulumi.dev.yaml": "config:\n  phi-db:environment: dev\n  phi-db:lintBlocking: false\n",
    "sql/access.json": fs.readFileSync(path.join(REPO, "sql", "access.json"), "utf8"),
    ...Object.fromEntries(Object.entries(migrations).map(([k, v]) => [`sql/migrations/${k}`, v])),
  });
}

const GOOD = "create table app.visits (id bigint primary key);\nalter table app.visits enable row level security, force row level security;\n";
const BAD = "-- drops a table\n\ndrop table app.visits;\n";

/** Runs `phi-db lint` with no database in reach and GitHub Actions variables as given. */
async function lint(args: string[], env: Record<string, string | undefined> = {}) {
  const keys = ["DATABASE_URL", "GITHUB_ACTIONS", "GITHUB_WORKSPACE"];
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) process.env[k] = v;
  try {
    const c = capture();
    const code = await main(["lint", ...args], c.io);
    return { code, ...c };
  } finally {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

let fx: FixtureProject;
beforeAll(() => {
  fx = lintProject({ "20260101001_visits.sql": GOOD, "20260101002_drop.sql": BAD });
});
afterAll(() => fx.dispose());

it("prod (lintBlocking true): prints file:line severity rule message and exits 1", async () => {
  const r = await lint(["--env", "prod", "--dir", fx.root]);
  expect(r.code).toBe(1);
  expect(r.out).toContain(
    "sql/migrations/20260101002_drop.sql:3: error phi-db/destructive: DROP TABLE app.visits: destructive statement; add a line '-- phi-db:allow-destructive <reason>' to the file if this is intended (and the data is backed up or no longer needed)",
  );
  expect(r.out[r.out.length - 1]).toBe("phi-db lint (prod): 1 error(s), 0 warning(s) in 2 migration file(s) (no database given: every file is linted)");
});

it("dev (lintBlocking false): the same errors are printed as warnings and the exit code is 0", async () => {
  const r = await lint(["--env", "dev", "--dir", fx.root]);
  expect(r.code).toBe(0);
  expect(r.out[0]).toMatch(/^sql\/migrations\/20260101002_drop\.sql:3: warning phi-db\/destructive: DROP TABLE .* \(an error where phi-db:lintBlocking is true\)$/);
  expect(r.out[r.out.length - 1]).toContain("errors do not block this stack (phi-db:lintBlocking is false)");
});

it("--json gives the findings and the verdict", async () => {
  const r = await lint(["--env", "prod", "--dir", fx.root, "--json"]);
  expect(r.code).toBe(1);
  const json = JSON.parse(r.out.join("\n"));
  expect(json).toEqual({
    blocking: true,
    ok: false,
    linted: ["sql/migrations/20260101001_visits.sql", "sql/migrations/20260101002_drop.sql"],
    summary: { errors: 1, warnings: 0 },
    findings: [{ file: "sql/migrations/20260101002_drop.sql", line: 3, rule: "phi-db/destructive", severity: "error", message: expect.stringContaining("DROP TABLE app.visits") }],
  });
  const dev = await lint(["--env", "dev", "--dir", fx.root, "--format", "json"]);
  expect(dev.code).toBe(0);
  expect(JSON.parse(dev.out.join("\n"))).toMatchObject({ blocking: false, ok: true, summary: { errors: 1 } });
});

it("--format github prints workflow annotations (errors in prod, warnings in dev)", async () => {
  const r = await lint(["--env", "prod", "--dir", fx.root, "--format", "github"]);
  expect(r.code).toBe(1);
  expect(r.out[0]).toMatch(/^::error file=sql\/migrations\/20260101002_drop\.sql,line=3,title=phi-db\/destructive::DROP TABLE app\.visits: destructive statement/);
  const dev = await lint(["--env", "dev", "--dir", fx.root, "--format", "github"]);
  expect(dev.code).toBe(0);
  expect(dev.out[0]).toMatch(/^::warning file=sql\/migrations\/20260101002_drop\.sql,line=3,title=phi-db\/destructive::DROP TABLE/);
});

it("GITHUB_ACTIONS=true picks annotations by itself, with paths relative to the workspace", async () => {
  const parent = path.dirname(fx.root);
  const r = await lint(["--env", "prod", "--dir", fx.root], { GITHUB_ACTIONS: "true", GITHUB_WORKSPACE: parent });
  expect(r.code).toBe(1);
  expect(r.out[0]).toContain(`::error file=${path.basename(fx.root)}/sql/migrations/20260101002_drop.sql,line=3,title=phi-db/destructive::`);
  // an explicit format still wins
  const text = await lint(["--env", "prod", "--dir", fx.root, "--format", "text"], { GITHUB_ACTIONS: "true" });
  expect(text.out[0]).toMatch(/^sql\/migrations\/20260101002_drop\.sql:3: error /);
});

it("annotations escape what the workflow-command syntax reserves", () => {
  const line = githubAnnotation({ file: "sql/migrations/a,b.sql", line: 7, rule: "squawk/x:y", severity: "error", message: "100% sure\nsecond line" }, "error");
  expect(line).toBe("::error file=sql/migrations/a%2Cb.sql,line=7,title=squawk/x%3Ay::100%25 sure%0Asecond line");
});

it("a clean project exits 0 in prod; an unknown --format is a usage error", async () => {
  const clean = lintProject({ "20260101001_visits.sql": GOOD });
  try {
    const r = await lint(["--env", "prod", "--dir", clean.root]);
    expect(r.code).toBe(0);
    expect(r.out).toEqual(["phi-db lint (prod): 0 error(s), 0 warning(s) in 1 migration file(s) (no database given: every file is linted)"]);
    const bad = await lint(["--env", "prod", "--dir", clean.root, "--format", "xml"]);
    expect(bad.code).toBe(2);
    expect(bad.err.join("\n")).toContain("--format expects one of text, json, github, got xml");
  } finally {
    clean.dispose();
  }
});

it("a file that cannot be loaded (bad name) is a lint error too", async () => {
  const p = lintProject({ "20260101001_visits.sql": GOOD, "2026_bad-name.sql": "select 1;\n" });
  try {
    const r = await lint(["--env", "prod", "--dir", p.root]);
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/^sql\/migrations\/2026_bad-name\.sql:1: error phi-db\/files: bad migration file name/);
  } finally {
    p.dispose();
  }
});
