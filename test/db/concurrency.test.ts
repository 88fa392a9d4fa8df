/**
 * Several migrator processes against one database at once: the advisory lock serialises them and
 * each migration is applied exactly once. A run that cannot get the lock names who holds it.
 */
import { spawn } from "child_process";
import * as path from "path";
import { Client } from "pg";
import { migrate } from "../../migrator/apply";
import { LOCK_KEY, LockTimeoutError } from "../../migrator/db";
import { createDatabase, TestDatabase } from "../support/db";
import { ctxFor, DEV_RULES, FixtureProject } from "../support/project";

let db: TestDatabase;
let fx: FixtureProject;

beforeAll(async () => {
  db = await createDatabase("conc");
  const files: Record<string, string> = {};
  for (let i = 1; i <= 12; i++) {
    const v = `20260201${String(i).padStart(3, "0")}`;
    // each migration is slow enough for the runs to overlap, and fails if run twice
    files[`migrations/${v}_step_${i}.sql`] = `create table public.step_${i} (id int);\nselect pg_sleep(0.02);\n`;
  }
  files["migrations/20260201013_counter.sql"] = "create table public.runs (n int);\ninsert into public.runs values (1);\n";
  fx = new FixtureProject(files);
});
afterAll(async () => {
  fx.dispose();
  await db.drop();
});

function runProcess(url: string, root: string): Promise<{ code: number | null; out: string }> {
  const dist = path.resolve(__dirname, "../../dist/migrator");
  const script = `
    const { migrate } = require(${JSON.stringify(dist + "/apply.js")});
    const { loadProject } = require(${JSON.stringify(dist + "/files.js")});
    const rules = { allowOutOfOrder: false, allowRollback: true, lockTimeout: "5s", statementTimeout: "1min", lockWaitSeconds: 60 };
    migrate({ connection: { connectionString: process.env.URL }, environment: "dev", stack: "dev", rules }, loadProject(process.env.ROOT, { environment: "dev" }))
      .then((r) => { console.log(JSON.stringify(r.applied.map((a) => a.key))); process.exit(0); })
      .catch((e) => { console.error(e.message); process.exit(1); });`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", script], { env: { ...process.env, URL: url, ROOT: root } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

it("applies every migration exactly once when several processes run at the same time", async () => {
  const runs = await Promise.all([1, 2, 3, 4].map(() => runProcess(db.url, fx.root)));
  expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
  const appliedByRun = runs.map((r) => JSON.parse(r.out.trim().split("\n").pop()!) as string[]);
  const all = appliedByRun.flat().sort();
  expect(all).toEqual(fx.load().migrations.map((m) => m.key).sort());
  expect((await db.client.query("select count(*)::int as n from public.runs")).rows[0].n).toBe(1);
  const ev = await db.client.query("select key, count(*)::int as n from phi_ledger.schema_events where event = 'apply' group by key having count(*) > 1");
  expect(ev.rows).toEqual([]);
}, 60000);

it("fails after the wait deadline naming the lock holder's pid, application_name and since", async () => {
  const holder = new Client({ connectionString: db.url, application_name: "holder-under-test" });
  await holder.connect();
  try {
    await holder.query("select pg_advisory_lock($1::bigint)", [LOCK_KEY.toString()]);
    const pid = (await holder.query("select pg_backend_pid() as pid")).rows[0].pid;
    const started = Date.now();
    const err = await migrate(ctxFor(db.url, { ...DEV_RULES, lockWaitSeconds: 1 }), fx.load()).catch((e) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err.message).toContain(`pid ${pid}`);
    expect(err.message).toContain("application_name 'holder-under-test'");
    expect(err.message).toMatch(/connected since \d{4}-\d\d-\d\dT/);
    expect(err.holder.pid).toBe(pid);
  } finally {
    await holder.end();
  }
});
