"use strict";
/**
 * Applying ~300 generated migrations into fresh databases on one server, with:
 *
 *   phi-db          migrate() from dist/ in its own Node process (load files, lock, ledger rows,
 *                   one transaction per file)
 *   psql (floor)    ONE psql session running `begin; \i file; commit;` for every file: no ledger,
 *                   no lock, no checksum, just the SQL one transaction per file
 *   node-pg-migrate 9.0.0, `up` on .sql files, one transaction per file (--no-single-transaction),
 *                   its own ledger table (pgmigrations) and advisory lock
 *   dbmate          2.24.0, `migrate` on `-- migrate:up` files, one transaction per file, its own
 *                   ledger table (schema_migrations), --no-dump-schema
 *
 * Each tool gets a fresh database per run; rounds alternate the order of the tools; the table shows
 * the median wall time of each tool (process start to exit) and its ratio to the psql floor.
 *
 *   node bench/migrate.js                  (embedded server, or DATABASE_URL)
 *   BENCH_MIGRATIONS=300 BENCH_ROUNDS=5 node bench/migrate.js
 *   BENCH_PROFILE=0 node bench/migrate.js  (skip the phi-db profile)
 *   BENCH_WHATIF=fold,whole,lazy           (what-if prototypes timed in the same rounds, printed
 *                                          apart: see bench/what-if.js; default lazy; 0: none)
 */
const { execFileSync, spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const { performance } = require("perf_hooks");
const lib = require("./lib");

const NODE_PG_MIGRATE = path.join(lib.ROOT, "node_modules", "node-pg-migrate", "bin", "node-pg-migrate.js");
const DBMATE = path.join(lib.ROOT, "node_modules", ".bin", "dbmate");

function findPsql() {
  const candidates = [];
  try {
    candidates.push(path.join(execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim(), "psql"));
  } catch {
    /* no pg_config */
  }
  for (const d of (process.env.PATH ?? "").split(path.delimiter)) if (d) candidates.push(path.join(d, "psql"));
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

/** Writes the same migrations in each tool's format; returns the folders. */
function writeProjects(dir, migrations) {
  const phidb = lib.writePhiDbProject(path.join(dir, "phi-db"), migrations);
  const files = migrations.map((m) => path.join(phidb, "migrations", `${m.version}_${m.name}.sql`));

  // psql: one session, one transaction per file.
  const driver = path.join(dir, "psql-driver.sql");
  const lines = ["\\set ON_ERROR_STOP 1", "\\set QUIET 1"];
  for (const f of files) lines.push("begin;", `\\i '${f.replace(/'/g, "''")}'`, "commit;");
  fs.writeFileSync(driver, lines.join("\n") + "\n");

  // node-pg-migrate: `<number>_<name>.sql`; the text after `-- Up Migration` is the up step.
  const npm = path.join(dir, "node-pg-migrate");
  fs.mkdirSync(npm);
  for (const m of migrations) fs.writeFileSync(path.join(npm, `${m.version}_${m.name}.sql`), `-- Up Migration\n${m.sql}`);

  // dbmate: `<version>_<name>.sql` with `-- migrate:up` / `-- migrate:down` sections.
  const dbmate = path.join(dir, "dbmate");
  fs.mkdirSync(dbmate);
  for (const m of migrations) fs.writeFileSync(path.join(dbmate, `${m.version}_${m.name}.sql`), `-- migrate:up\n${m.sql}\n-- migrate:down\n`);

  return { phidb, driver, npm, dbmate };
}

function run(cmd, args, opts, what) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.status !== 0) {
    throw new Error(`${what} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ""}):\n${(r.stderr || "").slice(-3000)}\n${(r.stdout || "").slice(-2000)}`);
  }
  return r.stdout;
}

/** What each tool must have left: all tables, and its ledger rows. */
async function verify(url, tool, migrations, expectedTables) {
  const { Client } = require("pg");
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const t = await c.query("select count(*)::int as n from pg_catalog.pg_tables where schemaname = 'app'");
    if (t.rows[0].n !== expectedTables) throw new Error(`${tool}: ${t.rows[0].n} tables in schema app, expected ${expectedTables}`);
    const ledger = {
      "phi-db": "select count(*)::int as n from phi_ledger.schema_history where kind = 'versioned'",
      "node-pg-migrate": "select count(*)::int as n from public.pgmigrations",
      dbmate: "select count(*)::int as n from public.schema_migrations",
    }[tool.startsWith("what-if") ? "phi-db" : tool];
    if (ledger) {
      const l = await c.query(ledger);
      if (l.rows[0].n !== migrations.length) throw new Error(`${tool}: ${l.rows[0].n} ledger rows, expected ${migrations.length}`);
    }
  } finally {
    await c.end();
  }
}

function tools(projects, psql, whatIf) {
  const list = [
    {
      name: "phi-db",
      run: (url) => run(process.execPath, [path.join(__dirname, "phi-db-apply.js"), projects.phidb, url], {}, "phi-db"),
    },
    {
      name: "node-pg-migrate",
      run: (url) =>
        run(
          process.execPath,
          [NODE_PG_MIGRATE, "up", "--migrations-dir", projects.npm, "--no-single-transaction", "--no-verbose"],
          { cwd: path.dirname(projects.npm), env: { ...process.env, DATABASE_URL: url } },
          "node-pg-migrate",
        ),
    },
    {
      name: "dbmate",
      run: (url) => {
        const u = new URL(url);
        u.searchParams.set("sslmode", "disable");
        return run(
          DBMATE,
          ["--migrations-dir", projects.dbmate, "--no-dump-schema", "migrate"],
          { cwd: path.dirname(projects.dbmate), env: { ...process.env, DATABASE_URL: u.toString() } },
          "dbmate",
        );
      },
    },
  ];
  if (whatIf.length) {
    for (const v of whatIf) {
      list.push({
        name: `what-if: ${v}`,
        whatIf: true,
        run: (url) => run(process.execPath, [path.join(__dirname, "what-if.js"), v, projects.phidb, url], {}, `what-if ${v}`),
      });
    }
  }
  if (psql) {
    list.unshift({
      name: "psql (floor)",
      run: (url) => run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", projects.driver], {}, "psql"),
    });
  }
  return list;
}

/** One run of one tool into a fresh database; returns its wall time in ms. */
async function timeOne(adminUrl, tool, migrations, expectedTables) {
  const db = await lib.createDatabase(adminUrl, "bench_apply");
  try {
    const started = performance.now();
    const stdout = tool.run(db.url);
    const ms = performance.now() - started;
    await verify(db.url, tool.name, migrations, expectedTables);
    return { ms, stdout };
  } finally {
    await db.drop();
  }
}

async function profilePhiDb(adminUrl, projects, rounds) {
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const db = await lib.createDatabase(adminUrl, "bench_prof");
    try {
      const out = run(process.execPath, [path.join(__dirname, "phi-db-apply.js"), projects.phidb, db.url, "--profile"], {}, "phi-db --profile");
      samples.push(JSON.parse(out.trim().split("\n").pop()));
    } finally {
      await db.drop();
    }
  }
  return samples;
}

async function benchMigrate({ adminUrl, log = console.log, count, rounds, profile, whatIf } = {}) {
  count = count ?? Number(process.env.BENCH_MIGRATIONS ?? 300);
  rounds = rounds ?? Number(process.env.BENCH_ROUNDS ?? 5);
  profile = profile ?? process.env.BENCH_PROFILE !== "0";
  // BENCH_WHATIF: comma-separated variants of bench/what-if.js (fold, whole, lazy); 0 for none.
  whatIf = whatIf ?? (process.env.BENCH_WHATIF === "0" ? [] : (process.env.BENCH_WHATIF || "lazy").split(",").map((v) => v.trim()));
  const migrations = lib.generateMigrations(count);
  const expectedTables = new Set(migrations.flatMap((m) => [...m.sql.matchAll(/^create table (app\.\w+)/gm)].map((x) => x[1]))).size;
  const { splitStatements } = lib.dist("migrator/statements.js");
  let statements = 0;
  for (const m of migrations) statements += (await splitStatements(m.sql, m.name)).length;
  const bytes = migrations.reduce((s, m) => s + Buffer.byteLength(m.sql), 0);
  const dir = lib.mkTemp("phi-db-bench-apply-");
  try {
    const projects = writeProjects(dir, migrations);
    const psql = findPsql();
    const list = tools(projects, psql, whatIf);
    if (!psql) log("psql not found (PATH or pg_config --bindir): the floor is left out, ratios are not printed");
    log(`apply: ${count} migrations (${statements} statements, ${(bytes / 1024).toFixed(0)} KiB, ${expectedTables} tables), ${rounds} rounds + 1 warm-up, tools: ${list.map((t) => t.name).join(", ")}`);

    // Warm-up: file cache, Node's compile cache, the server's catalog caches; also proves every tool works.
    for (const t of list) await timeOne(adminUrl, t, migrations, expectedTables);

    const times = Object.fromEntries(list.map((t) => [t.name, []]));
    const parseMs = {};
    for (let r = 0; r < rounds; r++) {
      const k = r % list.length;
      let order = [...list.slice(k), ...list.slice(0, k)];
      if (r % 2) order = order.reverse();
      for (const t of order) {
        const { ms, stdout } = await timeOne(adminUrl, t, migrations, expectedTables);
        times[t.name].push(ms);
        if (t.whatIf) (parseMs[t.name] ??= []).push(JSON.parse(stdout.trim().split("\n").pop()).parseMs);
      }
      log(`  round ${r + 1}/${rounds}: ${order.map((t) => `${t.name} ${lib.fmtMs(times[t.name][times[t.name].length - 1])} ms`).join(", ")}`);
    }

    const floor = psql ? lib.median(times["psql (floor)"]) : null;
    const row = (t) => {
      const xs = times[t.name];
      const med = lib.median(xs);
      return [t.name, lib.fmtMs(med), lib.fmtMs(Math.min(...xs)), lib.fmtMs(Math.max(...xs)), floor ? (med / floor).toFixed(2) + "x" : "-", lib.fmtMs(med / count)];
    };
    const header = ["tool", "median ms", "min ms", "max ms", "vs psql", "ms/file"];
    const printed = lib.table(header, list.filter((t) => !t.whatIf).map(row), "lrrrrr");
    log("");
    log(printed);
    let whatIfTable = null;
    if (whatIf.length) {
      whatIfTable = lib.table(header, list.filter((t) => t.whatIf).map(row), "lrrrrr");
      log("");
      log("what-if prototypes of the apply loop (bench/what-if.js; not the engine, same ledger rows, timed in the same rounds):");
      log(whatIfTable);
      log(`  up-front parse of the ${count} files inside those runs (median): ${Object.entries(parseMs).map(([k, xs]) => `${k.replace("what-if: ", "")} ${lib.fmtMs(lib.median(xs))} ms`).join(", ")}`);
    }

    let prof = null;
    if (profile) {
      const samples = await profilePhiDb(adminUrl, projects, Math.max(1, Math.min(2, rounds)));
      prof = summariseProfile(samples, count);
      log("");
      log(prof.text);
    }
    return { times, floor, table: printed, whatIfTable, profile: prof, count, rounds };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Median of each phase over the profiled runs, as a table. */
function summariseProfile(samples, count) {
  const med = (f) => lib.median(samples.map(f));
  const kinds = [...new Set(samples.flatMap((s) => Object.keys(s.queries)))];
  const migrate = med((s) => s.migrateMs);
  const rows = [
    ["node start + require (process)", "", lib.fmtMs(med((s) => s.requireMs))],
    ["loadProject (read, render, sha256)", "", lib.fmtMs(med((s) => s.loadProjectMs))],
    ["migrate() total", "", lib.fmtMs(migrate)],
    [`  parse with libpg-query (${lib.median(samples.map((s) => s.parseCalls))} calls)`, "", lib.fmtMs(med((s) => s.parseMs))],
  ];
  let inQueries = 0;
  for (const k of kinds.sort((a, b) => med((s) => s.queries[b]?.ms ?? 0) - med((s) => s.queries[a]?.ms ?? 0))) {
    const ms = med((s) => s.queries[k]?.ms ?? 0);
    inQueries += ms;
    rows.push([`  query: ${k}`, String(med((s) => s.queries[k]?.n ?? 0)), lib.fmtMs(ms)]);
  }
  const parse = med((s) => s.parseMs);
  rows.push(["  rest (JS between queries)", "", lib.fmtMs(Math.max(0, migrate - inQueries - parse))]);
  const roundTrips = med((s) => Object.values(s.queries).reduce((a, q) => a + q.n, 0));
  rows.push(["round trips in total", String(roundTrips), `${(roundTrips / count).toFixed(1)} per file`]);
  const text = `phi-db profile (median of ${samples.length} instrumented runs; wrappers add overhead, not used for the table above):\n` + lib.table(["phase", "count", "ms"], rows, "lrr");
  return { samples, text };
}

module.exports = { benchMigrate };

if (require.main === module) {
  (async () => {
    const server = await lib.startServer(console.log);
    try {
      console.log(`server: PostgreSQL ${await lib.serverVersion(server.adminUrl)}${server.embedded ? " (embedded)" : " (DATABASE_URL)"}`);
      await benchMigrate({ adminUrl: server.adminUrl });
    } finally {
      await server.stop();
    }
  })().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
