"use strict";
/**
 * bench/rls.js — what row-level security costs on a realistic table: 1,000,000 appointments
 * (monthly partitions), 50,000 patients, 500 providers in one organization.
 *
 * For a patient's and a provider's typical reads it times the query
 *   (a) through RLS as `authenticated` with the claims the API sets, WITHOUT a WHERE on the caller
 *       (the policies alone decide the rows),
 *   (b) through RLS WITH the explicit WHERE the application sends anyway,
 *   (c) the same query with an explicit WHERE as a BYPASSRLS role created for this benchmark only,
 * and prints the medians, the ratios (a)/(c) and (b)/(c), and the EXPLAIN plan of (a), in which the
 * policy helpers must appear as InitPlans (evaluated once per statement, not per row).
 * Then the same three as server-side executor time (a PL/pgSQL loop, no client round trip), and (a)
 * and (b) once more with only the caller's own SELECT policy on the table: the cost one policy set per
 * audience would have, next to today's one `authenticated` role whose every policy applies to everyone.
 *
 *   npm run build && node bench/rls.js            # embedded PostgreSQL 17 in a temp folder
 *   DATABASE_URL=postgres://... node bench/rls.js  # any server where the URL may CREATE DATABASE / ROLE
 *   RLS_BENCH_ROWS=200000 node bench/rls.js       # a smaller run (RLS_BENCH_KEEP=1 keeps the database,
 *                                                  RLS_BENCH_DB=<name> times it again without regenerating the
 *                                                  data; pending files are applied first;
 *                                                  RLS_BENCH_SERVER_LOOPS=2000 runs per server-side figure)
 *
 * A script that prints figures, not a test: nothing here asserts a duration. Runs in a few minutes.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const ROWS = Number(process.env.RLS_BENCH_ROWS ?? 1000000);
const PATIENTS = Math.max(1000, Math.round(ROWS / 20));
const PROVIDERS = Math.max(20, Math.round(ROWS / 2000));
const ITERATIONS = Number(process.env.RLS_BENCH_ITERATIONS ?? 200);
const SERVER_LOOPS = Number(process.env.RLS_BENCH_SERVER_LOOPS ?? 2000);
const ORG = "b0b0b0b0-0000-4000-8000-000000000001";
const BYPASS = "phi_bench_bypassrls";

function dist(rel) {
  const p = path.join(ROOT, "dist", rel);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run 'npm run build' first`);
  return require(p);
}

const log = (s) => process.stderr.write(`rls-bench: ${s}\n`);

async function server() {
  if (process.env.DATABASE_URL) return { adminUrl: process.env.DATABASE_URL, stop: async () => undefined };
  const { startEmbedded, stopEmbedded } = dist("cli/embedded.js");
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-rls-bench-"));
  fs.chmodSync(base, 0o755); // as root the server runs as `postgres`, which must reach it
  log(`starting an embedded PostgreSQL in ${base} ...`);
  const s = await startEmbedded({ baseDir: path.join(base, "server"), log });
  return {
    adminUrl: s.adminUrl,
    stop: async () => {
      try {
        stopEmbedded(path.join(base, "server"), "immediate");
      } finally {
        fs.rmSync(base, { recursive: true, force: true });
      }
    },
  };
}

const urlFor = (adminUrl, db) => {
  const u = new URL(adminUrl);
  u.pathname = "/" + db;
  return u.toString();
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function p95(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))];
}

/** Generates the data as the superuser, triggers off (session_replication_role = replica): bench DB only. */
function dataSql() {
  const md = (prefix, expr) => `md5('${prefix}' || (${expr}))::uuid`;
  return [
    "set session_replication_role = replica",
    `insert into tenant.organizations (id, name, slug) values ('${ORG}', 'Bench clinic (synthetic)', 'bench-clinic')`,
    `insert into app.profiles (id, email) select ${md("prov", "g")}, 'prov' || g || '@bench.example' from generate_series(1, ${PROVIDERS}) g`,
    `insert into tenant.organization_members (organization_id, user_id, user_type, joined_at) select '${ORG}', ${md("prov", "g")}, 'provider', now() from generate_series(1, ${PROVIDERS}) g`,
    `insert into app.providers (id, organization_id, profile_id, first_name, last_name)
       select ${md("provrec", "g")}, '${ORG}', ${md("prov", "g")}, 'Bench', 'Provider ' || g from generate_series(1, ${PROVIDERS}) g`,
    `insert into app.profiles (id, email) select ${md("pat", "g")}, 'pat' || g || '@bench.example' from generate_series(1, ${PATIENTS}) g`,
    `insert into tenant.organization_members (organization_id, user_id, user_type, joined_at) select '${ORG}', ${md("pat", "g")}, 'patient', now() from generate_series(1, ${PATIENTS}) g`,
    `insert into app.patients (id, organization_id, profile_id, first_name, last_name)
       select ${md("patrec", "g")}, '${ORG}', ${md("pat", "g")}, 'Bench', 'Patient ' || g from generate_series(1, ${PATIENTS}) g`,
    // Each patient: ~20 appointments, mostly with one "home" provider, one in five with another;
    // spread over the 20 monthly partitions (1 month back .. 18 ahead); one in ten cancelled.
    `insert into app.appointments (id, start_time, end_time, organization_id, patient_id, provider_id, appointment_type, status, modality)
       select gen_random_uuid(), t.s, t.s + interval '30 minutes', '${ORG}',
              ${md("patrec", `g % ${PATIENTS} + 1`)},
              ${md("provrec", `case when g % 5 = 0 then (g * 7) % ${PROVIDERS} else (g % ${PATIENTS}) % ${PROVIDERS} end + 1`)},
              (array['consultation', 'follow_up', 'psychotherapy', 'telehealth', 'lab_review'])[g % 5 + 1],
              case when g % 10 = 0 then 'cancelled' when t.s < now() then 'completed' else 'scheduled' end,
              'telehealth'
         from generate_series(1, ${ROWS}) g,
              lateral (select (date_trunc('month', now() at time zone 'UTC') at time zone 'UTC') - interval '1 month'
                              + ((g::bigint * 7919) % (590 * 1440)) * interval '1 minute' as s) t`,
    "set session_replication_role = origin",
    "analyze",
  ];
}

const PATIENT_N = 42;
const PROVIDER_N = 7;

/** The reads: [name, caller, RLS-only SQL, explicit WHERE added to it]. */
function reads() {
  const md = (prefix, n) => `md5('${prefix}${n}')::uuid`;
  const patientRec = md("patrec", PATIENT_N);
  const providerRec = md("provrec", PROVIDER_N);
  return [
    {
      name: "patient: my next 20 appointments",
      who: md("pat", PATIENT_N),
      table: "app.appointments",
      audience: "patient",
      sql: (where) => `select id, start_time, provider_id, appointment_type, status from app.appointments
                        where start_time >= now() ${where} order by start_time limit 20`,
      where: `and patient_id = ${patientRec}`,
    },
    {
      name: "patient: my appointment history (last 50)",
      who: md("pat", PATIENT_N),
      table: "app.appointments",
      audience: "patient",
      sql: (where) => `select id, start_time, provider_id, appointment_type, status from app.appointments
                        where start_time < now() ${where} order by start_time desc limit 50`,
      where: `and patient_id = ${patientRec}`,
    },
    {
      name: "provider: my schedule for the next 7 days",
      who: md("prov", PROVIDER_N),
      table: "app.appointments",
      audience: "provider",
      sql: (where) => `select id, start_time, patient_id, appointment_type, status from app.appointments
                        where start_time >= now() and start_time < now() + interval '7 days' ${where} order by start_time`,
      where: `and provider_id = ${providerRec}`,
    },
    {
      name: "provider: my patients (first 50 by name)",
      who: md("prov", PROVIDER_N),
      table: "app.patients",
      audience: "provider",
      sql: (where) => `select id, first_name, last_name from app.patients ${where ? "where " + where : ""} order by last_name limit 50`,
      where: `id in (select a.patient_id from app.appointments a where a.provider_id = ${providerRec} and a.status <> 'cancelled')`,
    },
  ];
}

/**
 * Times `sql` n times (after 10 warm-up runs), each inside its own request transaction after
 * `setup` (role + claims). prepared = a named prepared statement (plan cached per connection, like
 * PostgREST's default), else the simple protocol (planned every time, like psql).
 */
let statementNo = 0;
async function time(client, setup, sql, n, prepared) {
  const out = [];
  const name = prepared ? `rls_bench_${++statementNo}` : undefined;
  for (let i = 0; i < n + 10; i++) {
    await client.query("begin");
    await setup();
    const t0 = process.hrtime.bigint();
    await client.query(prepared ? { name, text: sql } : sql);
    const t1 = process.hrtime.bigint();
    await client.query("commit");
    if (i >= 10) out.push(Number(t1 - t0) / 1e6); // first 10: warm-up
  }
  return out;
}

/**
 * The request setup the API performs, as a `setup` for time()/serverTime(): the claims of the fixture
 * user `who` (a SQL expression of its id) and SET LOCAL ROLE authenticated.
 */
async function asRequest(client, who) {
  const claims = JSON.stringify({ sub: (await client.query(`select ${who}::text as id`)).rows[0].id, role: "authenticated" });
  return async () => {
    await client.query("select set_config('request.jwt.claims', $1, true)", [claims]);
    await client.query("set local role authenticated");
  };
}

/**
 * Executor time of `sql` on the server, without the client round trip: a PL/pgSQL loop runs it n times
 * (at most n, fewer for a slow read; generic plan, as a prepared statement gets) in one request transaction after
 * `setup` (which may also run an ALTER POLICY as the superuser first), rolled back. Returns µs per run.
 */
async function serverTime(client, setup, sql, n) {
  await client.query("begin");
  try {
    await setup();
    // 20 warm-up runs (the plan becomes generic), then up to n runs, fewer for a slow read (~2 s each).
    await client.query(`do $loop$
      declare t0 timestamptz; v_n int;
      begin
        t0 := clock_timestamp();
        for i in 1 .. 20 loop perform count(*) from (${sql}) q; end loop;
        v_n := greatest(20, least(${n}, (2.0 * 20 / greatest(extract(epoch from clock_timestamp() - t0), 1e-6))::int));
        t0 := clock_timestamp();
        for i in 1 .. v_n loop perform count(*) from (${sql}) q; end loop;
        perform set_config('rls_bench.us', (extract(epoch from clock_timestamp() - t0) * 1e6 / v_n)::text, true);
      end $loop$`);
    return Number((await client.query("select current_setting('rls_bench.us') as us")).rows[0].us);
  } finally {
    await client.query("rollback");
  }
}

/**
 * For the "caller's policies only" variant: ALTER POLICY statements that hand every other permissive
 * SELECT policy of `table` for `authenticated` to the BYPASSRLS bench role (which never reads through
 * them), leaving the caller's own <audience>_select and the restrictive request guard. Rolled back.
 */
async function otherAudiences(client, table, audience) {
  const { rows } = await client.query(
    `select p.polname from pg_policy p
      where p.polrelid = $1::regclass and p.polpermissive and p.polcmd in ('r', '*')
        and 'authenticated'::regrole = any (p.polroles) and p.polname <> $2
      order by 1`,
    [table, `${audience}_select`],
  );
  return rows.map((r) => `alter policy ${r.polname} on ${table} to ${BYPASS}`);
}

/**
 * `1` (the empty statement), then every `(select <schema>.<function>())` that the SELECT policies of
 * app.appointments call (read from the catalog, so a new helper shows up here), each once.
 */
async function appointmentHelpers(client) {
  const { rows } = await client.query(
    `select distinct m[1] as call
       from pg_policy p,
            regexp_matches(pg_get_expr(p.polqual, p.polrelid), '\\(\\s*SELECT\\s+([a-z_]+\\.[a-z_]+\\([^()]*\\))', 'gi') as m
      where p.polrelid = 'app.appointments'::regclass and p.polcmd in ('r', '*')
        and 'authenticated'::regrole = any (p.polroles)
      order by 1`,
  );
  return ["1", ...rows.map((r) => `(select ${r.call})`)];
}

async function main() {
  const { Client } = require("pg");
  const { main: cli } = dist("cli/main.js");
  const srv = await server();
  const reuse = process.env.RLS_BENCH_DB; // a database kept by an earlier run (RLS_BENCH_KEEP=1)
  const db = reuse ?? `phi_rls_bench_${process.pid}`;
  const admin = new Client({ connectionString: srv.adminUrl });
  await admin.connect();
  let client;
  try {
    const url = urlFor(srv.adminUrl, db);
    if (!reuse) await admin.query(`create database ${db}`);
    // A reused database gets whatever changed since (e.g. an edited helper in sql/policies).
    log(`applying the platform (access model, migrations, functions, policies) to ${db} ...`);
    const io = { out: () => undefined, err: (s) => (/error|FAILED/i.test(s) ? log(s) : undefined) };
    const code = await cli(["up", "--env", "local", "--database-url", url, "--apply-access", "--dir", ROOT], io);
    if (code !== 0) throw new Error(`phi-db up exited ${code}`);
    client = new Client({ connectionString: url });
    await client.connect();
    const v = (await client.query("select current_setting('server_version') as v")).rows[0].v;
    if (!reuse) {
      log(`generating ${ROWS.toLocaleString("en")} appointments, ${PATIENTS.toLocaleString("en")} patients, ${PROVIDERS} providers ...`);
      const g0 = Date.now();
      for (const s of dataSql()) await client.query(s);
      log(`data generated in ${((Date.now() - g0) / 1000).toFixed(1)} s`);
    }

    // A BYPASSRLS reader, for this benchmark database only (dropped at the end).
    await admin.query(`do $$ begin if not exists (select from pg_roles where rolname = '${BYPASS}') then create role ${BYPASS} nologin bypassrls; end if; end $$`);
    await client.query(`grant usage on schema app to ${BYPASS}; grant select on all tables in schema app to ${BYPASS}`);

    const rows = [];
    for (const r of reads()) {
      const asUser = await asRequest(client, r.who);
      const asBypass = async () => client.query(`set local role ${BYPASS}`);
      const rlsOnly = r.sql("");
      const rlsAndWhere = r.sql(r.where);
      const explicit = r.sql(r.where);

      // Same answer three ways (ids compared, as the tests do).
      const ids = async (setup, sql) => {
        await client.query("begin");
        await setup();
        const x = await client.query(sql);
        await client.query("rollback");
        return x.rows.map((row) => row.id).join(",");
      };
      const [a, b, c] = [await ids(asUser, rlsOnly), await ids(asUser, rlsAndWhere), await ids(asBypass, explicit)];
      const same = a === c && b === c;

      const t = {};
      for (const mode of ["simple", "prepared"]) {
        const prepared = mode === "prepared";
        t[mode] = {
          a: await time(client, asUser, rlsOnly, ITERATIONS, prepared),
          b: await time(client, asUser, rlsAndWhere, ITERATIONS, prepared),
          c: await time(client, asBypass, explicit, ITERATIONS, prepared),
        };
      }
      await client.query("begin");
      await asUser();
      const plan = (await client.query(`explain (analyze, costs off, timing off, summary off) ${rlsOnly}`)).rows.map((x) => x["QUERY PLAN"]);
      await client.query("rollback");
      // Server-side executor time (no round trip), also with only the caller's own policies on the
      // table, i.e. what one policy set per audience (a database role per audience) would cost.
      const own = await otherAudiences(client, r.table, r.audience);
      const asUserOwnPolicies = async () => {
        for (const s of own) await client.query(s);
        await asUser();
      };
      const ownSame = (await ids(asUserOwnPolicies, rlsOnly)) === c && (await ids(asUserOwnPolicies, rlsAndWhere)) === c;
      const n = SERVER_LOOPS;
      const server = {
        c: await serverTime(client, asBypass, explicit, n),
        b: await serverTime(client, asUser, rlsAndWhere, n),
        a: await serverTime(client, asUser, rlsOnly, n),
        ownB: await serverTime(client, asUserOwnPolicies, rlsAndWhere, n),
        ownA: await serverTime(client, asUserOwnPolicies, rlsOnly, n),
        ownSame,
        others: own.length,
      };
      rows.push({ name: r.name, same, rows: a.split(",").filter(Boolean).length, t, plan, server });
    }

    // What each policy helper adds to a request: `select <helper>` alone, each in its own request
    // transaction (claims, SET LOCAL ROLE, statement, commit, as the reads above), the expressions
    // interleaved so that a noisy machine affects them alike. The first is the empty statement.
    const asPatient = await asRequest(client, reads()[0].who);
    const helperExprs = await appointmentHelpers(client);
    const perHelper = helperExprs.map(() => []);
    for (let i = 0; i < ITERATIONS + 10; i++) {
      for (const [k, e] of helperExprs.entries()) {
        await client.query("begin");
        await asPatient();
        const t0 = process.hrtime.bigint();
        await client.query({ name: `rls_bench_helper_${k}`, text: `select ${e}` });
        const t1 = process.hrtime.bigint();
        await client.query("commit");
        if (i >= 10) perHelper[k].push(Number(t1 - t0) / 1e3);
      }
    }

    console.log(`\nRLS benchmark: PostgreSQL ${v}, ${ROWS.toLocaleString("en")} appointments (monthly partitions), ${PATIENTS.toLocaleString("en")} patients, ${PROVIDERS} providers; ${ITERATIONS} runs each, medians in ms (query only, inside the request transaction)\n`);
    console.log("| read | rows | protocol | RLS only (a) | RLS + WHERE (b) | BYPASSRLS + WHERE (c) | a / c | b / c | same rows |");
    console.log("|---|---:|---|---:|---:|---:|---:|---:|---|");
    for (const r of rows) {
      for (const mode of ["prepared", "simple"]) {
        const x = r.t[mode];
        const [a, b, c] = [median(x.a), median(x.b), median(x.c)];
        console.log(`| ${r.name} | ${r.rows} | ${mode} | ${a.toFixed(3)} (p95 ${p95(x.a).toFixed(3)}) | ${b.toFixed(3)} | ${c.toFixed(3)} (p95 ${p95(x.c).toFixed(3)}) | ${(a / c).toFixed(2)}x | ${(b / c).toFixed(2)}x | ${r.same ? "yes" : "NO"} |`);
      }
    }
    console.log("\nprepared = named prepared statement, plan cached per connection (PostgREST's default); simple = planned on every call (psql, ad-hoc).");
    console.log(`\nServer-side executor time, µs per run (a PL/pgSQL loop of up to ${SERVER_LOOPS} runs, about 2 s per figure, generic plan, no client round trip). "Own policies" leaves only the caller's <audience>_select policy (and the request guard) on the table, the other audiences' SELECT policies moved away in a rolled-back transaction: what one policy set per audience would cost.\n`);
    console.log("| read | BYPASSRLS + WHERE (c) | RLS + WHERE (b) | b / c | RLS only (a) | a / c | own policies: b / c | own policies: a / c | policies moved | same rows |");
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (const r of rows) {
      const x = r.server;
      const f = (v) => v.toFixed(1);
      console.log(`| ${r.name} | ${f(x.c)} | ${f(x.b)} | ${(x.b / x.c).toFixed(2)}x | ${f(x.a)} | ${(x.a / x.c).toFixed(2)}x | ${f(x.ownB)} (${(x.ownB / x.c).toFixed(2)}x) | ${f(x.ownA)} (${(x.ownA / x.c).toFixed(2)}x) | ${x.others} | ${x.ownSame ? "yes" : "NO"} |`);
    }
    console.log(`\nWhat one helper adds to a request: \`select <expression>\` as a patient, each in its own request transaction (as above), ${ITERATIONS} runs interleaved, medians in µs. The helpers are those of app.appointments' SELECT policies and the restrictive request guard: a read runs the guard, and each helper the first time a row reaches its arm (OR arms are tried in order), whoever the caller is.\n`);
    console.log("| expression | median µs | added to the empty statement |");
    console.log("|---|---:|---:|");
    const base = median(perHelper[0]);
    for (const [k, e] of helperExprs.entries()) {
      const m = median(perHelper[k]);
      console.log(`| \`${e}\` | ${m.toFixed(1)} | ${k === 0 ? "-" : `+${(m - base).toFixed(1)}`} |`);
    }
    for (const r of rows) {
      const initPlans = r.plan.filter((l) => /InitPlan/.test(l)).length;
      const subPlans = r.plan.filter((l) => /SubPlan/.test(l)).length;
      console.log(`\n### ${r.name}: EXPLAIN (ANALYZE) through RLS — ${initPlans} InitPlan(s), ${subPlans} SubPlan(s)\n`);
      console.log("```");
      // Partitions repeat the same node: show the first two partitions' nodes and say how many were left out.
      const shown = [];
      let appends = 0;
      for (const l of r.plan) {
        if (/->\s+(Index|Bitmap|Seq) .* on appointments_/.test(l)) appends++;
        if (appends > 2 && /on appointments_|Index Cond|Filter|Recheck|Heap Blocks|Bitmap Index Scan|Rows Removed|BitmapOr|Index Searches/.test(l)) continue;
        shown.push(l);
      }
      if (appends > 2) shown.push(`   (... ${appends - 2} more partitions, same plan ...)`);
      console.log(shown.join("\n"));
      console.log("```");
    }
  } finally {
    if (client) {
      // A kept database must pass phi-db's checks next time: the BYPASSRLS reader keeps no privilege.
      await client.query(`revoke all on all tables in schema app from ${BYPASS}; revoke usage on schema app from ${BYPASS}`).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
    if (process.env.RLS_BENCH_KEEP === "1" || reuse) log(`kept database ${db}`);
    else {
      await admin.query(`drop database if exists ${db} with (force)`).catch(() => undefined);
      await admin.query(`drop role if exists ${BYPASS}`).catch(() => undefined);
    }
    await admin.end();
    await srv.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
