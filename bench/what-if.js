"use strict";
/**
 * WHAT-IF prototypes of the apply loop, to size changes proposed for migrator/apply.ts. They are
 * NOT the engine: they reuse its pieces from dist/ (loadProject, the lock, the ledger DDL,
 * readHistory, makePlan, the libpg-query splitter) and write the same two ledger rows per file,
 * but send fewer round trips. Timed beside the real tools by bench/migrate.js, printed apart.
 *
 *   node bench/what-if.js <variant> <sql root> <database url>
 *
 * Variants (transactional files only; a no-transaction file would still go statement by statement):
 *   fold   parse each file once; `begin` + timeouts in one round trip, the statements one by one,
 *          both ledger rows + `commit` in one round trip                      (N + 2 per file)
 *   whole  parse each file once (syntax check, statement map for error lines); ONE simple-protocol
 *          query per file: `begin; set_config...; <file>; <ledger rows>; commit` (1 per file).
 *          On an error: rollback, then replay the statements one by one in a transaction that is
 *          rolled back, to name the failing statement's line (the slow path only on failure).
 *   lazy   as `whole`, but no parse before applying: a file is parsed only when it fails (to name
 *          the line). Gives up the engine's "a syntax error anywhere stops the run before anything
 *          is applied" (each file stays atomic); shows what the up-front parse costs.
 */
const crypto = require("crypto");
const { performance } = require("perf_hooks");
const { dist } = require("./lib");

async function main() {
  const [variant, root, url] = process.argv.slice(2);
  if (!["fold", "whole", "lazy"].includes(variant)) throw new Error(`unknown variant ${variant}: fold | whole | lazy`);
  const files = dist("migrator/files.js");
  const db = dist("migrator/db.js");
  const { makePlan } = dist("migrator/plan.js");
  const { splitStatements } = dist("migrator/statements.js");
  const rules = { allowOutOfOrder: false, lockTimeout: "5s", statementTimeout: "15min", lockWaitSeconds: 30 };
  const L = db.LEDGER_SCHEMA;

  const started = performance.now();
  const project = files.loadProject(root, { environment: "bench" });
  const client = await db.connect({ connectionString: url }, "phi-db what-if");
  const lit = (v) => (v === null || v === undefined ? "null" : client.escapeLiteral(String(v)));
  try {
    await db.acquireLock(client, rules.lockWaitSeconds);
    await db.ensureLedger(client);
    const plan = makePlan(project, await db.readHistory(client), rules);
    if (plan.errors.length) throw new Error(JSON.stringify(plan.errors.slice(0, 3)));
    // Parse once, keep the statements (the engine parses every file twice: pre-check and apply).
    const parsed = new Map();
    const tParse = performance.now();
    if (variant !== "lazy") for (const m of plan.pending) parsed.set(m.key, await splitStatements(m.sql, m.file));
    const parseMs = performance.now() - tParse;
    const runId = crypto.randomUUID();

    // `whole` measures the file on the server: statement_timestamp() is when the query string arrived.
    const serverMs = "(extract(epoch from clock_timestamp() - statement_timestamp()) * 1000)::int";
    const ledgerSql = (m, ms) =>
      `insert into ${L}.schema_history (key, kind, version, name, script, checksum, environment, stack, duration_ms)
       values (${lit(m.key)}, 'versioned', ${lit(m.version)}, ${lit(m.name)}, ${lit(m.file)}, ${lit(m.checksum)}, 'bench', 'bench', ${ms});
       insert into ${L}.schema_events (run_id, event, kind, key, version, script, checksum, environment, stack, duration_ms, error)
       values (${lit(runId)}, 'apply', 'versioned', ${lit(m.key)}, ${lit(m.version)}, ${lit(m.file)}, ${lit(m.checksum)}, 'bench', 'bench', ${ms}, null)`;
    const timeouts = `select set_config('lock_timeout', ${lit(rules.lockTimeout)}, true), set_config('statement_timeout', ${lit(rules.statementTimeout)}, true)`;

    for (const m of plan.pending) {
      if (m.noTransaction) throw new Error("the prototypes cover transactional files only");
      const t0 = Date.now();
      const stmts = parsed.get(m.key) ?? [];
      if (variant === "fold") {
        await client.query(`begin; ${timeouts}`);
        try {
          for (const s of stmts) await client.query(s.sql);
          await client.query(`${ledgerSql(m, Date.now() - t0)}; commit`);
        } catch (e) {
          await client.query("rollback").catch(() => undefined);
          throw e;
        }
      } else {
        // duration_ms is measured by the server: statement_timestamp() is when this query string arrived.
        const prefix = `begin; ${timeouts};\n`;
        const text = `${prefix}${m.sql}\n;${ledgerSql(m, serverMs)}; commit`;
        try {
          await client.query(text);
        } catch (e) {
          await client.query("rollback").catch(() => undefined);
          // The server's position (1-based, in characters) counts from the start of the whole string.
          const pos = Number(e.position) - 1 - prefix.length;
          if (pos >= 0 && pos < m.sql.length) throw new Error(`${m.file}:${m.sql.slice(0, pos).split("\n").length}: ${e.message}`);
          if (variant === "lazy") stmts.push(...(await splitStatements(m.sql, m.file)));
          // Slow path, only on failure and without a position: find the statement by replaying in a rolled-back transaction.
          let line = stmts.length ? stmts[0].line : 1;
          await client.query("begin");
          try {
            for (const s of stmts) {
              line = s.line;
              await client.query(s.sql);
            }
          } catch {
            /* `line` is the failing statement's */
          } finally {
            await client.query("rollback");
          }
          throw new Error(`${m.file}:${line}: ${e.message}`);
        }
      }
    }
    process.stdout.write(JSON.stringify({ applied: plan.pending.length, ms: performance.now() - started, parseMs }) + "\n");
  } finally {
    await db.releaseLock(client).catch(() => undefined);
    await client.end();
  }
}

main().catch((e) => {
  process.stderr.write(`what-if run failed: ${e.stack || e}\n`);
  process.exit(1);
});
