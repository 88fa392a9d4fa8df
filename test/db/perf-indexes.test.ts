/**
 * The seeds' indexes (issue 7): each exists and is valid, and the planner uses it for the query it is
 * for (EXPLAIN on small data, sequential scans disabled so the choice does not depend on table size);
 * patient search through the full-text index; the statements that index a populated partitioned
 * table without blocking writes actually work.
 */
import type { Client } from "pg";
import { createSchemaDatabase, inTx, SchemaDatabase } from "./schema-support";

let db: SchemaDatabase;
const ORG = "d7100000-0000-4000-8000-000000000001";

beforeAll(async () => {
  db = await createSchemaDatabase("perf_indexes");
  await inTx(db.client, async (c) => {
    await c.query("insert into tenant.organizations (id, name, slug) values ($1, 'Index Clinic', 'index-clinic')", [ORG]);
    await c.query(
      `insert into app.providers (organization_id, first_name, last_name, specialties, telehealth)
       select $1, 'Prov' || g, 'Ider' || g,
              case g % 3 when 0 then array['cardiology'] when 1 then array['dermatology', 'psychiatry'] else array['psychiatry'] end,
              g % 2 = 0
         from generate_series(1, 60) g`,
      [ORG],
    );
    await c.query(
      `insert into app.patients (organization_id, first_name, last_name, email)
       select $1, (array['Ada', 'Grace', 'Alan', 'Edsger'])[1 + g % 4], (array['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Smithson'])[1 + g % 5] || g,
              'patient' || g || '@example.org'
         from generate_series(1, 400) g`,
      [ORG],
    );
    await c.query("insert into app.patients (organization_id, first_name, last_name, email) values ($1, 'Zelda', 'Quintero-Smith', 'zq@clinic.example')", [ORG]);
    await c.query(
      `insert into app.appointments (organization_id, patient_id, provider_id, start_time, end_time, appointment_type, status)
       select $1, pa.id, pr.id, date_trunc('hour', now()) + (g % 300) * interval '1 hour', date_trunc('hour', now()) + (g % 300) * interval '1 hour' + interval '30 minutes',
              'consultation', case when g % 5 = 0 then 'cancelled' else 'scheduled' end
         from generate_series(1, 300) g
         join lateral (select id from app.patients where organization_id = $1 order by id offset g % 400 limit 1) pa on true
         join lateral (select id from app.providers where organization_id = $1 order by id offset g % 60 limit 1) pr on true`,
      [ORG],
    );
    await c.query(
      `insert into analytics.metrics (organization_id, metric_type, dimensions, period_granularity, period_start, period_end, value, sample_size)
       select $1, 'appointments.completed', jsonb_build_object('modality', case when g % 2 = 0 then 'telehealth' else 'in_person' end, 'n', g),
              'day', now() - g * interval '1 day', now() - (g - 1) * interval '1 day', g, 20
         from generate_series(1, 200) g`,
      [ORG],
    );
    await c.query("insert into app.profiles (id, email) values ('a7100000-0000-4000-8000-000000000001', 'sharer@example.org')");
    await c.query(
      `insert into app.healthcare_shares (user_id, scopes, status, expires_at, revoked_at)
       select 'a7100000-0000-4000-8000-000000000001', array['mood'], case when g % 10 = 0 then 'active' else 'revoked' end,
              now() + interval '30 days', case when g % 10 = 0 then null else now() end
         from generate_series(1, 300) g`,
    );
  });
  await db.client.query("vacuum analyze");
}, 120000);
afterAll(async () => db?.drop());

/** The root index names (partition indexes reported as their partitioned parent) the plan uses. */
async function indexesUsed(sql: string, params: unknown[] = [], opts: { seqscan?: boolean } = {}): Promise<string[]> {
  const c: Client = db.client;
  await c.query("begin");
  try {
    if (opts.seqscan === false || opts.seqscan === undefined) await c.query("set local enable_seqscan = off");
    const plan = await c.query(`explain (format json) ${sql}`, params);
    const names = new Set<string>();
    const walk = (n: Record<string, unknown>) => {
      if (typeof n["Index Name"] === "string") names.add(n["Index Name"] as string);
      for (const child of (n.Plans as Record<string, unknown>[]) ?? []) walk(child);
    };
    walk(plan.rows[0]["QUERY PLAN"][0].Plan);
    const roots = await c.query(
      `select distinct coalesce(pg_partition_root(i.oid), i.oid)::regclass::text as root
         from pg_class i where i.relkind in ('i', 'I') and i.relname = any($1)`,
      [[...names]],
    );
    return roots.rows.map((r) => r.root.replace(/^[a-z_]+\./, "")).sort();
  } finally {
    await c.query("rollback");
  }
}

it("creates every performance index valid, on the intended table", async () => {
  const expected: Record<string, string> = {
    appointments_provider_scheduled_idx: "app.appointments",
    appointments_provider_during_idx: "app.appointments",
    waitlist_entries_matching_idx: "app.waitlist_entries",
    providers_telehealth_specialties_idx: "app.providers",
    patients_search_idx: "app.patients",
    metrics_dimensions_gin_idx: "analytics.metrics",
    security_events_details_gin_idx: "audit.security_events",
    share_tokens_purge_idx: "app.share_tokens",
    oauth_access_tokens_purge_idx: "tenant.oauth_access_tokens",
    oauth_refresh_tokens_purge_idx: "tenant.oauth_refresh_tokens",
    healthcare_shares_live_expiry_idx: "app.healthcare_shares",
    organization_members_active_user_idx: "tenant.organization_members",
    patients_profile_cover_idx: "app.patients",
  };
  const r = await db.client.query(
    `select c.relname as index, i.indrelid::regclass::text as tbl, i.indisvalid as valid
       from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = any($1) order by 1`,
    [Object.keys(expected)],
  );
  expect(Object.fromEntries(r.rows.map((x) => [x.index, `${x.tbl}${x.valid ? "" : " (INVALID)"}`]))).toEqual(expected);
});

describe("the planner uses them", () => {
  it("scheduled appointments of a provider by date: the partial composite index", async () => {
    const used = await indexesUsed(
      `select id, start_time from app.appointments
        where provider_id = (select id from app.providers limit 1) and status = 'scheduled'
          and start_time >= now() and start_time < now() + interval '7 days' order by start_time`,
    );
    expect(used).toContain("appointments_provider_scheduled_idx");
  });

  it("who is booked in a time window: the GiST range index", async () => {
    const used = await indexesUsed(
      `select id from app.appointments
        where tstzrange(start_time, end_time, '[)') && tstzrange(now() + interval '1 day', now() + interval '2 days')
          and status not in ('cancelled', 'no_show')`,
    );
    expect(used).toContain("appointments_provider_during_idx");
  });

  it("waitlist matching by priority: the partial matching index", async () => {
    const used = await indexesUsed(
      `select id from app.waitlist_entries where waitlist_id = gen_random_uuid() and status = 'active' order by priority_score desc limit 5`,
    );
    expect(used).toEqual(["waitlist_entries_matching_idx"]);
  });

  it("telehealth providers by specialty: the partial GIN index", async () => {
    const used = await indexesUsed(`select id from app.providers where telehealth and specialties @> array['psychiatry']`);
    expect(used).toEqual(["providers_telehealth_specialties_idx"]);
  });

  it("patient search: app.search_patients goes through the full-text index and finds by prefix", async () => {
    const used = await indexesUsed(`select * from app.search_patients('quin smi')`);
    expect(used).toEqual(["patients_search_idx"]);
    const found = await inTx(db.client, (c) => c.query("select first_name, last_name from app.search_patients('quin smi')"));
    expect(found.rows).toEqual([{ first_name: "Zelda", last_name: "Quintero-Smith" }]);
    // An e-mail address is one token: found whole, or by the beginning of its local part.
    for (const q of ["zq@clinic.example", "ZQ"]) {
      const byMail = await inTx(db.client, (c) => c.query("select email from app.search_patients($1)", [q]));
      expect({ q, rows: byMail.rows }).toEqual({ q, rows: [{ email: "zq@clinic.example" }] });
    }
    const none = await inTx(db.client, (c) => c.query("select count(*)::int as n from app.search_patients($1)", ["' | !(:*"]));
    expect(none.rows[0].n).toBe(0);
  });

  it("patient search respects row-level security (the caller sees no patient without a policy)", async () => {
    const r = await inTx(db.client, (c) => c.query("select count(*)::int as n from app.search_patients('ada')"), {
      role: "authenticated",
      claims: { sub: "a7100000-0000-4000-8000-000000000009", role: "authenticated" },
    });
    expect(r.rows[0].n).toBe(0);
  });

  it("JSONB containment: the GIN indexes on metrics dimensions and security event details", async () => {
    expect(await indexesUsed(`select id from analytics.metrics where dimensions @> '{"modality": "telehealth"}'`)).toEqual(["metrics_dimensions_gin_idx"]);
    expect(await indexesUsed(`select id from audit.security_events where details @> '{"action": "partitions_detached_to_archive"}'`)).toEqual([
      "security_events_details_gin_idx",
    ]);
  });

  it("the retention purge of expired tokens and shares: the cleanup expression indexes", async () => {
    for (const [table, index] of [
      ["app.share_tokens", "share_tokens_purge_idx"],
      ["tenant.oauth_access_tokens", "oauth_access_tokens_purge_idx"],
      ["tenant.oauth_refresh_tokens", "oauth_refresh_tokens_purge_idx"],
    ]) {
      expect(await indexesUsed(`select id from ${table} where coalesce(revoked_at, expires_at) < now() - interval '30 days'`)).toEqual([index]);
    }
    expect(await indexesUsed(`select id from app.healthcare_shares where status in ('active', 'paused') and expires_at < now()`)).toEqual([
      "healthcare_shares_live_expiry_idx",
    ]);
  });

  it("the RLS membership lookups: index-only scans on the covering indexes", async () => {
    const c = db.client;
    await c.query("begin");
    try {
      await c.query("set local enable_seqscan = off");
      await c.query("set local enable_bitmapscan = off");
      const plan = async (sql: string) => JSON.stringify((await c.query(`explain (format json) ${sql}`)).rows[0]["QUERY PLAN"]);
      expect(await plan("select organization_id, user_type from tenant.organization_members where user_id = gen_random_uuid() and status = 'active'")).toMatch(
        /"Node Type":"Index Only Scan".*"Index Name":"organization_members_active_user_idx"/,
      );
      expect(await plan("select organization_id from app.patients where profile_id = gen_random_uuid()")).toMatch(
        /"Node Type":"Index Only Scan".*"Index Name":"patients_profile_cover_idx"/,
      );
    } finally {
      await c.query("rollback");
    }
  });
});

it("indexes a populated partitioned table without blocking writes, with the printed statements", async () => {
  const steps = await inTx(db.client, (c) =>
    c.query("select step, statement from app.partitioned_index_statements('app.appointments', 'appointments_type_probe_idx', '(appointment_type, start_time)') order by step"),
  );
  const partitions = await db.client.query("select count(*)::int as n from pg_inherits where inhparent = 'app.appointments'::regclass");
  expect(steps.rows).toHaveLength(1 + 2 * partitions.rows[0].n);
  expect(steps.rows[0].statement).toBe("create index if not exists appointments_type_probe_idx on only app.appointments (appointment_type, start_time);");
  expect(steps.rows[1].statement).toMatch(/^create index concurrently if not exists \w+ on app\.appointments_\w+ \(appointment_type, start_time\);$/);
  await db.client.query("set role phi_owner");
  try {
    for (const s of steps.rows) await db.client.query(s.statement); // outside a transaction, one by one
  } finally {
    await db.client.query("reset role");
  }
  const idx = await db.client.query(
    `select i.indisvalid as valid, (select count(*)::int from pg_inherits where inhparent = i.indexrelid) as attached
       from pg_index i where i.indexrelid = 'app.appointments_type_probe_idx'::regclass`,
  );
  expect(idx.rows[0]).toEqual({ valid: true, attached: partitions.rows[0].n });
  await db.client.query("drop index app.appointments_type_probe_idx");
});
