/**
 * Monitoring views in schema logs (issue 7): partition sizes, cache hit ratio, index usage, bloat
 * estimate, top statements, next to the existing table stats and slow queries. Each returns rows, is
 * security_invoker, and reflects what happened (an index scan is counted, a mass delete shows as
 * bloat); the pg_stat_statements readers stay empty rather than failing for a caller who may not
 * read the extension.
 */
import type { Client } from "pg";
import { createSchemaDatabase, inTx, SchemaDatabase } from "./schema-support";

let db: SchemaDatabase;
const ORG = "d7300000-0000-4000-8000-000000000001";
const VIEWS = ["logs.partition_sizes", "logs.cache_hit_ratio", "logs.index_usage", "logs.bloat_estimate", "logs.top_queries", "logs.table_stats", "logs.slow_queries"];

beforeAll(async () => {
  db = await createSchemaDatabase("perf_monitor");
  await inTx(db.client, async (c) => {
    await c.query("insert into tenant.organizations (id, name, slug) values ($1, 'Monitor Clinic', 'monitor-clinic')", [ORG]);
    await c.query(
      `insert into analytics.metrics (organization_id, metric_type, period_granularity, period_start, period_end, value, dimensions)
       select $1, 'bloat.probe', 'hour', now() - g * interval '1 hour', now() - (g - 1) * interval '1 hour', g, jsonb_build_object('pad', repeat('x', 200))
         from generate_series(1, 5000) g`,
      [ORG],
    );
  });
  await db.client.query("analyze");
}, 120000);
afterAll(async () => db?.drop());

const owner = <T>(fn: (c: Client) => Promise<T>) => inTx(db.client, fn);

it("defines every monitoring view as security_invoker", async () => {
  const r = await db.client.query(
    `select c.oid::regclass::text as v, coalesce(c.reloptions @> array['security_invoker=true'], false) as invoker
       from pg_class c where c.oid = any($1::regclass[]) order by 1`,
    [VIEWS],
  );
  expect(r.rows).toEqual([...VIEWS].sort().map((v) => ({ v, invoker: true })));
});

it("partition sizes: every partition of appointments and the audit log, the default one marked", async () => {
  const r = await owner((c) =>
    c.query("select parent_schema || '.' || parent_table as parent, count(*)::int as n, count(*) filter (where is_default)::int as defaults, bool_and(total_bytes >= 0) as sized from logs.partition_sizes group by 1 order by 1"),
  );
  expect(r.rows).toEqual([
    { parent: "app.appointments", n: 21, defaults: 1, sized: true },
    { parent: "audit.log", n: 6, defaults: 1, sized: true },
  ]);
  const bounds = await owner((c) => c.query("select bounds from logs.partition_sizes where partition_name = 'log_default'"));
  expect(bounds.rows[0].bounds).toBe("DEFAULT");
});

it("cache hit ratio: database, heap, indexes and TOAST", async () => {
  await owner((c) => c.query("select count(*) from analytics.metrics"));
  const r = await owner((c) => c.query("select scope, hit_percent::float as pct from logs.cache_hit_ratio order by scope"));
  expect(r.rows.map((x) => x.scope)).toEqual(["database", "indexes", "tables (heap)", "toast"]);
  const database = r.rows.find((x) => x.scope === "database");
  expect(database.pct).toBeGreaterThan(0);
  expect(database.pct).toBeLessThanOrEqual(100);
});

it("index usage: counts a scan of the index a query used, and flags nothing that enforces a constraint", async () => {
  const scans = async () =>
    Number((await owner((c) => c.query("select idx_scan from logs.index_usage where index_name = 'metrics_lookup_idx'"))).rows[0].idx_scan);
  const before = await scans();
  await inTx(db.client, async (c) => {
    await c.query("set local enable_seqscan = off");
    await c.query("select count(*) from analytics.metrics where organization_id = $1 and metric_type = 'bloat.probe'", [ORG]);
  });
  await db.client.query("select pg_stat_force_next_flush()");
  await db.client.query("select pg_stat_clear_snapshot()");
  expect(await scans()).toBeGreaterThan(before);
  const flagged = await owner((c) => c.query("select index_name from logs.index_usage where unused_candidate and (is_unique or is_primary)"));
  expect(flagged.rows).toEqual([]);
  const pkey = await owner((c) => c.query("select unused_candidate from logs.index_usage where index_name = 'metrics_pkey'"));
  expect(pkey.rows[0].unused_candidate).toBe(false);
});

it("bloat estimate: near zero after a load, high after deleting most rows (before vacuum)", async () => {
  const sql = "select bloat_percent::float as pct, reliable, estimated_rows::int as rows, estimate_source from logs.bloat_estimate where schema_name = 'analytics' and table_name = 'metrics'";
  const bloat = async () => (await owner((c) => c.query(sql))).rows[0];
  const fresh = await bloat();
  // Forced RLS hides pg_stats from the owner: the width is measured on sampled rows.
  expect(fresh).toEqual({ pct: expect.any(Number), reliable: true, rows: 5000, estimate_source: "sampled rows" });
  expect(fresh.pct).toBeLessThan(25);
  const su = (await db.client.query(sql)).rows[0];
  expect(su.estimate_source).toBe("planner statistics");
  expect(Math.abs(su.pct - fresh.pct)).toBeLessThan(15);
  await owner((c) => c.query("delete from analytics.metrics where metric_type = 'bloat.probe' and value > 1000"));
  await db.client.query("analyze analytics.metrics");
  const after = await bloat();
  expect(after.rows).toBe(1000);
  expect(after.pct).toBeGreaterThan(60);
  const all = await owner((c) => c.query("select count(*)::int as n, count(*) filter (where kind = 'materialized view')::int as mv from logs.bloat_estimate"));
  expect(all.rows[0].n).toBeGreaterThan(40);
  expect(all.rows[0].mv).toBeGreaterThanOrEqual(6);
});

it("top queries: statements by total time where pg_stat_statements is readable, empty (no error) where not", async () => {
  await db.client.query("select count(*) from analytics.metrics where metric_type = 'top.queries.probe'");
  const su = await db.client.query("select count(*)::int as n, sum(percent_of_total)::float as pct from logs.top_queries");
  expect(su.rows[0].n).toBeGreaterThan(0);
  expect(su.rows[0].n).toBeLessThanOrEqual(50);
  // The owner is not granted the extension's view (the access model revokes it from PUBLIC).
  const own = await owner((c) => c.query("select count(*)::int as n from logs.top_queries"));
  expect(own.rows[0].n).toBe(0);
});

it("table stats: one row per table with its tuple counts", async () => {
  const t = await owner((c) => c.query("select count(*)::int as n from logs.table_stats where schemaname = 'analytics' and relname = 'metrics'"));
  expect(t.rows[0].n).toBe(1);
});

it("slow queries: a statement averaging at least 100 ms is listed with its calls and times, a fast one is not; empty (no error) for a caller who may not read pg_stat_statements", async () => {
  // A statement of a known shape, slow on purpose (one row: one 150 ms sleep), and a fast one.
  const slowText = "select pg_sleep($1) as monitoring_slow_probe from tenant.organizations where id = $2";
  await db.client.query(slowText, [0.15, ORG]);
  await db.client.query("select count(*) as monitoring_fast_probe from tenant.organizations where slug = $1", ["monitor-clinic"]);
  // As superuser (pg_stat_statements readable): the slow statement, normalised, with its figures.
  const slow = await db.client.query("select query, calls::int, total_time_ms::float as total, mean_time_ms::float as mean from logs.slow_queries where query = $1", [slowText]);
  expect(slow.rows).toHaveLength(1);
  expect(slow.rows[0]).toMatchObject({ query: slowText, calls: 1 });
  expect(slow.rows[0].mean).toBeGreaterThanOrEqual(100);
  expect(slow.rows[0].total).toBeGreaterThanOrEqual(slow.rows[0].mean);
  // The fast one is in pg_stat_statements but under the threshold, so not a slow query.
  const fast = "select count(*) as monitoring_fast_probe from tenant.organizations where slug = $1";
  const all = await db.client.query("select calls::int, mean_exec_time::float as mean from logs.stat_statements() where query = $1", [fast]);
  expect(all.rows).toHaveLength(1);
  expect(all.rows[0].mean).toBeLessThan(100);
  expect((await db.client.query("select count(*)::int as n from logs.slow_queries where query = $1", [fast])).rows[0].n).toBe(0);
  // The owner is not granted the extension's view (the access model revokes it from PUBLIC): the
  // guarded reader answers with no rows, not an error, and so does the view.
  const granted = await db.client.query("select has_table_privilege('phi_owner', 'extensions.pg_stat_statements', 'SELECT') as ok");
  expect(granted.rows[0].ok).toBe(false);
  const own = await owner(async (c) => ({
    reader: (await c.query("select count(*)::int as n from logs.stat_statements()")).rows[0].n,
    view: (await c.query("select count(*)::int as n from logs.slow_queries")).rows[0].n,
  }));
  expect(own).toEqual({ reader: 0, view: 0 });
});
