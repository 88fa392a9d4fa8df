"use strict";
/**
 * Planning over 1,000 migration files against a ledger of 1,000 applied rows (the steady state of a
 * long-lived project: every checksum is compared, nothing is pending).
 *
 *   loadProject   read + render + sha256 of the 1,000 files (dist/migrator/files.js)
 *   makePlan      files x history -> plan, pure (dist/migrator/plan.js), history rows in memory
 *   readHistory   the ONE history query on a real ledger (dist/migrator/db.js), 1,000 rows
 *   readPlan      what `phi-db plan` does after loading: connect, readHistory, makePlan
 *                 (dist/migrator/apply.js); its queries are counted
 *   fresh process loadProject + readPlan in a new Node process (cold caches, JIT not warmed),
 *                 timed inside that process (without Node's own start-up)
 *
 *   node bench/plan.js                     (embedded server, or DATABASE_URL)
 *   BENCH_PLAN_FILES=1000 BENCH_PLAN_ROUNDS=15 node bench/plan.js
 */
const { spawnSync } = require("child_process");
const fs = require("fs");
const { performance } = require("perf_hooks");
const lib = require("./lib");

async function timeIt(fn) {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

function summary(name, xs) {
  return [name, lib.fmtMs(lib.median(xs)), lib.fmtMs(Math.min(...xs)), lib.fmtMs(Math.max(...xs)), lib.fmtMs(xs[0])];
}

async function benchPlan({ adminUrl, log = console.log, count, rounds } = {}) {
  count = count ?? Number(process.env.BENCH_PLAN_FILES ?? 1000);
  rounds = rounds ?? Number(process.env.BENCH_PLAN_ROUNDS ?? 15);
  const files = lib.dist("migrator/files.js");
  const { makePlan } = lib.dist("migrator/plan.js");
  const db = lib.dist("migrator/db.js");
  const { readPlan } = lib.dist("migrator/apply.js");
  const pg = require("pg");
  const rules = { allowOutOfOrder: false, allowRollback: false, lockTimeout: "5s", statementTimeout: "15min", lockWaitSeconds: 30 };

  const dir = lib.mkTemp("phi-db-bench-plan-");
  const database = await lib.createDatabase(adminUrl, "bench_plan");
  // Count every query any pg client sends while readPlan runs.
  const query = pg.Client.prototype.query;
  let counting = false;
  let queries = 0;
  pg.Client.prototype.query = function (...args) {
    if (counting) queries++;
    return query.apply(this, args);
  };
  try {
    lib.writePhiDbProject(dir, lib.generateMigrations(count, 7));
    const project = files.loadProject(dir, { environment: "bench" });
    if (project.problems.length || project.migrations.length !== count) throw new Error(`generated project is not clean: ${JSON.stringify(project.problems.slice(0, 3))}`);
    const bytes = project.migrations.reduce((s, m) => s + Buffer.byteLength(m.sql), 0);

    // A real ledger holding every file as applied, written through the engine's own DDL.
    const client = await db.connect({ connectionString: database.url }, "phi-db bench plan");
    try {
      await db.ensureLedger(client);
      const ms = project.migrations;
      await client.query(
        `insert into ${db.LEDGER_SCHEMA}.schema_history (key, kind, version, name, script, checksum, environment, stack, duration_ms)
         select k, 'versioned', v, n, s, c, 'bench', 'bench', 3 from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as u(k, v, n, s, c)`,
        [ms.map((m) => m.key), ms.map((m) => m.version), ms.map((m) => m.name), ms.map((m) => m.file), ms.map((m) => m.checksum)],
      );
      await client.query(`analyze ${db.LEDGER_SCHEMA}.schema_history`);
      const history = await db.readHistory(client);
      if (history.length !== count) throw new Error(`ledger holds ${history.length} rows, expected ${count}`);
      log(`plan: ${count} migration files (${(bytes / 1024).toFixed(0)} KiB), ledger of ${history.length} applied rows, ${rounds} rounds (first round reported apart)`);

      const t = { load: [], plan: [], history: [], readPlan: [], total: [] };
      let last;
      for (let r = 0; r < rounds; r++) {
        const load = await timeIt(() => files.loadProject(dir, { environment: "bench" }));
        const plan = await timeIt(() => makePlan(load.value, history, rules));
        const hist = await timeIt(() => db.readHistory(client));
        queries = 0;
        counting = true;
        const rp = await timeIt(() => readPlan({ connection: { connectionString: database.url }, environment: "bench", stack: "bench", rules }, load.value));
        counting = false;
        last = { plan: rp.value, queries };
        t.load.push(load.ms);
        t.plan.push(plan.ms);
        t.history.push(hist.ms);
        t.readPlan.push(rp.ms);
        t.total.push(load.ms + rp.ms);
        if (plan.value.errors.length || plan.value.pending.length || plan.value.applied.length !== count) {
          throw new Error(`unexpected plan: ${plan.value.errors.length} errors, ${plan.value.pending.length} pending, ${plan.value.applied.length} applied`);
        }
      }
      for (let r = 0; r < Math.min(5, rounds); r++) {
        const c = spawnSync(process.execPath, [__filename, "--once", dir, database.url], { encoding: "utf8" });
        if (c.status !== 0) throw new Error(`fresh-process plan failed: ${c.stderr}`);
        (t.fresh ??= []).push(JSON.parse(c.stdout).ms);
      }
      const rows = [
        summary(`loadProject (${count} files: read, render, sha256)`, t.load),
        summary(`makePlan (${count} files x ${count} history rows)`, t.plan),
        summary(`readHistory (one query, ${count} rows)`, t.history),
        summary("readPlan (connect + readHistory + makePlan)", t.readPlan),
        summary("plan total = loadProject + readPlan", t.total),
        summary("plan total in a fresh process", t.fresh),
      ];
      const printed = lib.table(["phase", "median ms", "min ms", "max ms", "first ms"], rows, "lrrrr");
      log("");
      log(printed);
      log(`queries sent by readPlan: ${last.queries} (one history query); plan: ${last.plan.applied.length} applied, ${last.plan.pending.length} pending, ${last.plan.errors.length} errors`);
      return { table: printed, queries: last.queries, medianTotal: lib.median(t.total) };
    } finally {
      await client.end();
    }
  } finally {
    pg.Client.prototype.query = query;
    await database.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { benchPlan };

/** `--once <dir> <url>`: loadProject + readPlan once, in this (fresh) process; prints the ms. */
async function once(dir, url) {
  const t = performance.now();
  const project = lib.dist("migrator/files.js").loadProject(dir, { environment: "bench" });
  const plan = await lib.dist("migrator/apply.js").readPlan(
    { connection: { connectionString: url }, environment: "bench", stack: "bench", rules: { allowOutOfOrder: false, allowRollback: false, lockTimeout: "5s", statementTimeout: "15min", lockWaitSeconds: 30 } },
    project,
  );
  if (plan.errors.length) throw new Error(JSON.stringify(plan.errors.slice(0, 3)));
  process.stdout.write(JSON.stringify({ ms: performance.now() - t }) + "\n");
}

if (require.main === module && process.argv[2] === "--once") {
  once(process.argv[3], process.argv[4]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else if (require.main === module) {
  (async () => {
    const server = await lib.startServer(console.log);
    try {
      console.log(`server: PostgreSQL ${await lib.serverVersion(server.adminUrl)}${server.embedded ? " (embedded)" : " (DATABASE_URL)"}`);
      await benchPlan({ adminUrl: server.adminUrl });
    } finally {
      await server.stop();
    }
  })().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
