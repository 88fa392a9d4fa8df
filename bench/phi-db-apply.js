"use strict";
/**
 * One phi-db run in its own process, the way a user runs it: load the project from disk, then
 * `migrate()` (lock, ledger, syntax check, one transaction per file with its history and event rows).
 *
 *   node bench/phi-db-apply.js <sql root> <database url> [--profile]
 *
 * Prints one JSON line with the phases' durations. With --profile it also measures every query
 * the engine sends (by kind) and the time spent in the SQL parser; the wrappers add a little
 * overhead of their own, so profiled runs are never the ones timed in the comparison table.
 */
const { performance } = require("perf_hooks");
const t0 = performance.now();
const { dist } = require("./lib");

async function main() {
  const [root, url, ...flags] = process.argv.slice(2);
  const profile = flags.includes("--profile");
  const files = dist("migrator/files.js");
  const apply = dist("migrator/apply.js");
  const statements = dist("migrator/statements.js");
  const prof = { queries: {}, parseMs: 0, parseCalls: 0 };

  if (profile) {
    const pg = require("pg");
    const query = pg.Client.prototype.query;
    const kindOf = (sql) => {
      const s = typeof sql === "string" ? sql : sql && sql.text ? sql.text : "";
      const t = s.trim().toLowerCase();
      if (t.startsWith("select 1/0;")) return "syntax check of all files (server)";
      if (t.startsWith("begin;") && t.includes("phi_ledger.schema_history (key")) return "file + timeouts + ledger rows (one trip)";
      if (t === "begin") return "begin";
      if (t === "commit") return "commit";
      if (t.startsWith("select set_config('lock_timeout'")) return "set timeouts";
      if (t.includes("phi_ledger.schema_history (key")) return "ledger: history row";
      if (t.includes("phi_ledger.schema_events (run_id")) return "ledger: event row";
      if (t.includes("pg_try_advisory_lock") || t.includes("pg_advisory_unlock")) return "lock";
      if (t.includes("phi_ledger")) return "ledger: setup/read";
      return "migration statements";
    };
    pg.Client.prototype.query = function (sql, ...rest) {
      const k = kindOf(sql);
      const started = performance.now();
      const done = () => {
        const e = (prof.queries[k] ??= { n: 0, ms: 0 });
        e.n++;
        e.ms += performance.now() - started;
      };
      const p = query.call(this, sql, ...rest);
      if (p && typeof p.then === "function") p.then(done, done);
      return p;
    };
    const split = statements.splitStatements;
    statements.splitStatements = async (...args) => {
      const started = performance.now();
      try {
        return await split(...args);
      } finally {
        prof.parseMs += performance.now() - started;
        prof.parseCalls++;
      }
    };
  }

  const tLoad = performance.now();
  const project = files.loadProject(root, { environment: "bench" });
  if (project.problems.length) throw new Error(JSON.stringify(project.problems.slice(0, 3)));
  const tMigrate = performance.now();
  const result = await apply.migrate(
    {
      connection: { connectionString: url },
      environment: "bench",
      stack: "bench",
      rules: { allowOutOfOrder: false, allowRollback: false, lockTimeout: "5s", statementTimeout: "15min", lockWaitSeconds: 30 },
    },
    project,
  );
  const tEnd = performance.now();
  const out = {
    applied: result.applied.length,
    requireMs: tLoad - t0,
    loadProjectMs: tMigrate - tLoad,
    migrateMs: tEnd - tMigrate,
  };
  if (profile) Object.assign(out, prof);
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(`phi-db bench run failed: ${e.stack || e}\n`);
  process.exit(1);
});
