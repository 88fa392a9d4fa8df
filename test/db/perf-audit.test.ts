/**
 * The audit hash functions made inlinable (20261122035, found by bench/perf.js): same results as the
 * original definitions for entries the trigger writes, the chains verify, and the planner really
 * inlines them (no SET clause, STABLE, everything schema-qualified).
 */
import { createSchemaDatabase, inTx, SchemaDatabase } from "./schema-support";

let db: SchemaDatabase;
const ORG = "d7400000-0000-4000-8000-000000000001";

beforeAll(async () => {
  db = await createSchemaDatabase("perf_audit");
  await inTx(
    db.client,
    async (c) => {
      await c.query("insert into tenant.organizations (id, name, slug) values ($1, 'Audit Clinic', 'audit-clinic')", [ORG]);
      const p = (await c.query("insert into app.patients (organization_id, first_name, last_name, email) values ($1, 'Hash', 'Chain', 'h@c.example') returning id", [ORG])).rows[0].id;
      await c.query("insert into app.mood_entries (organization_id, patient_id, mood_score, notes) select $1, $2, 1 + g % 10, 'n' || g from generate_series(1, 20) g", [ORG, p]);
      await c.query("update app.patients set last_name = 'Chained' where id = $1", [p]);
    },
    { claims: { sub: "a7400000-0000-4000-8000-000000000001", role: "authenticated", session_id: "s-1" }, settings: { "request.client_ip": "203.0.113.9" } },
  );
}, 120000);
afterAll(async () => db?.drop());

it("declares entry_payload and entry_hash inlinable: SQL, STABLE, no SET clause, not SECURITY DEFINER", async () => {
  const r = await db.client.query(
    `select p.proname, l.lanname, p.provolatile, p.proconfig, p.prosecdef
       from pg_proc p join pg_language l on l.oid = p.prolang join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'audit' and p.proname in ('entry_payload', 'entry_hash') order by 1`,
  );
  expect(r.rows).toEqual([
    { proname: "entry_hash", lanname: "sql", provolatile: "s", proconfig: null, prosecdef: false },
    { proname: "entry_payload", lanname: "sql", provolatile: "s", proconfig: null, prosecdef: false },
  ]);
  const plan = await db.client.query("explain (verbose, format json) select audit.entry_hash(l.prev_hash, l) from audit.log l");
  const output = JSON.stringify(plan.rows[0]["QUERY PLAN"]);
  expect(output).toMatch(/sha256/);
  expect(output).not.toMatch(/entry_hash|entry_payload/);
});

it("computes exactly what the original definition computed, for every entry the trigger wrote", async () => {
  const r = await db.client.query(
    `select count(*)::int as entries,
            count(*) filter (where l.row_hash = sha256(l.prev_hash || convert_to(jsonb_build_object(
              'chain', l.chain_id, 'seq', l.chain_seq, 'at', extract(epoch from l.occurred_at), 'op', l.operation,
              'schema', l.table_schema::text, 'table', l.table_name::text, 'row', l.row_id, 'org', l.organization_id,
              'fields', to_jsonb(l.changed_fields), 'actor', l.actor_id, 'role', l.actor_role, 'db_user', l.db_user::text,
              'ip', encode(l.client_ip_hash, 'hex'), 'session', l.session_id, 'txid', l.transaction_id::text, 'id', l.id)::text, 'UTF8')))::int as original,
            count(*) filter (where l.row_hash = audit.entry_hash(l.prev_hash, l))::int as current,
            count(*) filter (where l.client_ip_hash is not null and l.session_id = 's-1')::int as with_context
       from audit.log l where l.organization_id = $1`,
    [ORG],
  );
  expect(r.rows[0]).toEqual({ entries: 23, original: 23, current: 23, with_context: 23 });
  const chains = await db.client.query("select count(*)::int as bad from audit.verify_chain() where not valid");
  expect(chains.rows[0].bad).toBe(0);
});

it("is not swayed by a caller's search_path (every name is schema-qualified)", async () => {
  const c = await db.connect();
  try {
    await c.query("create schema if not exists evil");
    await c.query("create or replace function evil.sha256(bytea) returns bytea language sql as $$ select '\\x00'::bytea $$");
    await c.query("set search_path = evil, pg_catalog"); // pg_catalog AFTER evil: an unqualified sha256 would be evil.sha256
    expect((await c.query("select sha256('x'::bytea) = '\\x00'::bytea as hijacked")).rows[0].hijacked).toBe(true);
    const r = await c.query("select count(*)::int as n from audit.log l where l.row_hash = audit.entry_hash(l.prev_hash, l) and l.organization_id = $1", [ORG]);
    expect(r.rows[0].n).toBe(23);
  } finally {
    await c.query("drop schema if exists evil cascade").catch(() => undefined);
    await c.end();
  }
});
