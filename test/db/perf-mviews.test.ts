/**
 * Materialized views (issue 7): every view has a unique index and is refreshed CONCURRENTLY (readers
 * are not blocked) by app.refresh_materialized_views (owner only); their figures match the data;
 * the private views (tenant data, PHI) are readable by no role but the owner and reach request roles
 * only through authorising functions; the de-identified ones are readable by research partners and
 * carry no person or organization and no cell under 11 patients.
 */
import type { Client } from "pg";
import { createSchemaDatabase, errorOf, inTx, SchemaDatabase } from "./schema-support";

let db: SchemaDatabase;
const ORG_A = "d7200000-0000-4000-8000-00000000000a";
const ORG_B = "d7200000-0000-4000-8000-00000000000b";
const U = {
  adminA: "a7200000-0000-4000-8000-000000000001",
  provA1: "a7200000-0000-4000-8000-000000000002",
  provA2: "a7200000-0000-4000-8000-000000000003",
  patient1: "a7200000-0000-4000-8000-000000000004",
  adminB: "a7200000-0000-4000-8000-000000000005",
  researchA: "a7200000-0000-4000-8000-000000000006",
  developerA: "a7200000-0000-4000-8000-000000000007",
};
const PR = { pr1: "b7200000-0000-4000-8000-000000000001", pr2: "b7200000-0000-4000-8000-000000000002", pr3: "b7200000-0000-4000-8000-000000000003" };
const patient = (n: number) => `c7200000-0000-4000-8000-${String(n).padStart(12, "0")}`;

const PRIVATE_VIEWS = [
  "analytics_private.organization_dashboard",
  "analytics_private.patient_mood_summary",
  "analytics_private.provider_availability",
  "analytics_private.top_providers",
];
const RESEARCH_VIEWS = ["analytics.appointment_volume_monthly", "analytics.mood_weekly"];

const owner = <T>(fn: (c: Client) => Promise<T>) => inTx(db.client, fn);
const as = <T>(sub: string, fn: (c: Client) => Promise<T>) => inTx(db.client, fn, { role: "authenticated", claims: { sub, role: "authenticated" } });

beforeAll(async () => {
  db = await createSchemaDatabase("perf_mviews");
  await owner(async (c) => {
    await c.query("insert into tenant.organizations (id, name, slug) values ($1, 'View Clinic A', 'view-a'), ($2, 'View Clinic B', 'view-b')", [ORG_A, ORG_B]);
    for (const [id, email] of Object.entries(U)) await c.query("insert into app.profiles (id, email) values ($1, $2)", [email, `${id}@views.example`]);
    await c.query(
      `insert into tenant.organization_members (organization_id, user_id, user_type, joined_at)
       values ($1, $3, 'admin', now()), ($1, $4, 'provider', now()), ($1, $5, 'provider', now()), ($1, $6, 'patient', now()), ($2, $7, 'admin', now()),
              ($1, $8, 'research-partner', now()), ($1, $9, 'developer', now())`,
      [ORG_A, ORG_B, U.adminA, U.provA1, U.provA2, U.patient1, U.adminB, U.researchA, U.developerA],
    );
    await c.query(
      `insert into app.providers (id, organization_id, profile_id, first_name, last_name, specialties, telehealth) values
         ($1, $4, $5, 'Ada', 'One', array['cardiology', 'psychiatry', 'cardiology'], true),
         ($2, $4, $6, 'Bea', 'Two', array['psychiatry'], false),
         ($3, $4, null, 'Cy', 'Three', array['cardiology'], false)`,
      [PR.pr1, PR.pr2, PR.pr3, ORG_A, U.provA1, U.provA2],
    );
    await c.query("insert into app.providers (organization_id, first_name, last_name) values ($1, 'Other', 'Clinic')", [ORG_B]);
    await c.query(
      `insert into app.appointment_slots (organization_id, provider_id, starts_at, ends_at, modality, status) values
         ($1, $2, now() + interval '1 day', now() + interval '1 day 30 minutes', 'in_person', 'available'),
         ($1, $2, now() + interval '2 days', now() + interval '2 days 30 minutes', 'telehealth', 'available'),
         ($1, $2, now() + interval '20 days', now() + interval '20 days 30 minutes', 'in_person', 'available'),
         ($1, $2, now() + interval '3 days', now() + interval '3 days 30 minutes', 'in_person', 'booked'),
         ($1, $2, now() - interval '3 days', now() - interval '3 days' + interval '30 minutes', 'in_person', 'available')`,
      [ORG_A, PR.pr1],
    );
    await c.query(
      `insert into app.patients (id, organization_id, profile_id, first_name, last_name)
       select ('c7200000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, $1, case when g = 1 then $2::uuid end, 'Pat', 'Ient' || g
         from generate_series(1, 13) g`,
      [ORG_A, U.patient1],
    );
    // Past hour: 12 completed with pr1 (patients 1-12), 2 completed with pr2 (patients 2, 3), a no-show
    // with pr3, a cancelled one of pr2 with patient 1; ahead: 2 scheduled with pr1.
    await c.query(
      `insert into app.appointments (organization_id, patient_id, provider_id, start_time, end_time, appointment_type, status)
       select $1, ('c7200000-0000-4000-8000-' || lpad(x.p::text, 12, '0'))::uuid, x.pr::uuid,
              now() - interval '50 minutes' - x.k * interval '1 minute', now() - interval '20 minutes' - x.k * interval '1 minute', 'consultation', x.status
         from (select g as p, $2 as pr, 'completed' as status, g as k from generate_series(1, 12) g
               union all select 2, $3, 'completed', 13 union all select 3, $3, 'completed', 14
               union all select 4, $4, 'no_show', 15 union all select 1, $3, 'cancelled', 16) x`,
      [ORG_A, PR.pr1, PR.pr2, PR.pr3],
    );
    await c.query(
      `insert into app.appointments (organization_id, patient_id, provider_id, start_time, end_time, appointment_type)
       values ($1, $2, $3, now() + interval '1 day', now() + interval '1 day 30 minutes', 'follow_up'),
              ($1, $2, $3, now() + interval '2 days', now() + interval '2 days 30 minutes', 'follow_up')`,
      [ORG_A, patient(1), PR.pr1],
    );
    const wl = (await c.query("insert into app.waitlists (organization_id, name) values ($1, 'General') returning id", [ORG_A])).rows[0].id;
    await c.query("insert into app.waitlist_entries (organization_id, waitlist_id, patient_id, priority_score) values ($1, $2, $3, 80), ($1, $2, $4, 40)", [
      ORG_A, wl, patient(5), patient(6),
    ]);
    // Mood: every patient 1-12 once a minute ago (patient 1: score 8, others 5); patient 1 also
    // yesterday (6), two days ago (4) and 40 days ago (2); patient 13 only three days ago.
    await c.query(
      `insert into app.mood_entries (organization_id, patient_id, mood_score, recorded_at)
       select $1, ('c7200000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, case when g = 1 then 8 else 5 end, now() - interval '1 minute'
         from generate_series(1, 12) g`,
      [ORG_A],
    );
    await c.query(
      `insert into app.mood_entries (organization_id, patient_id, mood_score, recorded_at) values
         ($1, $2, 6, now() - interval '1 day 1 minute'), ($1, $2, 4, now() - interval '2 days 1 minute'),
         ($1, $2, 2, now() - interval '40 days'), ($1, $3, 7, now() - interval '3 days')`,
      [ORG_A, patient(1), patient(13)],
    );
    // Organization B: one patient with one mood entry (a cell far under 11 patients).
    await c.query("insert into app.patients (id, organization_id, first_name, last_name) values ($1, $2, 'Only', 'Patient')", [patient(99), ORG_B]);
    await c.query("insert into app.mood_entries (organization_id, patient_id, mood_score, recorded_at) values ($1, $2, 9, now() - interval '2 hours')", [ORG_B, patient(99)]);
  });
}, 120000);
afterAll(async () => db?.drop());

describe("structure and access", () => {
  it("has every view populated, each with a unique index", async () => {
    const r = await db.client.query(
      `select c.oid::regclass::text as v, c.relispopulated as populated,
              exists (select from pg_index i where i.indrelid = c.oid and i.indisunique and i.indisvalid) as unique_index
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'm' and n.nspname in ('analytics', 'analytics_private') order by 1`,
    );
    expect(r.rows).toEqual([...RESEARCH_VIEWS, ...PRIVATE_VIEWS].map((v) => ({ v, populated: true, unique_index: true })));
  });

  it("lets no role but the owner near the private views (no RLS on materialized views)", async () => {
    for (const role of ["anon", "authenticated", "service_role", "auditor", "analytics_reader"]) {
      const s = await db.client.query("select has_schema_privilege($1, 'analytics_private', 'USAGE') as ok", [role]);
      expect({ role, usage: s.rows[0].ok }).toEqual({ role, usage: false });
      for (const v of PRIVATE_VIEWS) {
        const t = await db.client.query("select has_table_privilege($1, $2, 'SELECT') as ok", [role, v]);
        expect({ role, v, select: t.rows[0].ok }).toEqual({ role, v, select: false });
      }
    }
    const e = await errorOf(as(U.adminA, (c) => c.query("select * from analytics_private.organization_dashboard")));
    expect(e.code).toBe("42501");
  });

  it("lets research partners read the de-identified views, which name no person or organization", async () => {
    for (const v of RESEARCH_VIEWS) {
      const t = await db.client.query("select has_table_privilege('analytics_reader', $1, 'SELECT') as ok", [v]);
      expect({ v, ok: t.rows[0].ok }).toEqual({ v, ok: true });
    }
    const cols = await db.client.query(
      `select c.oid::regclass::text as v, array_agg(a.attname::text order by a.attnum) as cols
         from pg_attribute a join pg_class c on c.oid = a.attrelid
        where c.oid = any($1::regclass[]) and a.attnum > 0 and not a.attisdropped group by 1 order by 1`,
      [RESEARCH_VIEWS],
    );
    expect(cols.rows).toEqual([
      { v: "analytics.appointment_volume_monthly", cols: ["month", "appointment_type", "modality", "status", "appointments", "patients", "providers", "refreshed_at"] },
      { v: "analytics.mood_weekly", cols: ["week_start", "patients", "entries", "avg_mood", "stddev_mood", "refreshed_at"] },
    ]);
  });
});

describe("refresh", () => {
  it("is refused to anyone but the owner", async () => {
    const e = await errorOf(as(U.adminA, (c) => c.query("select * from app.refresh_materialized_views()")));
    expect(e.code).toBe("42501");
    const unknown = await errorOf(owner((c) => c.query("select * from app.refresh_materialized_views(array['app.patients'])")));
    expect(unknown.message).toMatch(/not a materialized view/);
  });

  it("refreshes every view concurrently, without blocking a reader that holds the view open", async () => {
    const reader = await db.connect();
    try {
      await reader.query("begin");
      for (const v of [...RESEARCH_VIEWS, ...PRIVATE_VIEWS]) await reader.query(`select count(*) from ${v}`); // as superuser: holds ACCESS SHARE
      const r = await owner(async (c) => {
        await c.query("set local lock_timeout = '3s'");
        return c.query("select view_name, refresh_mode, row_count::int from app.refresh_materialized_views() order by 1");
      });
      expect(r.rows.map((x) => [x.view_name, x.refresh_mode])).toEqual([...RESEARCH_VIEWS, ...PRIVATE_VIEWS].sort().map((v) => [v, "concurrently"]));
      // A plain (non-concurrent) refresh would have to wait for that reader.
      const blocked = await errorOf(
        inTx(db.client, async (c) => {
          await c.query("set local lock_timeout = '300ms'");
          await c.query("refresh materialized view analytics.mood_weekly");
        }),
      );
      expect(blocked.code).toBe("55P03");
      await reader.query("commit");
    } finally {
      await reader.end();
    }
  });

  it("skips instead of queueing while another refresh runs", async () => {
    const other = await db.connect();
    try {
      await other.query("begin");
      await other.query("select pg_advisory_xact_lock(hashtext('phi-db:refresh_materialized_views'))");
      const r = await owner((c) => c.query("select view_name, refresh_mode from app.refresh_materialized_views()"));
      expect(r.rows).toEqual([{ view_name: "*", refresh_mode: "skipped: another refresh is running" }]);
      await other.query("rollback");
    } finally {
      await other.end();
    }
  });

  it("shows new data only after a refresh", async () => {
    const count = () => owner((c) => c.query("select entries_90_days::int as n from analytics_private.patient_mood_summary where patient_id = $1", [patient(13)]));
    expect((await count()).rows[0].n).toBe(1);
    await owner((c) => c.query("insert into app.mood_entries (organization_id, patient_id, mood_score, recorded_at) values ($1, $2, 9, now() - interval '10 days')", [ORG_A, patient(13)]));
    expect((await count()).rows[0].n).toBe(1);
    await owner((c) => c.query("select * from app.refresh_materialized_views(array['analytics_private.patient_mood_summary'])"));
    expect((await count()).rows[0].n).toBe(2);
  });
});

describe("figures", () => {
  it("patient mood: 7/30-day averages, entries and the current streak", async () => {
    const r = await owner((c) =>
      c.query(
        `select patient_id, avg_mood_7_days::float as avg7, avg_mood_30_days::float as avg30, entries_7_days::int as e7, entries_30_days::int as e30,
                entries_90_days::int as e90, current_streak_days::int as streak
           from analytics_private.patient_mood_summary where patient_id = any($1) order by patient_id`,
        [[patient(1), patient(2), patient(13)]],
      ),
    );
    expect(r.rows).toEqual([
      { patient_id: patient(1), avg7: 6, avg30: 6, e7: 3, e30: 3, e90: 4, streak: 3 },
      { patient_id: patient(2), avg7: 5, avg30: 5, e7: 1, e30: 1, e90: 1, streak: 1 },
      { patient_id: patient(13), avg7: 7, avg30: 8, e7: 1, e30: 2, e90: 2, streak: 0 },
    ]);
  });

  it("organization dashboard: patients, providers, appointments by outcome, waitlist, mood", async () => {
    const r = await owner((c) => c.query("select * from analytics_private.organization_dashboard where organization_id = $1", [ORG_A]));
    expect(r.rows[0]).toMatchObject({
      active_patients: "13",
      active_providers: "3",
      telehealth_providers: "1",
      appointments_next_7_days: "2",
      appointments_last_30_days: "16",
      completed_last_30_days: "14",
      no_show_last_30_days: "1",
      cancelled_last_30_days: "1",
      no_show_rate_percent: "6.25",
      waitlist_active: "2",
      mood_patients_30_days: "13",
    });
    const b = await owner((c) =>
      c.query(
        "select active_patients::int, appointments_last_30_days::int, mood_patients_30_days::int, mood_entries_30_days::int, avg_mood_30_days::float as avg from analytics_private.organization_dashboard where organization_id = $1",
        [ORG_B],
      ),
    );
    expect(b.rows[0]).toEqual({ active_patients: 1, appointments_last_30_days: 0, mood_patients_30_days: 1, mood_entries_30_days: 1, avg: 9 });
  });

  it("provider availability and top providers by specialty", async () => {
    const avail = await owner((c) =>
      c.query(
        `select provider_id, available_slots::int as slots, available_slots_7_days::int as week, telehealth_slots::int as tele, next_available is not null as has_next
           from analytics_private.provider_availability where organization_id = $1 order by provider_id`,
        [ORG_A],
      ),
    );
    expect(avail.rows).toEqual([
      { provider_id: PR.pr1, slots: 3, week: 2, tele: 1, has_next: true },
      { provider_id: PR.pr2, slots: 0, week: 0, tele: 0, has_next: false },
      { provider_id: PR.pr3, slots: 0, week: 0, tele: 0, has_next: false },
    ]);
    const top = await owner((c) =>
      c.query(
        "select specialty, provider_id, completed_90_days::int as done, rank_in_specialty::int as rank from analytics_private.top_providers where organization_id = $1 order by 1, 4",
        [ORG_A],
      ),
    );
    expect(top.rows).toEqual([
      { specialty: "cardiology", provider_id: PR.pr1, done: 12, rank: 1 },
      { specialty: "cardiology", provider_id: PR.pr3, done: 0, rank: 2 },
      { specialty: "psychiatry", provider_id: PR.pr1, done: 12, rank: 1 },
      { specialty: "psychiatry", provider_id: PR.pr2, done: 2, rank: 2 },
    ]);
  });

  it("de-identified views suppress cells under 11 patients", async () => {
    const mood = await owner((c) => c.query("select week_start, patients::int from analytics.mood_weekly order by 1"));
    expect(mood.rows.length).toBeGreaterThanOrEqual(1);
    expect(mood.rows.every((x) => x.patients >= 11)).toBe(true);
    const appts = await owner((c) => c.query("select status, appointments::int, patients::int from analytics.appointment_volume_monthly order by 1"));
    expect(appts.rows.map((x) => x.status)).toEqual(["completed"]); // no-show (1 patient) and cancelled (1) suppressed
    expect(appts.rows[0]).toEqual({ status: "completed", appointments: 14, patients: 12 });
    const reader = await inTx(db.client, (c) => c.query("select count(*)::int as n from analytics.appointment_volume_monthly"), { role: "analytics_reader" });
    expect(reader.rows[0].n).toBe(1);
  });
});

describe("reading the private views through the authorising functions", () => {
  it("dashboard: admins and providers of the organization, nobody else", async () => {
    const mine = await as(U.adminA, (c) => c.query("select organization_id, active_patients::int from tenant.organization_dashboard($1)", [ORG_A]));
    expect(mine.rows).toEqual([{ organization_id: ORG_A, active_patients: 13 }]);
    expect((await as(U.provA2, (c) => c.query("select count(*)::int as n from tenant.organization_dashboard($1)", [ORG_A]))).rows[0].n).toBe(1);
    for (const [who, org] of [[U.adminB, ORG_A], [U.patient1, ORG_A], [U.adminA, ORG_B], [U.researchA, ORG_A], [U.developerA, ORG_A]]) {
      const e = await errorOf(as(who, (c) => c.query("select * from tenant.organization_dashboard($1)", [org])));
      expect({ who, org, code: e.code }).toEqual({ who, org, code: "42501" });
    }
    expect((await errorOf(inTx(db.client, (c) => c.query("select * from tenant.organization_dashboard($1)", [ORG_A]), { role: "authenticated" }))).code).toBe("42501");
  });

  it("dashboard: mood figures only over at least 11 patients (one patient's average is that patient's mood)", async () => {
    const q = "select mood_patients_30_days::int as patients, mood_entries_30_days::int as entries, avg_mood_30_days::float as avg from tenant.organization_dashboard($1)";
    const a = await as(U.adminA, (c) => c.query(q, [ORG_A]));
    expect(a.rows[0].patients).toBe(13);
    expect(a.rows[0].entries).toBeGreaterThanOrEqual(13);
    expect(a.rows[0].avg).not.toBeNull();
    // Organization B: the view holds one patient's entry and score 9; its admin gets neither.
    const b = await as(U.adminB, (c) => c.query(q, [ORG_B]));
    expect(b.rows).toEqual([{ patients: 1, entries: null, avg: null }]);
  });

  it("availability: admins, providers and patients of the organization; not research partners or developers", async () => {
    for (const who of [U.adminA, U.provA2, U.patient1]) {
      const avail = await as(who, (c) => c.query("select count(*)::int as n from app.provider_availability($1)", [ORG_A]));
      expect({ who, n: avail.rows[0].n }).toEqual({ who, n: 3 });
    }
    for (const who of [U.researchA, U.developerA, U.adminB]) {
      const e = await errorOf(as(who, (c) => c.query("select * from app.provider_availability($1)", [ORG_A])));
      expect({ who, code: e.code }).toEqual({ who, code: "42501" });
    }
  });

  it("top providers (completed appointments and patients seen per provider): admins and providers only", async () => {
    for (const who of [U.adminA, U.provA2]) {
      const top = await as(who, (c) => c.query("select provider_id, patients_90_days::int as patients from app.top_providers($1, 'psychiatry', 1)", [ORG_A]));
      expect({ who, rows: top.rows }).toEqual({ who, rows: [{ provider_id: PR.pr1, patients: 12 }] });
    }
    for (const who of [U.researchA, U.developerA, U.patient1, U.adminB]) {
      const e = await errorOf(as(who, (c) => c.query("select * from app.top_providers($1)", [ORG_A])));
      expect({ who, code: e.code }).toEqual({ who, code: "42501" });
    }
  });

  it("mood summary (PHI): the patient and a provider who treats the patient; not an admin, a colleague who does not treat, a research partner or a developer", async () => {
    for (const who of [U.patient1, U.provA1]) {
      const r = await as(who, (c) => c.query("select patient_id, current_streak_days::int as streak from app.patient_mood_summary($1)", [patient(1)]));
      expect({ who, rows: r.rows }).toEqual({ who, rows: [{ patient_id: patient(1), streak: 3 }] });
    }
    // RLS on app.mood_entries gives admins no mood entries, so neither does the summary; provA2 only
    // has a cancelled appointment with patient 1; adminB is another organization.
    for (const who of [U.adminA, U.provA2, U.adminB, U.researchA, U.developerA]) {
      const e = await errorOf(as(who, (c) => c.query("select * from app.patient_mood_summary($1)", [patient(1)])));
      expect({ who, code: e.code }).toEqual({ who, code: "42501" });
    }
    // patient 1 cannot read patient 2; an unknown id gives the same answer as a forbidden one.
    expect((await errorOf(as(U.patient1, (c) => c.query("select * from app.patient_mood_summary($1)", [patient(2)])))).code).toBe("42501");
    expect((await errorOf(as(U.patient1, (c) => c.query("select * from app.patient_mood_summary(gen_random_uuid())")))).code).toBe("42501");
    const provider = await as(U.provA2, (c) => c.query("select count(*)::int as n from app.patient_mood_summary($1)", [patient(2)]));
    expect(provider.rows[0].n).toBe(1); // provA2 treats patient 2 (completed appointment)
  });
});
