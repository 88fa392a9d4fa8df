"use strict";
/**
 * The performance layer measured at scale (issue 7), on ONE PostgreSQL server (an embedded
 * PostgreSQL 17 started here with benchmark settings and stopped at the end, or DATABASE_URL):
 *
 *   load        the platform (access model, migrations, repeatables; not sql/policies unless
 *               BENCH_PERF_POLICIES=1: they belong to the RLS issue and are not what is measured),
 *               then synthetic data: 20 organizations, 5,000 providers, 200,000 patients, 200,000
 *               slots, 1,000,000 appointments over 27 months, 1,000,000 mood entries, 20,000
 *               waitlist entries, and 10,000,000 audit.log rows over 24 months.
 *               Bulk rows go in with generate_series as the superuser with
 *               session_replication_role = replica: the audit trigger (one hash-chained audit entry
 *               per row, ~0.2 ms each) and the foreign-key triggers do not fire. The audit rows are
 *               written straight into the partitioned audit.log (same columns, synthetic hashes).
 *   partitions  a one-month audit report and a one-month per-organization accounting of the audit
 *               log, partitioned (EXPLAIN: how many partitions are scanned) vs the same 10M rows in
 *               one plain table with the same index
 *   dashboards  each materialized view read for one request (one organization / patient) vs the same
 *               aggregate computed live for that request; refresh times at this scale
 *   inserts     audited inserts (trigger + hash chain) vs the same inserts without the audit trigger,
 *               N concurrent clients, one row per transaction, distinct organizations (one chain
 *               each) and one shared organization (one chain), next to the floor of any per-row audit
 *               trail (a trigger appending one unchained row); once with the embedded server's
 *               commits without fsync (CPU-bound) and once with durable commits (fsync on, as on RDS);
 *               where the time of an audited insert goes (pg_stat_statements with track = all)
 *   bulk        one multi-row INSERT of 1,000 / 4,000 / 8,000 rows, audited vs not (cost per row vs n)
 *   search      patient full-text search (app.search_patients) and telehealth specialty search:
 *               index used, p50 / p95 latency
 * and prints the ratios side by side. Figures only: nothing fails because a number is high.
 *
 *   npm run build && node bench/perf.js
 *   BENCH_PERF_SCALE=0.1 node bench/perf.js      (a tenth of every row count: a quick run)
 *   BENCH_PERF_CLIENTS=4 BENCH_PERF_SECONDS=8    (insert phase: clients and seconds per variant)
 *   BENCH_PERF_KEEP=1                            (keep the embedded server and database; prints the URL)
 *
 * The embedded server runs with fsync = off and synchronous_commit = off (as every local phi-db
 * server): write throughput is higher than on RDS, where each commit waits for durable storage.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { performance } = require("perf_hooks");
const lib = require("./lib");

const SCALE = Number(process.env.BENCH_PERF_SCALE ?? "1");
const CLIENTS = Number(process.env.BENCH_PERF_CLIENTS ?? "4");
const SECONDS = Number(process.env.BENCH_PERF_SECONDS ?? "8");
const KEEP = process.env.BENCH_PERF_KEEP === "1";
const WITH_POLICIES = process.env.BENCH_PERF_POLICIES === "1";

const N = {
  orgs: 20,
  providers: Math.max(100, Math.round(5000 * SCALE)),
  patients: Math.max(2000, Math.round(200000 * SCALE)),
  slotsPerProvider: 40,
  appointments: Math.round(1000000 * SCALE),
  mood: Math.round(1000000 * SCALE),
  moodPatients: Math.max(200, Math.round(40000 * SCALE)),
  waitlistPerOrg: Math.max(20, Math.round(1000 * SCALE)),
  audit: Math.round(10000000 * SCALE),
  auditMonths: 24,
};

const ORG = (i) => `d9000000-0000-4000-8000-${String(i).padStart(12, "0")}`; // i = 1..20
const uuidSql = (prefix, expr) => `('${prefix}-0000-4000-8000-' || lpad((${expr})::text, 12, '0'))::uuid`;
const PROVIDER = (expr) => uuidSql("b9000000", expr); // provider p (1..N) belongs to organization ((p - 1) % 20) + 1
const PATIENT = (expr) => uuidSql("c9000000", expr); // patient q (1..N) belongs to organization ((q - 1) % 20) + 1

const SPECIALTIES = ["cardiology", "dermatology", "psychiatry", "pediatrics", "oncology", "neurology", "endocrinology", "gastroenterology", "orthopedics", "gynecology", "psychology", "family_medicine"];
const FIRST = ["ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "john", "frances", "ken", "radia", "dennis", "katherine", "linus", "lynn", "guido", "sophie", "tim", "anita", "niklaus", "hedy", "claude", "mary", "james", "joan", "robert", "shafi", "leslie", "sally", "whitfield", "jean", "peter", "ellen", "brian", "carol", "david", "fran", "ivan", "judea", "yukihiro"];
const LAST = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts", "okafor", "kowalski", "novak", "schmidt", "muller", "rossi", "silva", "santos", "tanaka", "kim", "park", "chen", "wang", "singh", "patel", "kumar", "cohen", "levi", "murphy", "kelly"];
const sqlArray = (xs) => `array[${xs.map((x) => `'${x}'`).join(", ")}]`;

// ---------------------------------------------------------------------------------------------
// Output helpers

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const say = (line = "") => console.log(line);
const fmtN = (n) => Number(n).toLocaleString("en-US");
const ms = (x) => lib.fmtMs(x) + " ms";
const ratio = (a, b) => (b > 0 ? (a / b >= 100 ? (a / b).toFixed(0) : (a / b).toFixed(1)) + "x" : "n/a");

function progress(label, done, total, started) {
  const pct = total ? done / total : 1;
  const width = 30;
  const bar = "#".repeat(Math.round(pct * width)).padEnd(width, ".");
  const secs = (performance.now() - started) / 1000;
  const rate = secs > 0 ? fmtN(Math.round(done / secs)) : "-";
  const line = `  ${label.padEnd(22)} [${bar}] ${String(Math.round(pct * 100)).padStart(3)}%  ${fmtN(done)}/${fmtN(total)}  ${secs.toFixed(0)} s  ${rate} rows/s`;
  if (process.stdout.isTTY) process.stdout.write("\r" + line + (done >= total ? "\n" : ""));
  else if (done >= total || Math.floor(pct * 10) !== Math.floor((progress.last?.[label] ?? -1) * 10)) say(line);
  progress.last = { ...(progress.last ?? {}), [label]: pct };
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

// ---------------------------------------------------------------------------------------------
// Server and platform

async function startServer() {
  if (process.env.DATABASE_URL) return { adminUrl: process.env.DATABASE_URL, embedded: false, stop: async () => undefined };
  const { startEmbedded, stopEmbedded } = lib.dist("cli/embedded.js");
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-perf-pg-"));
  fs.chmodSync(base, 0o755); // as root the server runs as `postgres`, which must reach it
  const baseDir = path.join(base, "server");
  say(`starting an embedded PostgreSQL in ${base} ...`);
  let server = await startEmbedded({ baseDir, log: () => undefined });
  // Benchmark settings (close to a db.r6g.large-class parameter group), then restart.
  const mem = os.totalmem();
  const settings = {
    shared_buffers: `${Math.max(256, Math.min(4096, Math.floor(mem / 2 ** 20 / 8)))}MB`,
    effective_cache_size: `${Math.max(1, Math.floor(mem / 2 ** 30 / 2))}GB`,
    work_mem: "64MB",
    maintenance_work_mem: "1GB",
    max_wal_size: "16GB",
    checkpoint_timeout: "30min",
    max_parallel_workers_per_gather: String(Math.max(1, Math.min(4, os.cpus().length))),
    max_parallel_maintenance_workers: String(Math.max(1, Math.min(4, os.cpus().length))),
    autovacuum: "off", // no autovacuum between load and measurement: the bench runs ANALYZE itself
    "pg_stat_statements.max": "10000",
    jit: "off",
  };
  for (const [k, v] of Object.entries(settings)) await lib.adminQuery(server.adminUrl, `alter system set ${k} = '${v}'`);
  stopEmbedded(baseDir, "fast");
  server = await startEmbedded({ baseDir, log: () => undefined });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (KEEP) {
      say(`\nkept: server in ${baseDir} (stop: node -e "require('./dist/cli/embedded.js').stopEmbedded('${baseDir}')")`);
      return;
    }
    try {
      stopEmbedded(baseDir, "immediate");
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  };
  return { adminUrl: server.adminUrl, embedded: true, stop, settings };
}

/** The SQL folders the platform is applied from (sql/policies only with BENCH_PERF_POLICIES=1). */
function sqlRoot() {
  const src = path.join(lib.ROOT, "sql");
  if (WITH_POLICIES) return { root: src, cleanup: () => undefined };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-perf-sql-"));
  for (const dir of ["migrations", "functions", "views"]) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
    for (const f of fs.readdirSync(path.join(src, dir))) if (f.endsWith(".sql")) fs.copyFileSync(path.join(src, dir, f), path.join(root, dir, f));
  }
  return { root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

async function applyPlatform(url) {
  const { loadAccessModel, requestRoles, requiredExtensions, rlsSchemas } = lib.dist("migrator/access-model.js");
  const { applyAccessModel } = lib.dist("migrator/access-sql.js");
  const { runLayer } = lib.dist("migrator/engine.js");
  const model = loadAccessModel(path.join(lib.ROOT, "sql", "access.json"));
  const optional = ["pgaudit", "pg_cron", "pg_partman"];
  const sql = sqlRoot();
  try {
    return await runLayer({
      connection: { connectionString: url },
      environment: "local",
      stack: "bench",
      rules: { allowOutOfOrder: false, allowRollback: false, lockTimeout: "5s", statementTimeout: "30min", lockWaitSeconds: 60 },
      ownerRole: model.owner,
      sqlRoot: sql.root,
      placeholders: {},
      loadSeed: false,
      checks: { managedSchemas: rlsSchemas(model), requiredExtensions: requiredExtensions(model, optional), requestRoles: requestRoles(model) },
      beforeMigrate: (client) => applyAccessModel(client, model, { environment: "local", optionalExtensions: optional }),
    });
  } finally {
    sql.cleanup();
  }
}

async function connect(url, setup = []) {
  const { Client } = require("pg");
  const c = new Client({ connectionString: url, application_name: "phi-db perf bench" });
  await c.connect();
  for (const s of setup) await c.query(s);
  return c;
}

/** Median wall time (ms) of `runs` executions after `warm` unmeasured ones. */
async function timeQuery(c, sql, params = [], runs = 5, warm = 1) {
  for (let i = 0; i < warm; i++) await c.query(sql, params);
  const times = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    const r = await c.query(sql, params);
    times.push(performance.now() - s);
    rows = r.rowCount ?? r.rows.length;
  }
  return { ms: lib.median(times), rows, times };
}

/** Relations and indexes an EXPLAIN (FORMAT JSON) plan reads. */
async function planFacts(c, sql, params = []) {
  const r = await c.query(`explain (format json) ${sql}`, params);
  const relations = new Set();
  const indexes = new Set();
  const nodes = new Set();
  const walk = (n) => {
    if (n["Relation Name"]) relations.add(n["Relation Name"]);
    if (n["Index Name"]) indexes.add(n["Index Name"]);
    nodes.add(n["Node Type"]);
    for (const child of n.Plans ?? []) walk(child);
  };
  walk(r.rows[0]["QUERY PLAN"][0].Plan);
  return { relations: [...relations], indexes: [...indexes], nodes: [...nodes] };
}

// ---------------------------------------------------------------------------------------------
// Load

async function parallel(tasks, lanes) {
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (queue.length) await queue.shift()();
    }),
  );
}

async function load(url, out) {
  const lanes = Math.max(2, Math.min(4, os.cpus().length));
  const bulk = ["set session_replication_role = replica", "set synchronous_commit = off", "set maintenance_work_mem = '1GB'"];
  const c = await connect(url, bulk);
  const started = performance.now();
  say(`\nload (${lanes} parallel sessions; triggers off: session_replication_role = replica)`);

  // Partitions for every month the data covers, created the normal way (RLS, policies, triggers).
  await c.query("set role phi_owner");
  await c.query(`select app.ensure_monthly_partitions('audit.log', ${N.auditMonths + 1}, 3)`);
  await c.query(`select app.ensure_monthly_partitions('app.appointments', 24, 18)`);
  await c.query("reset role");

  // Reference data.
  let s = performance.now();
  await c.query(
    `insert into tenant.organizations (id, name, slug)
     select ('d9000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'Bench Clinic ' || g, 'bench-clinic-' || g from generate_series(1, ${N.orgs}) g`,
  );
  await c.query(
    `insert into app.providers (id, organization_id, first_name, last_name, specialties, telehealth, accepting_new_patients)
     select ${PROVIDER("g")}, ${uuidSql("d9000000", "(g - 1) % 20 + 1")},
            initcap((${sqlArray(FIRST)})[1 + (g * 7) % ${FIRST.length}]), initcap((${sqlArray(LAST)})[1 + (g * 11) % ${LAST.length}]),
            case when g % 3 = 0 then array[(${sqlArray(SPECIALTIES)})[1 + g % 12]]
                 else array[(${sqlArray(SPECIALTIES)})[1 + g % 12], (${sqlArray(SPECIALTIES)})[1 + (g / 12) % 12]] end,
            g % 5 < 2, g % 7 <> 0
       from generate_series(1, ${N.providers}) g`,
  );
  progress("organizations+providers", N.providers, N.providers, s);

  s = performance.now();
  const patientChunks = [];
  const chunk = Math.ceil(N.patients / (lanes * 2));
  for (let from = 1; from <= N.patients; from += chunk) {
    const to = Math.min(N.patients, from + chunk - 1);
    patientChunks.push(async () => {
      const w = await connect(url, bulk);
      try {
        await w.query(
          `insert into app.patients (id, organization_id, first_name, last_name, email, date_of_birth, sex_at_birth)
           select ${PATIENT("g")}, ${uuidSql("d9000000", "(g - 1) % 20 + 1")},
                  initcap(f), initcap(l), f || '.' || replace(l, '-', '') || g || '@example.org',
                  date '1940-01-01' + (g * 37) % 25000, (array['female', 'male', 'intersex', 'unknown'])[1 + g % 4]
             from generate_series(${from}, ${to}) g
             cross join lateral (select (${sqlArray(FIRST)})[1 + (g * 13) % ${FIRST.length}] as f,
                                        (${sqlArray(LAST)})[1 + (g * 17) % ${LAST.length}]
                                        || case when g % 4 = 0 then '-' || (${sqlArray(LAST)})[1 + (g / 7) % ${LAST.length}] else '' end as l) n`,
        );
      } finally {
        await w.end();
      }
      patientChunks.done = (patientChunks.done ?? 0) + (to - from + 1);
      progress("patients", patientChunks.done, N.patients, s);
    });
  }
  await parallel(patientChunks, lanes);

  s = performance.now();
  await c.query(
    `insert into app.appointment_slots (organization_id, provider_id, starts_at, ends_at, modality, status)
     select ${uuidSql("d9000000", "(p - 1) % 20 + 1")}, ${PROVIDER("p")},
            date_trunc('hour', now()) + (k * 3 + p % 3) * interval '1 hour', date_trunc('hour', now()) + (k * 3 + p % 3) * interval '1 hour' + interval '45 minutes',
            case when (p + k) % 3 = 0 then 'telehealth' else 'in_person' end,
            case when (p * k) % 10 < 7 then 'available' when (p * k) % 10 < 9 then 'booked' else 'blocked' end
       from generate_series(1, ${N.providers}) p, generate_series(1, ${N.slotsPerProvider}) k`,
  );
  progress("appointment slots", N.providers * N.slotsPerProvider, N.providers * N.slotsPerProvider, s);

  // Appointments: 24 months back to 3 months ahead; provider and patient of the same organization.
  s = performance.now();
  const apptChunks = [];
  const aChunk = Math.ceil(N.appointments / 16);
  const provPerOrg = Math.floor(N.providers / 20);
  const patPerOrg = Math.floor(N.patients / 20);
  for (let from = 1; from <= N.appointments; from += aChunk) {
    const to = Math.min(N.appointments, from + aChunk - 1);
    apptChunks.push(async () => {
      const w = await connect(url, bulk);
      try {
        await w.query(
          `insert into app.appointments (organization_id, patient_id, provider_id, start_time, end_time, appointment_type, status, modality)
           select ${uuidSql("d9000000", "o + 1")}, ${PATIENT(`o + 1 + 20 * ((g::bigint * 7919) % ${patPerOrg})`)}, ${PROVIDER(`o + 1 + 20 * ((g::bigint * 104729) % ${provPerOrg})`)},
                  st, st + interval '30 minutes',
                  (array['consultation', 'follow_up', 'follow_up', 'telehealth', 'psychotherapy', 'lab_review', 'vaccination', 'procedure'])[1 + (g / 3) % 8],
                  case when st < now() then (case when g % 20 < 16 then 'completed' when g % 20 = 16 then 'no_show' else 'cancelled' end)
                       else (case when g % 20 < 17 then 'scheduled' when g % 20 < 19 then 'confirmed' else 'cancelled' end) end,
                  case when g % 10 < 3 then 'telehealth' else 'in_person' end
             from generate_series(${from}, ${to}) g
             cross join lateral (select g % 20 as o,
                                        date_trunc('hour', now() - interval '24 months') + ((g * 2654435761::bigint) % (27 * 30 * 24 * 4)) * interval '15 minutes' as st) x`,
        );
      } finally {
        await w.end();
      }
      apptChunks.done = (apptChunks.done ?? 0) + (to - from + 1);
      progress("appointments", apptChunks.done, N.appointments, s);
    });
  }
  await parallel(apptChunks, lanes);

  s = performance.now();
  await c.query(
    `insert into app.mood_entries (organization_id, patient_id, mood_score, notes, recorded_at)
     select ${uuidSql("d9000000", `(q - 1) % 20 + 1`)}, ${PATIENT("q")}, 1 + (g * 13 + q) % 10, null,
            now() - ((g::bigint * 7919) % (120 * 24 * 60)) * interval '1 minute'
       from generate_series(1, ${N.mood}) g
       cross join lateral (select 1 + (g::bigint * 48271) % ${N.moodPatients} as q) x`,
  );
  progress("mood entries", N.mood, N.mood, s);

  s = performance.now();
  await c.query(
    `insert into app.waitlists (organization_id, name, specialty)
     select ${uuidSql("d9000000", "g")}, 'General waitlist', null from generate_series(1, 20) g`,
  );
  await c.query(
    `insert into app.waitlist_entries (organization_id, waitlist_id, patient_id, priority_score, status)
     select w.organization_id, w.id, ${PATIENT(`right(w.organization_id::text, 12)::int + 20 * j`)},
            (j * 37) % 101, case when j % 2 = 0 then 'active' else 'withdrawn' end
       from app.waitlists w, generate_series(0, ${N.waitlistPerOrg - 1}) j`,
  );
  progress("waitlist entries", N.waitlistPerOrg * 20, N.waitlistPerOrg * 20, s);

  // The audit log: 24 full months before the current one, straight into the partitions.
  s = performance.now();
  const perMonth = Math.ceil(N.audit / N.auditMonths);
  const orgArray = `array[${Array.from({ length: 20 }, (_, i) => `'${ORG(i + 1)}'`).join(", ")}]::uuid[]`;
  const monthTasks = [];
  for (let m = 1; m <= N.auditMonths; m++) {
    monthTasks.push(async () => {
      const w = await connect(url, bulk);
      try {
        await w.query(
          `with p as (select (date_trunc('month', now() at time zone 'UTC') - make_interval(months => ${m})) at time zone 'UTC' as t0,
                             (date_trunc('month', now() at time zone 'UTC') - make_interval(months => ${m - 1})) at time zone 'UTC' as t1,
                             ${orgArray} as orgs)
           insert into audit.log (occurred_at, chain_id, chain_seq, operation, table_schema, table_name, row_id, organization_id,
                                  changed_fields, actor_id, actor_role, prev_hash, row_hash)
           select p.t0 + (p.t1 - p.t0) * ((g - 0.5) / ${perMonth}),
                  'org:' || p.orgs[1 + g % 20],
                  ${m * perMonth}::bigint + g,
                  (array['INSERT', 'UPDATE', 'UPDATE', 'DELETE'])[1 + g % 4],
                  'app',
                  (array['patients', 'appointments', 'mood_entries', 'measurements', 'documents', 'patient_consents', 'waitlist_entries', 'patient_food_log'])[1 + (g / 7) % 8],
                  md5(g::text || '-${m}'),
                  p.orgs[1 + g % 20],
                  '{status,updated_at}',
                  md5(((g * 31) % 5000)::text)::uuid,
                  'authenticated',
                  sha256(int8send(g * 100 + ${m})), sha256(int8send(g * 100 + ${m} + 1))
             from p, generate_series(1, ${perMonth}) g`,
        );
      } finally {
        await w.end();
      }
      monthTasks.done = (monthTasks.done ?? 0) + perMonth;
      progress("audit.log", monthTasks.done, perMonth * N.auditMonths, s);
    });
  }
  await parallel(monthTasks, lanes);
  out.auditRowsPerSecond = (perMonth * N.auditMonths) / ((performance.now() - s) / 1000);

  // The same audit rows in one plain table, with the index the queries can use.
  s = performance.now();
  await c.query("create schema if not exists bench");
  await c.query("drop table if exists bench.audit_log_flat");
  await c.query("create table bench.audit_log_flat (like audit.log including defaults)");
  const flatTasks = [];
  for (let m = 1; m <= N.auditMonths; m++) {
    flatTasks.push(async () => {
      const w = await connect(url, bulk);
      try {
        await w.query(
          `insert into bench.audit_log_flat select * from audit.log
            where occurred_at >= (date_trunc('month', now() at time zone 'UTC') - make_interval(months => ${m})) at time zone 'UTC'
              and occurred_at <  (date_trunc('month', now() at time zone 'UTC') - make_interval(months => ${m - 1})) at time zone 'UTC'`,
        );
      } finally {
        await w.end();
      }
      flatTasks.done = (flatTasks.done ?? 0) + perMonth;
      progress("unpartitioned copy", flatTasks.done, perMonth * N.auditMonths, s);
    });
  }
  await parallel(flatTasks, lanes);
  s = performance.now();
  await c.query("create index audit_log_flat_organization_idx on bench.audit_log_flat (organization_id, occurred_at) where organization_id is not null");
  say(`  index on the copy       ${((performance.now() - s) / 1000).toFixed(0)} s`);

  s = performance.now();
  await c.query("analyze");
  say(`  analyze                 ${((performance.now() - s) / 1000).toFixed(0)} s`);
  await c.end();
  out.loadSeconds = (performance.now() - started) / 1000;
  say(`  load done in ${out.loadSeconds.toFixed(0)} s (${elapsed()} since start)`);
}

// ---------------------------------------------------------------------------------------------
// Partitions

async function benchPartitions(url, out) {
  say("\npartitions: one month of audit.log, partitioned vs the same rows in one table");
  // Both as the superuser (no row-level security on either side; the copy lives outside the
  // managed schemas), same session settings.
  const su = await connect(url);
  const c = su;
  try {
    const month = await c.query(
      `select (date_trunc('month', now() at time zone 'UTC') - interval '6 months') at time zone 'UTC' as t0,
              (date_trunc('month', now() at time zone 'UTC') - interval '5 months') at time zone 'UTC' as t1`,
    );
    const { t0, t1 } = month.rows[0];
    const report = (t) => `select table_name, operation, count(*) as entries, min(occurred_at), max(occurred_at)
                             from ${t} where occurred_at >= $1 and occurred_at < $2 group by 1, 2 order by 1, 2`;
    const accounting = (t) => `select occurred_at, table_name, row_id, operation, actor_id
                                 from ${t} where organization_id = $3 and occurred_at >= $1 and occurred_at < $2 order by occurred_at`;
    const params = [t0, t1];
    const parts = await c.query("select count(*)::int as n from pg_inherits where inhparent = 'audit.log'::regclass");
    const plan = await planFacts(c, report("audit.log"), params);
    const planFlat = await planFacts(su, report("bench.audit_log_flat"), params);
    say(`  EXPLAIN (month ${t0.toISOString().slice(0, 7)}): partitioned scans ${plan.relations.length} of ${parts.rows[0].n} partitions (${plan.relations.join(", ")}); unpartitioned: ${planFlat.nodes.filter((n) => /Scan/.test(n)).join(", ")} on ${planFlat.relations.join(", ")}`);
    out.partitionsScanned = `${plan.relations.length} of ${parts.rows[0].n}`;

    const rPart = await timeQuery(c, report("audit.log"), params, 5, 1);
    const rFlat = await timeQuery(su, report("bench.audit_log_flat"), params, 5, 1);
    const aParams = [t0, t1, ORG(7)];
    const aPart = await timeQuery(c, accounting("audit.log"), aParams, 5, 1);
    const aFlat = await timeQuery(su, accounting("bench.audit_log_flat"), aParams, 5, 1);
    const aPlan = await planFacts(c, accounting("audit.log"), aParams);
    const aPlanFlat = await planFacts(su, accounting("bench.audit_log_flat"), aParams);
    say(
      lib.table(
        ["query (one month)", "partitioned", "unpartitioned", "speed-up", "rows", "plan (partitioned / unpartitioned)"],
        [
          ["monthly report: all entries, grouped", ms(rPart.ms), ms(rFlat.ms), ratio(rFlat.ms, rPart.ms), fmtN(rPart.rows), `${plan.nodes.filter((n) => /Scan/.test(n)).join("+")} / ${planFlat.nodes.filter((n) => /Scan/.test(n)).join("+")}`],
          ["one organization's entries (index)", ms(aPart.ms), ms(aFlat.ms), ratio(aFlat.ms, aPart.ms), fmtN(aPart.rows), `${aPlan.indexes.join(",")} / ${aPlanFlat.indexes.join(",")}`],
        ],
        "lrrrrl",
      ),
    );
    out.partitions = { report: { part: rPart.ms, flat: rFlat.ms, rows: rPart.rows }, accounting: { part: aPart.ms, flat: aFlat.ms, rows: aPart.rows } };
    const sizes = await su.query(
      `select pg_size_pretty(sum(total_bytes)) as partitioned, pg_size_pretty(pg_total_relation_size('bench.audit_log_flat')) as flat,
              count(*)::int as partitions
         from logs.partition_sizes where parent_schema = 'audit' and parent_table = 'log'`,
    );
    say(`  sizes: audit.log ${sizes.rows[0].partitioned} in ${sizes.rows[0].partitions} partitions (5 indexes each); the copy ${sizes.rows[0].flat} (1 index)`);
  } finally {
    await su.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Dashboards: materialized views vs live

async function benchDashboards(url, out) {
  say("\ndashboards: materialized view read vs the same aggregate computed live (one request)");
  const c = await connect(url, ["set role phi_owner"]);
  try {
    let s = performance.now();
    const refresh = await c.query("select view_name, refresh_mode, row_count, duration_ms from app.refresh_materialized_views()");
    say(`  refresh of all views (concurrently): ${((performance.now() - s) / 1000).toFixed(1)} s`);
    say(lib.table(["view", "rows", "refresh"], refresh.rows.map((r) => [r.view_name, fmtN(r.row_count), ms(Number(r.duration_ms))]), "lrr"));
    out.refresh = refresh.rows;

    const org = ORG(3);
    const patient = (await c.query(`select patient_id from analytics_private.patient_mood_summary where organization_id = $1 order by entries_90_days desc limit 1`, [org])).rows[0].patient_id;
    const cases = [
      {
        name: "organization dashboard (one org)",
        mv: ["select * from analytics_private.organization_dashboard where organization_id = $1", [org]],
        live: [
          `with appointments as (
             select count(*) filter (where a.start_time >= now() and a.status in ('scheduled', 'confirmed')) as upcoming_7_days,
                    count(*) filter (where a.start_time < now()) as past_30_days,
                    count(*) filter (where a.start_time < now() and a.status = 'completed') as completed_30_days,
                    count(*) filter (where a.start_time < now() and a.status = 'no_show') as no_show_30_days,
                    count(*) filter (where a.start_time < now() and a.status = 'cancelled') as cancelled_30_days,
                    count(*) filter (where a.start_time < now() and a.modality = 'telehealth') as telehealth_30_days
               from app.appointments a
              where a.organization_id = $1 and a.start_time >= now() - interval '30 days' and a.start_time < now() + interval '7 days'),
           patients as (select count(*) filter (where status = 'active') as active, count(*) filter (where created_at >= now() - interval '30 days') as new_30
                          from app.patients where organization_id = $1),
           providers as (select count(*) filter (where status = 'active') as active, count(*) filter (where status = 'active' and telehealth) as tele
                           from app.providers where organization_id = $1),
           waitlist as (select count(*) as n from app.waitlist_entries where organization_id = $1 and status = 'active'),
           mood as (select count(*) as entries, count(distinct patient_id) as patients, round(avg(mood_score), 2) as avg
                      from app.mood_entries where organization_id = $1 and recorded_at >= now() - interval '30 days'),
           documents as (select count(*) as n, coalesce(sum(size_bytes), 0) as bytes from app.documents where organization_id = $1 and status <> 'deleted')
           select o.id, o.name, pa.active, pa.new_30, pr.active, pr.tele, a.*, w.n, m.entries, m.patients, m.avg, d.n, d.bytes
             from tenant.organizations o, appointments a, patients pa, providers pr, waitlist w, mood m, documents d
            where o.id = $1`,
          [org],
        ],
      },
      {
        name: "provider availability (one org)",
        mv: ["select * from analytics_private.provider_availability where organization_id = $1 order by next_available nulls last limit 50", [org]],
        live: [
          `select p.organization_id, p.id, p.first_name, p.last_name, p.specialties, p.telehealth, count(s.id) as available_slots,
                  count(s.id) filter (where s.starts_at < now() + interval '7 days') as week, count(s.id) filter (where s.modality = 'telehealth') as tele,
                  min(s.starts_at) as next_available
             from app.providers p
             left join app.appointment_slots s on s.provider_id = p.id and s.organization_id = p.organization_id and s.status = 'available' and s.starts_at > now()
            where p.status = 'active' and p.organization_id = $1
            group by p.id order by next_available nulls last limit 50`,
          [org],
        ],
      },
      {
        name: "top providers (one org, one specialty)",
        mv: ["select * from analytics_private.top_providers where organization_id = $1 and specialty = 'psychiatry' and rank_in_specialty <= 10 order by rank_in_specialty", [org]],
        live: [
          `with completed as (
             select a.provider_id, count(*) as completed, count(distinct a.patient_id) as patients
               from app.appointments a
              where a.organization_id = $1 and a.status = 'completed' and a.start_time >= now() - interval '90 days' and a.start_time < now()
              group by a.provider_id)
           select * from (
             select p.id, p.first_name, p.last_name, coalesce(c.completed, 0) as completed, coalesce(c.patients, 0) as patients,
                    rank() over (order by coalesce(c.completed, 0) desc) as rank_in_specialty
               from app.providers p left join completed c on c.provider_id = p.id
              where p.organization_id = $1 and p.status = 'active' and 'psychiatry' = any (p.specialties)) x
            where rank_in_specialty <= 10 order by rank_in_specialty`,
          [org],
        ],
      },
      {
        name: "patient mood summary (one patient)",
        mv: ["select * from analytics_private.patient_mood_summary where patient_id = $1", [patient]],
        live: [
          `with recent as (select mood_score, recorded_at, (recorded_at at time zone 'UTC')::date as day from app.mood_entries
                            where patient_id = $1 and recorded_at >= now() - interval '90 days'),
           runs as (select day, day - (row_number() over (order by day))::integer as run from (select distinct day from recent) d),
           streak as (select count(*) as days from runs group by run having max(day) >= (now() at time zone 'UTC')::date - 1)
           select round(avg(mood_score) filter (where recorded_at >= now() - interval '7 days'), 2),
                  round(avg(mood_score) filter (where recorded_at >= now() - interval '30 days'), 2),
                  count(*) filter (where recorded_at >= now() - interval '7 days'), count(*) filter (where recorded_at >= now() - interval '30 days'),
                  count(*), max(recorded_at), coalesce((select max(days) from streak), 0)
             from recent`,
          [patient],
        ],
      },
      {
        name: "research: weekly mood (all weeks)",
        mv: ["select * from analytics.mood_weekly order by week_start", []],
        live: [
          `select date_trunc('week', recorded_at at time zone 'UTC')::date, count(distinct patient_id), count(*), round(avg(mood_score), 2), round(stddev_samp(mood_score), 2)
             from app.mood_entries where recorded_at < now() group by 1 having count(distinct patient_id) >= 11 order by 1`,
          [],
        ],
      },
      {
        name: "research: appointment volume (all months)",
        mv: ["select * from analytics.appointment_volume_monthly order by month", []],
        live: [
          `select date_trunc('month', start_time at time zone 'UTC')::date as month, appointment_type, modality, status, count(*),
                  count(distinct patient_id), count(distinct provider_id)
             from app.appointments where start_time < now() group by 1, 2, 3, 4 having count(distinct patient_id) >= 11 order by 1`,
          [],
        ],
      },
    ];
    const rows = [];
    out.dashboards = [];
    for (const k of cases) {
      const mv = await timeQuery(c, k.mv[0], k.mv[1], 20, 2);
      const live = await timeQuery(c, k.live[0], k.live[1], 3, 1);
      rows.push([k.name, ms(mv.ms), ms(live.ms), ratio(live.ms, mv.ms)]);
      out.dashboards.push({ name: k.name, mv: mv.ms, live: live.ms });
    }
    say(lib.table(["request", "materialized", "live", "speed-up"], rows, "lrrr"));
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Audited inserts

async function insertPhase(url, label, orgFor, seconds) {
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const org = orgFor(i);
    const orgIndex = Number(org.slice(-12));
    const c = await connect(url, [
      "set role phi_owner",
      `select set_config('request.jwt.claims', '${JSON.stringify({ sub: `a9000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`, role: "authenticated", org_id: org, session_id: `bench-${i}` })}', false)`,
      `select set_config('request.client_ip', '198.51.100.${i + 1}', false)`,
    ]);
    clients.push({ c, orgIndex, org });
  }
  const deadline = performance.now() + seconds * 1000;
  const latencies = [];
  let total = 0;
  await Promise.all(
    clients.map(async ({ c, orgIndex, org }, i) => {
      let k = 0;
      while (performance.now() < deadline) {
        const patientNo = orgIndex + 20 * ((k * 7 + i * 1013) % Math.floor(N.patients / 20));
        const s = performance.now();
        await c.query({
          name: "bench-insert",
          text: "insert into app.mood_entries (organization_id, patient_id, mood_score, recorded_at) values ($1, $2, $3, now())",
          values: [org, `c9000000-0000-4000-8000-${String(patientNo).padStart(12, "0")}`, 1 + (k % 10)],
        });
        latencies.push(performance.now() - s);
        k++;
        total++;
      }
    }),
  );
  for (const { c } of clients) await c.end();
  const rate = total / seconds;
  return { label, rate, p50: percentile(latencies, 50), p95: percentile(latencies, 95), total };
}

/**
 * The floor of any per-row audit trail: a statement trigger that appends one audit.log row per
 * inserted row with a single INSERT ... SELECT and nothing else (no chain head, no hash: the
 * entries are not evidence). Created only in the bench database, on app.mood_entries.
 */
const UNCHAINED_FLOOR = `
create function audit.bench_unchained_floor() returns trigger language plpgsql security definer set search_path = '' as $fn$
begin
  insert into audit.log (id, table_schema, table_name, operation, row_id, organization_id, changed_fields, actor_id, actor_role,
                         db_user, client_ip_hash, session_id, transaction_id, chain_id, chain_seq, prev_hash, row_hash, occurred_at, created_at)
  select gen_random_uuid(), tg_table_schema, tg_table_name, tg_op, n.id::text, n.organization_id,
         array['mood_score', 'organization_id', 'patient_id', 'recorded_at'], auth.uid(), current_user, session_user,
         null, auth.session_id(), pg_current_xact_id(), 'instance', 1, decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'),
         clock_timestamp(), clock_timestamp()
    from new_rows n;
  return null;
end
$fn$;
create trigger bench_unchained_floor after insert on app.mood_entries referencing new table as new_rows
  for each statement execute function audit.bench_unchained_floor();
alter table app.mood_entries disable trigger bench_unchained_floor;`;

async function benchInserts(url, out) {
  say(`\naudited inserts: app.mood_entries, ${CLIENTS} concurrent clients, one row per transaction, ${SECONDS} s per variant`);
  const su = await connect(url);
  const trigger = async (name, on) => su.query(`alter table app.mood_entries ${on ? "enable" : "disable"} trigger ${name}`);
  const durability = async (on) => {
    for (const [k, v] of Object.entries({ fsync: on, synchronous_commit: on, full_page_writes: on })) await su.query(`alter system set ${k} = ${v ? "on" : "off"}`);
    await su.query("select pg_reload_conf()");
    await su.query("checkpoint");
  };
  try {
    await su.query(UNCHAINED_FLOOR);
    const phase = async (durable) => {
      await su.query("checkpoint");
      await trigger("audit_insert", false);
      const plain = await insertPhase(url, "without audit trigger", (i) => ORG(1 + (i % 20)), SECONDS);
      await trigger("bench_unchained_floor", true);
      const floor = await insertPhase(url, "floor: one unchained audit row (no chain, no hash)", (i) => ORG(1 + (i % 20)), SECONDS);
      await trigger("bench_unchained_floor", false);
      await trigger("audit_insert", true);
      const distinct = await insertPhase(url, "audited, one organization (chain) per client", (i) => ORG(1 + (i % 20)), SECONDS);
      const shared = durable ? undefined : await insertPhase(url, "audited, all clients one organization", () => ORG(1), SECONDS);
      const variants = [plain, floor, distinct, shared].filter(Boolean);
      say(lib.table(["variant", "rows/s", "vs plain", "p50", "p95"], variants.map((p) => [p.label, fmtN(Math.round(p.rate)), ratio(p.rate, plain.rate).replace("x", "×"), ms(p.p50), ms(p.p95)]), "lrrrr"));
      return { plain, floor, distinct, shared };
    };
    say("  commits without fsync (the embedded server's settings): CPU-bound");
    out.inserts = await phase(false);
    if (out.embedded) {
      say("  durable commits (fsync, synchronous_commit and full_page_writes on, as on every RDS instance; this machine's disk)");
      await durability(true);
      try {
        out.insertsDurable = await phase(true);
      } finally {
        await durability(false);
      }
    }

    // Where an audited insert spends its time: one client, pg_stat_statements with track = all
    // (statements inside the trigger are counted too), the same inserts with and without the trigger.
    const profile = async (org, n) => {
      await su.query("select extensions.pg_stat_statements_reset()");
      const prof = await connect(url, [
        "set pg_stat_statements.track = 'all'",
        "set role phi_owner",
        `select set_config('request.jwt.claims', '{"sub": "a9000000-0000-4000-8000-000000000099", "role": "authenticated", "org_id": "${ORG(org)}"}', false)`,
        "select set_config('request.client_ip', '198.51.100.99', false)",
      ]);
      for (let k = 0; k < n; k++) {
        await prof.query({
          name: "bench-profile",
          text: "insert into app.mood_entries (organization_id, patient_id, mood_score, recorded_at) values ($1, $2, 5, now())",
          values: [ORG(org), `c9000000-0000-4000-8000-${String(org + 20 * (k % Math.min(500, Math.floor(N.patients / 20)))).padStart(12, "0")}`],
        });
      }
      await prof.end();
      const whole = await su.query(
        `select round((1000 * total_exec_time / calls)::numeric, 1) as us from extensions.pg_stat_statements
          where query like 'insert into app.mood_entries%' and toplevel and calls >= ${n} order by calls desc limit 1`,
      );
      const nested = await su.query(
        `select regexp_replace(left(query, 100), '\\s+', ' ', 'g') as q, calls, round(total_exec_time::numeric, 1) as ms,
                round((1000 * total_exec_time / nullif(calls, 0))::numeric, 1) as us_per_call
           from extensions.pg_stat_statements
          where dbid = (select oid from pg_database where datname = current_database()) and calls >= ${n} and toplevel = false
          order by total_exec_time desc limit 12`,
      );
      return { us: Number(whole.rows[0]?.us), nested: nested.rows };
    };
    const n = 2000;
    await su.query("alter table app.mood_entries disable trigger audit_insert");
    const plainProfile = await profile(10, n);
    await su.query("alter table app.mood_entries enable trigger audit_insert");
    const auditedProfile = await profile(9, n);
    say(`  server time of one insert (single client, ${fmtN(n)} inserts): ${plainProfile.us} µs without the audit trigger, ${auditedProfile.us} µs with it; inside the trigger (track = all):`);
    const top = { rows: auditedProfile.nested };
    const whole = { rows: [{ us: auditedProfile.us }] };
    out.profilePlainUs = plainProfile.us;
    say(lib.table(["statement inside audit.log_statement()", "calls", "total", "µs/call"], top.rows.map((r) => [r.q, fmtN(r.calls), ms(Number(r.ms)), r.us_per_call]), "lrrr"));
    out.profile = { perInsertUs: Number(whole.rows[0]?.us), top: top.rows };
  } finally {
    await su.query("alter table app.mood_entries enable trigger audit_insert").catch(() => undefined);
    await su.query("drop trigger if exists bench_unchained_floor on app.mood_entries; drop function if exists audit.bench_unchained_floor()").catch(() => undefined);
    await su.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Search

/**
 * Multi-row statements on an audited table: one INSERT ... SELECT of n rows in one transaction
 * (rolled back), with and without the audit trigger. The row trigger advances the chain head once
 * per row, and every further update of the same head row in one transaction walks the versions
 * that transaction already made, so the cost per row grows with n.
 */
async function benchBulk(url, out) {
  say("\nbulk statements: one INSERT ... SELECT of n rows into app.mood_entries, one transaction (rolled back)");
  const c = await connect(url, [
    "set role phi_owner",
    `select set_config('request.jwt.claims', '{"sub": "a9000000-0000-4000-8000-000000000098", "role": "authenticated"}', false)`,
  ]);
  const rows = [];
  try {
    for (const n of [1000, 4000, 8000]) {
      const per = {};
      for (const audited of [false, true]) {
        await c.query("begin");
        if (!audited) {
          await c.query("reset role");
          await c.query("alter table app.mood_entries disable trigger audit_insert");
          await c.query("set role phi_owner");
        }
        const s = performance.now();
        await c.query(
          `insert into app.mood_entries (organization_id, patient_id, mood_score, recorded_at)
           select $1, ('c9000000-0000-4000-8000-' || lpad((2 + 20 * (g % $3))::text, 12, '0'))::uuid, 1 + g % 10, now() - g * interval '1 second'
             from generate_series(1, $2) g`,
          [ORG(2), n, Math.max(1, Math.floor(N.patients / 20))],
        );
        per[audited ? "audited" : "plain"] = performance.now() - s;
        await c.query("rollback");
      }
      rows.push([fmtN(n), ms(per.plain), ms(per.audited), `${((1000 * per.audited) / n).toFixed(0)} µs`]);
      (out.bulk ??= []).push({ n, plainMs: per.plain, auditedMs: per.audited });
    }
    say(lib.table(["rows in the statement", "without trigger", "audited", "audited per row"], rows, "rrrr"));
  } finally {
    await c.end();
  }
}

async function benchSearch(url, out) {
  say("\nsearch: 300 requests each, random terms, p50 / p95 (as the owner; RLS owner policy)");
  const c = await connect(url, ["set role phi_owner"]);
  try {
    const terms = [];
    for (let i = 0; i < 300; i++) {
      const f = FIRST[(i * 7) % FIRST.length];
      const l = LAST[(i * 11) % LAST.length];
      terms.push(i % 3 === 0 ? l.slice(0, 3) : i % 3 === 1 ? `${f.slice(0, 2)} ${l.slice(0, 4)}` : `${l}`);
    }
    const fts = await planFacts(c, "select * from app.search_patients($1, 20)", ["smi"]);
    const spec = await planFacts(c, "select id, first_name, last_name from app.providers where telehealth and specialties @> array[$1]::text[]", ["psychiatry"]);
    const run = async (sql, args) => {
      const times = [];
      let rows = 0;
      for (const a of args) {
        const s = performance.now();
        const r = await c.query(sql, a);
        times.push(performance.now() - s);
        rows += r.rowCount;
      }
      return { p50: percentile(times, 50), p95: percentile(times, 95), avgRows: rows / args.length };
    };
    await run("select * from app.search_patients($1, 20)", terms.slice(0, 20).map((t) => [t]));
    const a = await run("select * from app.search_patients($1, 20)", terms.map((t) => [t]));
    const b = await run(
      "select id, first_name, last_name from app.providers where telehealth and specialties @> array[$1]::text[]",
      terms.map((_, i) => [SPECIALTIES[i % SPECIALTIES.length]]),
    );
    say(
      lib.table(
        ["search", "index used", "p50", "p95", "rows/request"],
        [
          [`patients by name/e-mail prefix (${fmtN(N.patients)} patients, limit 20)`, fts.indexes.join(", ") || "none", ms(a.p50), ms(a.p95), a.avgRows.toFixed(1)],
          [`telehealth providers by specialty (${fmtN(N.providers)} providers)`, spec.indexes.join(", ") || "none (seq scan)", ms(b.p50), ms(b.p95), b.avgRows.toFixed(1)],
        ],
        "llrrr",
      ),
    );
    out.search = { fts: { ...a, index: fts.indexes }, specialty: { ...b, index: spec.indexes } };
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const server = await startServer();
  const stop = () => server.stop().catch(() => undefined);
  for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => stop().then(() => process.exit(130)));
  const out = { embedded: server.embedded };
  try {
    const cpus = os.cpus();
    say(
      `machine: ${cpus.length} cores (${cpus[0]?.model?.trim() ?? "unknown cpu"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}; ` +
        `server: PostgreSQL ${await lib.serverVersion(server.adminUrl)}${server.embedded ? " (embedded, fsync off, synchronous_commit off)" : " (DATABASE_URL)"}`,
    );
    if (server.settings) say(`settings: ${Object.entries(server.settings).map(([k, v]) => `${k}=${v}`).join(", ")}`);
    say(`scale ${SCALE}: ${fmtN(N.audit)} audit rows over ${N.auditMonths} months, ${fmtN(N.appointments)} appointments, ${fmtN(N.patients)} patients, ${fmtN(N.providers)} providers, ${fmtN(N.mood)} mood entries`);
    const db = await lib.createDatabase(server.adminUrl, "phi_perf");
    try {
      let s = performance.now();
      const applied = await applyPlatform(db.url);
      say(`platform applied: ${applied.applied.length} migrations, ${applied.repeatables.length} repeatables, checks ${applied.checks.every((x) => x.ok) ? "ok" : "FAILED"} (${((performance.now() - s) / 1000).toFixed(1)} s)${WITH_POLICIES ? "" : "; sql/policies left out"}`);
      await load(db.url, out);
      await benchPartitions(db.url, out);
      await benchDashboards(db.url, out);
      await benchInserts(db.url, out);
      await benchBulk(db.url, out);
      await benchSearch(db.url, out);

      say("\nsummary (ratios side by side)");
      const d = out.dashboards ?? [];
      const minDash = d.length ? Math.min(...d.map((x) => x.live / x.mv)) : 0;
      say(
        lib.table(
          ["measure", "baseline", "with the layer", "ratio", "target"],
          [
            ["one-month audit report: unpartitioned vs partitioned", ms(out.partitions.report.flat), ms(out.partitions.report.part), ratio(out.partitions.report.flat, out.partitions.report.part), `scan 1 partition (${out.partitionsScanned})`],
            ["one-month org accounting (indexed both ways)", ms(out.partitions.accounting.flat), ms(out.partitions.accounting.part), ratio(out.partitions.accounting.flat, out.partitions.accounting.part), "-"],
            ...d.map((x) => [`dashboard: ${x.name}`, ms(x.live), ms(x.mv), ratio(x.live, x.mv), ">= 10x"]),
            ["audited insert (distinct chains) vs no trigger", `${fmtN(Math.round(out.inserts.plain.rate))}/s`, `${fmtN(Math.round(out.inserts.distinct.rate))}/s`, (out.inserts.distinct.rate / out.inserts.plain.rate).toFixed(2) + "x", ">= 0.5x"],
            ["audited insert (one shared chain) vs no trigger", `${fmtN(Math.round(out.inserts.plain.rate))}/s`, `${fmtN(Math.round(out.inserts.shared.rate))}/s`, (out.inserts.shared.rate / out.inserts.plain.rate).toFixed(2) + "x", "-"],
            ["floor: one unchained audit row vs no trigger", `${fmtN(Math.round(out.inserts.plain.rate))}/s`, `${fmtN(Math.round(out.inserts.floor.rate))}/s`, (out.inserts.floor.rate / out.inserts.plain.rate).toFixed(2) + "x", "-"],
            ...(out.insertsDurable
              ? [["audited insert, durable commits, vs no trigger", `${fmtN(Math.round(out.insertsDurable.plain.rate))}/s`, `${fmtN(Math.round(out.insertsDurable.distinct.rate))}/s`, (out.insertsDurable.distinct.rate / out.insertsDurable.plain.rate).toFixed(2) + "x", ">= 0.5x"]]
              : []),
            ["patient search p50 / p95", "-", `${ms(out.search.fts.p50)} / ${ms(out.search.fts.p95)}`, "-", "< 100 ms"],
            ["specialty search p50 / p95", "-", `${ms(out.search.specialty.p50)} / ${ms(out.search.specialty.p95)}`, "-", "< 100 ms"],
          ],
          "lrrrl",
        ),
      );
      say(`smallest dashboard speed-up: ${minDash.toFixed(1)}x`);
      if (process.env.BENCH_PERF_JSON) fs.writeFileSync(process.env.BENCH_PERF_JSON, JSON.stringify({ scale: SCALE, clients: CLIENTS, seconds: SECONDS, ...out }, null, 2));
    } finally {
      if (KEEP) say(`kept database: ${db.url.replace(/:[^:@/]*@/, ":***@")}`);
      else await db.drop().catch(() => undefined);
    }
  } finally {
    await stop();
  }
  say(`\nperf bench done in ${elapsed()}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

module.exports = { main };
