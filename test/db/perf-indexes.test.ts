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

/**
 * The indexes issue 7 names, by category, with the shape each must have: access method, key
 * (columns or expression, as pg_get_indexdef prints it), partial predicate and INCLUDE columns.
 */
const SEED_INDEXES: Record<string, { table: string; method: string; key: string; where?: string; include?: string; seed: string }> = {
  // composite and partial: scheduled appointments by provider and date (seed idx_appointments_provider_date)
  appointments_provider_scheduled_idx: { table: "app.appointments", method: "btree", key: "provider_id, start_time", where: "(status = 'scheduled'::text)", seed: "scheduled appointments by provider and date" },
  // active waitlist matching by priority (seed idx_waitlist_entries_matching)
  waitlist_entries_matching_idx: { table: "app.waitlist_entries", method: "btree", key: "waitlist_id, status, priority_score DESC", where: "(status = 'active'::text)", seed: "active waitlist matching by priority" },
  // GIN on provider specialties where telehealth (seed idx_providers_active_specialties)
  providers_telehealth_specialties_idx: { table: "app.providers", method: "gin", key: "specialties", where: "telehealth", seed: "GIN on provider specialties where telehealth" },
  // full-text search on patient name and email (seed idx_patients_search)
  patients_search_idx: { table: "app.patients", method: "gin", key: "to_tsvector('simple'::regconfig, ((((COALESCE(first_name, ''::text) || ' '::text) || COALESCE(last_name, ''::text)) || ' '::text) || COALESCE(email, ''::text)))", seed: "full-text search on patient name and email" },
  // GIN on JSONB metadata
  metrics_dimensions_gin_idx: { table: "analytics.metrics", method: "gin", key: "dimensions jsonb_path_ops", seed: "GIN on JSONB metadata" },
  security_events_details_gin_idx: { table: "audit.security_events", method: "gin", key: "details jsonb_path_ops", seed: "GIN on JSONB metadata" },
  // GiST on date ranges
  appointments_provider_during_idx: { table: "app.appointments", method: "gist", key: "provider_id, tstzrange(start_time, end_time, '[)'::text)", where: "(status <> ALL (ARRAY['cancelled'::text, 'no_show'::text]))", seed: "GiST on date ranges" },
  appointment_slots_no_overlap: { table: "app.appointment_slots", method: "gist", key: "provider_id, tstzrange(starts_at, ends_at, '[)'::text)", seed: "GiST on date ranges (the slots' exclusion constraint)" },
  // covering indexes for the RLS paths
  organization_members_active_user_idx: { table: "tenant.organization_members", method: "btree", key: "user_id", include: "organization_id, user_type", where: "(status = 'active'::text)", seed: "covering index for the RLS paths (membership)" },
  patients_profile_cover_idx: { table: "app.patients", method: "btree", key: "profile_id", include: "organization_id", where: "(profile_id IS NOT NULL)", seed: "covering index for the RLS paths (own patient records)" },
  appointments_provider_patient_idx: { table: "app.appointments", method: "btree", key: "provider_id, patient_id", where: "(status <> 'cancelled'::text)", seed: "covering index for the RLS paths (patients a provider treats)" },
  encrypted_cycle_data_sync_idx: { table: "app.encrypted_cycle_data", method: "btree", key: "user_id, updated_at DESC", include: "version", seed: "covering index for the zero-knowledge sync (version check without the heap)" },
  // cleanup indexes for expired tokens and shares
  share_tokens_purge_idx: { table: "app.share_tokens", method: "btree", key: "COALESCE(revoked_at, expires_at)", seed: "cleanup of expired tokens" },
  oauth_access_tokens_purge_idx: { table: "tenant.oauth_access_tokens", method: "btree", key: "COALESCE(revoked_at, expires_at)", seed: "cleanup of expired tokens" },
  oauth_refresh_tokens_purge_idx: { table: "tenant.oauth_refresh_tokens", method: "btree", key: "COALESCE(revoked_at, expires_at)", seed: "cleanup of expired tokens" },
  healthcare_shares_live_expiry_idx: { table: "app.healthcare_shares", method: "btree", key: "expires_at", where: "(status = ANY (ARRAY['active'::text, 'paused'::text]))", seed: "cleanup of expired shares" },
  // the other seeds' named indexes: documents (composite and partial), mood entries by patient and date
  documents_patient_status_idx: { table: "app.documents", method: "btree", key: "patient_id, status", seed: "idx_documents_user_status" },
  documents_content_type_status_idx: { table: "app.documents", method: "btree", key: "content_type, status", seed: "idx_documents_content_type" },
  documents_processing_idx: { table: "app.documents", method: "btree", key: "created_at", where: "(status = 'processing'::text)", seed: "idx_documents_processing" },
  mood_entries_patient_time_idx: { table: "app.mood_entries", method: "btree", key: "patient_id, recorded_at DESC", seed: "idx_mood_entries_patient_date" },
};

it("creates every index the seeds name, valid, on the intended table, with the intended method, key, predicate and INCLUDE columns", async () => {
  const r = await db.client.query(
    `select c.relname as index, i.indrelid::regclass::text as tbl, i.indisvalid as valid, am.amname as method,
            pg_get_indexdef(i.indexrelid) as def, pg_get_expr(i.indpred, i.indrelid) as pred
       from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam
      where c.relname = any($1) and not c.relispartition order by 1`,
    [Object.keys(SEED_INDEXES)],
  );
  const found = Object.fromEntries(
    r.rows.map((x) => {
      // "... USING gin (key) INCLUDE (cols) WHERE (pred)": the key is the first parenthesised list after USING.
      const m = /USING \w+ \((.*?)\)(?: INCLUDE \((.*?)\))?(?: WHERE .*)?$/.exec(x.def as string);
      const got: Record<string, string> = { table: `${x.tbl}${x.valid ? "" : " (INVALID)"}`, method: x.method, key: m ? m[1] : x.def };
      if (m?.[2]) got.include = m[2];
      if (x.pred) got.where = x.pred;
      return [x.index, got];
    }),
  );
  const expected = Object.fromEntries(Object.entries(SEED_INDEXES).map(([name, { seed: _seed, ...shape }]) => [name, shape]));
  expect(found).toEqual(expected);
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

  it("the patients a provider treats (app.rls_treated_patient_ids): the partial (provider_id, patient_id) index", async () => {
    const providers = (await db.client.query("select array_agg(id) as ids from (select id from app.providers order by id limit 2) x")).rows[0].ids;
    const used = await indexesUsed(`select patient_id from app.appointments where provider_id = any ($1::uuid[]) and status <> 'cancelled'`, [providers]);
    expect(used).toEqual(["appointments_provider_patient_idx"]);
  });

  it("overlapping slots of a provider: the GiST range index of the exclusion constraint", async () => {
    const used = await indexesUsed(
      `select id from app.appointment_slots
        where provider_id = (select id from app.providers order by id limit 1)
          and tstzrange(starts_at, ends_at, '[)') && tstzrange(now(), now() + interval '1 day')`,
    );
    expect(used).toContain("appointment_slots_no_overlap");
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
