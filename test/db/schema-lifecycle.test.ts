/**
 * Data life cycle and integrity: GDPR erasure (no PHI of the patient left, audit chain still valid),
 * the retention purge, the optional e-commerce module's gate, storage usage, clear constraint
 * errors, partitions created ahead / default partition, and rolling every migration back with the
 * down files and applying again.
 */
import type { Client } from "pg";
import { revert } from "../../migrator/apply";
import { loadProject } from "../../migrator/files";
import { applyPlatform } from "../support/platform";
import { ctxFor, DEV_RULES } from "../support/project";
import { createSchemaDatabase, errorOf, inTx, newDataKey, SchemaDatabase, tablesContaining } from "./schema-support";

let db: SchemaDatabase;
const key = newDataKey();
const ORG = "d4000000-0000-4000-8000-000000000001";
const OTHER_ORG = "d4000000-0000-4000-8000-000000000002";
const ADMIN = "a4000000-0000-4000-8000-000000000001";

beforeAll(async () => {
  db = await createSchemaDatabase("schema_life");
  await inTx(
    db.client,
    async (c) => {
      await c.query("select app.register_phi_key('local:lifecycle')");
      await c.query("insert into tenant.organizations (id, name, slug) values ($1, 'Lifecycle Clinic', 'lifecycle'), ($2, 'Elsewhere', 'elsewhere')", [ORG, OTHER_ORG]);
      await c.query("insert into app.profiles (id, email) values ($1, 'admin@lifecycle.example')", [ADMIN]);
      await c.query("insert into tenant.organization_members (organization_id, user_id, user_type, joined_at) values ($1, $2, 'admin', now())", [ORG, ADMIN]);
      await c.query(
        "insert into tenant.instance_module_activations (module_name, is_active, activated_at) values ('ecommerce', true, now()) on conflict (module_name) do update set is_active = true, activated_at = now()",
      );
    },
    { settings: { "phi.data_key": key } },
  );
}, 120000);
afterAll(async () => db?.drop());

const owner = <T>(fn: (c: Client) => Promise<T>) => inTx(db.client, fn, { settings: { "phi.data_key": key } });

describe("GDPR erasure", () => {
  const P = {
    profile: "a4000000-0000-4000-8000-0000000000e1",
    patient: "c4000000-0000-4000-8000-0000000000e1",
    control: "c4000000-0000-4000-8000-0000000000c1",
    provider: "b4000000-0000-4000-8000-000000000001",
  };
  const MARKERS = ["Erasmus", "Forgetme", "erasmus.forgetme@patient.example", "marker-MOOD-8841", "marker-HISTORY-1201", "marker-FOOD-3307", "979-55-1234", "Gdpr Lab Report.pdf"];

  beforeAll(async () => {
    await owner(async (c) => {
      await c.query("insert into app.profiles (id, email, display_name) values ($1, 'erasmus.forgetme@patient.example', 'Erasmus Forgetme')", [P.profile]);
      await c.query("insert into tenant.organization_members (organization_id, user_id, user_type, joined_at) values ($1, $2, 'patient', now())", [ORG, P.profile]);
      await c.query("insert into app.providers (id, organization_id, first_name, last_name) values ($1, $2, 'Keep', 'Provider')", [P.provider, ORG]);
      await c.query(
        `insert into app.patients (id, organization_id, profile_id, first_name, last_name, email, date_of_birth, ssn_encrypted, medical_history_encrypted)
         values ($1, $2, $3, 'Erasmus', 'Forgetme', 'erasmus.forgetme@patient.example', '1979-05-05', app.encrypt_phi('979-55-1234'), app.encrypt_phi('marker-HISTORY-1201'))`,
        [P.patient, ORG, P.profile],
      );
      await c.query("insert into app.patients (id, organization_id, first_name, last_name) values ($1, $2, 'Kept', 'Control')", [P.control, ORG]);
      for (const pid of [P.patient, P.control]) {
        await c.query("insert into app.mood_entries (organization_id, patient_id, mood_score, notes) values ($1, $2, 3, $3)", [ORG, pid, pid === P.patient ? "marker-MOOD-8841" : "control mood"]);
        await c.query(
          "insert into app.appointments (organization_id, patient_id, provider_id, start_time, end_time, appointment_type, notes_encrypted) values ($1, $2, $3, now() + interval '2 days', now() + interval '2 days 1 hour', 'psychotherapy', app.encrypt_phi('session notes'))",
          [ORG, pid, P.provider],
        );
      }
      await c.query("insert into app.patient_food_log (organization_id, patient_id, food_name) values ($1, $2, 'marker-FOOD-3307')", [ORG, P.patient]);
      await c.query("insert into app.measurements (organization_id, patient_id, measurement_type, value, unit, measured_at) values ($1, $2, 'weight', 80.5, 'kg', now())", [ORG, P.patient]);
      await c.query(
        `insert into app.documents (organization_id, patient_id, filename, content_type, size_bytes, sha256, s3_key, status, encryption_key_id)
         values ($1, $2, 'Gdpr Lab Report.pdf', 'application/pdf', 1024, sha256('doc'), 'org/d4/docs/erase-me-1.pdf', 'ready', 'alias/phi-documents')`,
        [ORG, P.patient],
      );
      const obj = await c.query(
        "insert into storage_meta.objects (organization_id, bucket_kind, object_key, sha256, size_bytes, content_type, status) values ($1, 'transcripts', 'org/d4/transcripts/t-1.json', sha256('t'), 300, 'application/json', 'stored') returning id",
        [ORG],
      );
      const s = await c.query(
        "insert into app.ai_doctor_sessions (organization_id, patient_id, session_type, transcript_object_id, summary_encrypted) values ($1, $2, 'mental_health', $3, app.encrypt_phi('summary')) returning id",
        [ORG, P.patient, obj.rows[0].id],
      );
      await c.query("insert into app.ai_doctor_sharing_permissions (organization_id, session_id, provider_id) values ($1, $2, $3)", [ORG, s.rows[0].id, P.provider]);
      await c.query("insert into app.patient_consents (organization_id, patient_id, consent_type) values ($1, $2, 'telehealth')", [ORG, P.patient]);
      const prod = await c.query("insert into app.products (organization_id, name, sku, price) values ($1, 'Kit', 'KIT-1', 10) returning id", [ORG]);
      const ord = await c.query("insert into app.orders (organization_id, patient_id, shipping_address) values ($1, $2, '{\"line1\": \"1 Forgetme Lane\"}') returning id", [ORG, P.patient]);
      await c.query("insert into app.order_items (organization_id, order_id, product_id, quantity, price_per_unit) values ($1, $2, $3, 1, 10)", [ORG, ord.rows[0].id, prod.rows[0].id]);
      await c.query("select cache.put_analysis_result($1, 'mood-trend:e1', 'mood_trend', '{\"avg\": 3}', interval '1 hour', $2)", [ORG, P.patient]);
      await c.query(
        `insert into app.encrypted_cycle_data (user_id, envelope) values ($1, '{"v":1,"alg":"AES-256-GCM","iv":"aXY=","ct":"Y3Q="}')`,
        [P.profile],
      );
      await c.query("insert into app.healthcare_shares (user_id, scopes, expires_at) values ($1, array['cycle'], now() + interval '10 days')", [P.profile]);
    });
    await inTx(db.client, (c) => c.query("select * from app.read_patient_phi($1, 'treatment')", [P.patient]), { settings: { "phi.data_key": key } });
    // The materialized views are refreshed (as the schedule would), so the patient's mood figures
    // are copied into analytics_private.patient_mood_summary, where no DELETE reaches them.
    await owner((c) => c.query("select * from app.refresh_materialized_views()"));
    // The markers and the patient are really in the database before the erasure, the cache included.
    expect(await tablesContaining(db.client, "marker-MOOD-8841")).toEqual(["app.mood_entries"]);
    expect(await tablesContaining(db.client, P.patient)).toEqual(expect.arrayContaining(["analytics_private.patient_mood_summary", "app.mood_entries", "app.patients"]));
  });

  it("refuses to run for a request role (no privilege on the tables it erases)", async () => {
    const e = await errorOf(inTx(db.client, (c) => c.query("select * from app.erase_patient($1, 'REQ-1')", [P.patient]), { role: "authenticated", claims: { sub: ADMIN, role: "authenticated" } }));
    expect(e.code).toBe("42501");
  });

  it("removes every row and value of the patient, queues the S3 objects, writes a receipt, and keeps the audit chain valid", async () => {
    const out = await owner((c) => c.query("select * from app.erase_patient($1, 'REQ-2026-0042')", [P.patient]));
    const counts = Object.fromEntries(out.rows.map((r) => [r.table_name, Number(r.rows_deleted)]));
    expect(counts).toMatchObject({
      "app.patients": 1, "app.mood_entries": 1, "app.appointments": 1, "app.documents": 1, "app.ai_doctor_sessions": 1,
      "app.ai_doctor_sharing_permissions": 1, "app.orders": 1, "app.order_items": 1, "cache.analysis_results": 1,
      "storage_meta.objects": 1, "app.profiles": 1,
      // the materialized views marked PHI were refreshed in the same transaction
      "analytics_private.patient_mood_summary": 1, "analytics_private.organization_dashboard": 0,
    });

    // No PHI value of the patient anywhere, audit and evidence tables included.
    for (const m of MARKERS) expect({ m, tables: await tablesContaining(db.client, m) }).toEqual({ m, tables: [] });
    // No business row refers to the patient or the person any more; only pseudonymous ids in evidence remain.
    for (const id of [P.patient, P.profile]) {
      const where = (await tablesContaining(db.client, id)).filter((t) => !t.startsWith("audit."));
      expect({ id, where }).toEqual({ id, where: [] });
    }
    const queue = await db.client.query("select bucket_kind, object_key, reason from storage_meta.deletion_queue order by object_key");
    expect(queue.rows).toEqual([
      { bucket_kind: "documents", object_key: "org/d4/docs/erase-me-1.pdf", reason: "gdpr_erasure" },
      { bucket_kind: "transcripts", object_key: "org/d4/transcripts/t-1.json", reason: "gdpr_erasure" },
    ]);
    const receipt = await db.client.query("select request_reference, reason, objects_queued, rows_deleted->>'app.patients' as p from audit.erasure_log where patient_id = $1", [P.patient]);
    expect(receipt.rows).toEqual([{ request_reference: "REQ-2026-0042", reason: "gdpr_art17", objects_queued: 2, p: "1" }]);
    const deletes = await db.client.query("select count(*)::int as n from audit.log where row_id = $1 and operation = 'DELETE'", [P.patient]);
    expect(deletes.rows[0].n).toBe(1);

    const chains = await db.client.query("select chain_id, valid, problem from audit.verify_chain()");
    expect(chains.rows.filter((r) => !r.valid)).toEqual([]);
    expect(chains.rows.map((r) => r.chain_id)).toEqual(expect.arrayContaining([`org:${ORG}`, `user:${P.profile}`, "instance"]));

    // The other patient's data is untouched, their cached figures included; the dashboard counts one patient less.
    const control = await db.client.query(
      `select (select count(*) from app.mood_entries where patient_id = $1)::int as mood, (select count(*) from app.appointments where patient_id = $1)::int as appts,
              (select count(*) from analytics_private.patient_mood_summary where patient_id = $1)::int as summary,
              (select mood_patients_30_days::int from analytics_private.organization_dashboard where organization_id = $2) as dashboard`,
      [P.control, ORG],
    );
    expect(control.rows[0]).toEqual({ mood: 1, appts: 1, summary: 1, dashboard: 1 });
  });

  it("keeps a scheduled refresh from copying the patient back while the erasure is open", async () => {
    const patient = "c4000000-0000-4000-8000-0000000000e2";
    await owner(async (c) => {
      await c.query("insert into app.patients (id, organization_id, first_name, last_name) values ($1, $2, 'Second', 'Erasure')", [patient, ORG]);
      await c.query("insert into app.mood_entries (organization_id, patient_id, mood_score) values ($1, $2, 4)", [ORG, patient]);
      await c.query("select * from app.refresh_materialized_views()");
    });
    const eraser = await db.connect();
    try {
      await eraser.query("begin");
      await eraser.query("set local role phi_owner");
      await eraser.query("select * from app.erase_patient($1, 'REQ-2026-0043')", [patient]);
      // The erasure holds the refresh lock until it ends: the job skips instead of computing from a
      // snapshot in which the patient still exists.
      const job = await owner((c) => c.query("select view_name, refresh_mode from app.refresh_materialized_views()"));
      expect(job.rows).toEqual([{ view_name: "*", refresh_mode: "skipped: another refresh is running" }]);
      await eraser.query("commit");
    } finally {
      await eraser.query("rollback").catch(() => undefined);
    }
    const left = await db.client.query("select count(*)::int as n from analytics_private.patient_mood_summary where patient_id = $1", [patient]);
    expect(left.rows[0].n).toBe(0);
    expect((await tablesContaining(db.client, patient)).filter((t) => !t.startsWith("audit."))).toEqual([]);
  });
});

describe("retention purge", () => {
  beforeAll(async () => {
    // Back-dated rows need a superuser bypassing the evidence time stamp (which refuses back-dating).
    await db.client.query("begin");
    await db.client.query("set local session_replication_role = replica");
    await db.client.query("insert into audit.security_events (event_type, occurred_at, created_at) values ('access_denied', now() - interval '7 years', now() - interval '7 years')");
    await db.client.query("insert into audit.hash_salts (period_start, salt) values (date_trunc('month', now() - interval '3 years')::date, sha256('old'))");
    await db.client.query("commit");
    await owner(async (c) => {
      await c.query("insert into audit.security_events (event_type) values ('access_denied')");
      await c.query("insert into logs.performance_logs (logged_at, execution_time_ms) values (now() - interval '45 days', 1200), (now(), 900)");
      await c.query("select app.create_monthly_partition('audit.log', (now() - interval '7 years')::date)");
      await c.query("select cache.put_analysis_result($1, 'short-lived', 'demo', '{}', interval '1 second')", [ORG]);
      await c.query("select audit.privacy_hash('198.51.100.1')"); // creates this month's salt
    });
    await db.client.query("select pg_sleep(1.1)");
  });

  it("counts in a dry run, then removes only what is past retention", async () => {
    const dry = await owner((c) => c.query("select * from app.purge_expired_data(true)"));
    const wouldRemove = Object.fromEntries(dry.rows.map((r) => [r.item, Number(r.rows_affected)]));
    expect(wouldRemove).toMatchObject({ "audit.security_events": 1, "logs.performance_logs": 1, "audit.hash_salts": 1, "cache.analysis_results": 1, "audit.log (partitions)": 1 });
    const still = await db.client.query("select count(*)::int as n from audit.security_events where occurred_at < now() - interval '6 years'");
    expect(still.rows[0].n).toBe(1);

    const run = await owner((c) => c.query("select * from app.run_maintenance()"));
    expect(run.rows.map((r) => r.task)).toEqual(expect.arrayContaining(["partitions app.appointments", "partitions audit.log", "purge audit.security_events"]));
    const left = await db.client.query(
      `select (select count(*) from audit.security_events where occurred_at < now() - interval '6 years')::int as old_events,
              (select count(*) from audit.security_events where event_type = 'access_denied')::int as events,
              (select count(*) from logs.performance_logs)::int as perf,
              (select count(*) from audit.hash_salts where period_start < now() - interval '13 months')::int as old_salts,
              (select count(*) from audit.hash_salts where period_start = date_trunc('month', now() at time zone 'UTC')::date)::int as salts,
              (select count(*) from cache.analysis_results where cache_key = 'short-lived')::int as cache,
              to_regclass('audit.log_p' || to_char(now() - interval '7 years', 'YYYY_MM')) as old_partition`,
    );
    expect(left.rows[0]).toEqual({ old_events: 0, events: 1, perf: 1, old_salts: 0, salts: 1, cache: 0, old_partition: null });
    const chains = await db.client.query("select count(*)::int as bad from audit.verify_chain() where not valid");
    expect(chains.rows[0].bad).toBe(0);
  });
});

describe("optional e-commerce module", () => {
  it("refuses writes to its tables while the module is off, with a clear error", async () => {
    await owner((c) => c.query("update tenant.instance_module_activations set is_active = false where module_name = 'ecommerce'"));
    const e = await errorOf(owner((c) => c.query("insert into app.products (organization_id, name, sku, price) values ($1, 'Off', 'OFF-1', 1)", [ORG])));
    expect(e.code).toBe("PHM01");
    expect(e.message).toBe('module "ecommerce" is not active on this instance: app.products is read-only');
    await owner((c) => c.query("update tenant.instance_module_activations set is_active = true, activated_at = now() where module_name = 'ecommerce'"));
    const ok = await owner((c) => c.query("insert into app.products (organization_id, name, sku, price) values ($1, 'On', 'ON-1', 1) returning id", [ORG]));
    expect(ok.rowCount).toBe(1);
  });
});

describe("storage usage", () => {
  it("sums live documents and objects against the quota, for admins and the owner only", async () => {
    await owner(async (c) => {
      await c.query("insert into storage_meta.quotas (organization_id, max_bytes) values ($1, 10000)", [OTHER_ORG]);
      await c.query(
        `insert into app.documents (organization_id, filename, content_type, size_bytes, sha256, s3_key, status, deleted_at, encryption_key_id) values
           ($1, 'a.pdf', 'application/pdf', 1000, sha256('a'), 'o2/a.pdf', 'ready', null, 'alias/phi'),
           ($1, 'b.pdf', 'application/pdf', 2000, sha256('b'), 'o2/b.pdf', 'ready', null, 'alias/phi'),
           ($1, 'c.pdf', 'application/pdf', 5000, sha256('c'), 'o2/c.pdf', 'deleted', now(), 'alias/phi')`,
        [OTHER_ORG],
      );
      await c.query("insert into storage_meta.objects (organization_id, bucket_kind, object_key, sha256, size_bytes, content_type) values ($1, 'imports', 'o2/i.csv', sha256('i'), 500, 'text/csv')", [OTHER_ORG]);
    });
    const usage = await owner((c) => c.query("select * from tenant.calculate_storage_usage($1)", [OTHER_ORG]));
    expect(usage.rows[0]).toMatchObject({ document_count: "2", document_bytes: "3000", object_count: "1", object_bytes: "500", total_bytes: "3500", quota_bytes: "10000", percent_used: "35.00", over_warning: false });
    const e = await errorOf(inTx(db.client, (c) => c.query("select * from tenant.calculate_storage_usage($1)", [OTHER_ORG]), { role: "authenticated", claims: { sub: ADMIN, role: "authenticated" } }));
    expect(e.code).toBe("42501");
    const dup = await errorOf(owner((c) => c.query("insert into storage_meta.objects (organization_id, bucket_kind, object_key, sha256, size_bytes, content_type) values ($1, 'imports', 'o2/j.csv', sha256('i'), 500, 'text/csv')", [OTHER_ORG])));
    expect(dup.constraint).toBe("objects_org_sha256_key");
  });
});

describe("constraint violations give clear errors", () => {
  let patient: string;
  let provider: string;
  beforeAll(async () => {
    await owner(async (c) => {
      patient = (await c.query("insert into app.patients (organization_id, first_name, last_name) values ($1, 'Con', 'Straint') returning id", [ORG])).rows[0].id;
      provider = (await c.query("insert into app.providers (organization_id, first_name, last_name) values ($1, 'Slot', 'Keeper') returning id", [ORG])).rows[0].id;
    });
  });

  const cases: Array<[string, () => string, unknown[] | (() => unknown[]), string, string]> = [
    ["mood score out of range", () => "insert into app.mood_entries (organization_id, patient_id, mood_score) values ($1, $2, 11)", () => [ORG, patient], "23514", "mood_entries_score_range"],
    ["invalid organization slug", () => "insert into tenant.organizations (name, slug) values ('Bad', 'Bad Slug!')", [], "23514", "organizations_slug_format"],
    ["appointment ending before it starts", () => "insert into app.appointments (organization_id, patient_id, provider_id, start_time, end_time, appointment_type) values ($1, $2, $3, now() + interval '1 day', now(), 'consultation')", () => [ORG, patient, provider], "23514", "appointments_time_order"],
    ["unknown appointment type", () => "insert into app.appointments (organization_id, patient_id, provider_id, start_time, end_time, appointment_type) values ($1, $2, $3, now(), now() + interval '1 hour', 'massage')", () => [ORG, patient, provider], "23514", "appointments_type_valid"],
    ["another tenant's patient", () => "insert into app.mood_entries (organization_id, patient_id, mood_score) values ($1, $2, 5)", () => [OTHER_ORG, patient], "23503", "mood_entries_patient_fkey"],
    ["crisis access longer than 72 hours", () => "insert into app.crisis_access_grants (organization_id, grantee_id, grant_role, reason, expires_at) values ($1, $2, 'crisis_counselor', 'Emergency: patient at risk', now() + interval '4 days')", () => [ORG, ADMIN], "23514", "crisis_access_grants_window"],
    ["card number as payment reference", () => "insert into app.orders (organization_id, patient_id, payment_method_ref) values ($1, $2, '4111111111111111')", () => [ORG, patient], "23514", "orders_payment_ref_not_card_number"],
    ["a secret in instance settings", () => "insert into tenant.instance_settings (setting_key, setting_value) values ('network.api_key', '\"x\"')", [], "23514", "instance_settings_no_secrets"],
    ["duplicate membership", () => "insert into tenant.organization_members (organization_id, user_id, user_type, joined_at) values ($1, $2, 'provider', now())", () => [ORG, ADMIN], "23505", "organization_members_org_user_key"],
    ["unknown user type", () => "insert into tenant.organization_members (organization_id, user_id, user_type, status) values ($1, $2, 'superuser', 'invited')", () => [OTHER_ORG, ADMIN], "23514", "organization_members_user_type_valid"],
  ];

  for (const [what, sql, params, code, constraint] of cases) {
    it(`${what}: SQLSTATE ${code}, constraint ${constraint} named in the message`, async () => {
      const e = await errorOf(owner((c) => c.query(sql(), typeof params === "function" ? params() : params)));
      expect({ code: e.code, constraint: e.constraint }).toEqual({ code, constraint });
      expect(e.message).toContain(`"${constraint}"`);
    });
  }

  it("overlapping slots of one provider: SQLSTATE 23P01 (exclusion constraint)", async () => {
    const insert = (from: string, to: string) =>
      owner((c) => c.query(`insert into app.appointment_slots (organization_id, provider_id, starts_at, ends_at) values ($1, $2, now() + interval '${from}', now() + interval '${to}')`, [ORG, provider]));
    await insert("5 days", "5 days 1 hour");
    const e = await errorOf(insert("5 days 30 minutes", "5 days 90 minutes"));
    expect({ code: e.code, constraint: e.constraint }).toEqual({ code: "23P01", constraint: "appointment_slots_no_overlap" });
  });
});

describe("partitions", () => {
  it("creates a month partition with the parent's RLS, policies and append-only guard", async () => {
    const part = await owner((c) => c.query("select app.create_monthly_partition('audit.log', (now() + interval '2 years')::date)::text as p"));
    const name = part.rows[0].p;
    const r = await db.client.query(
      `select c.relrowsecurity and c.relforcerowsecurity as forced,
              array(select polname::text from pg_policy where polrelid = c.oid order by 1) as policies,
              exists (select from pg_trigger t where t.tgrelid = c.oid and t.tgname = 'refuse_mutation') as guarded
         from pg_class c where c.oid = $1::regclass`,
      [name],
    );
    const parent = await db.client.query("select array(select polname::text from pg_policy where polrelid = 'audit.log'::regclass order by 1) as policies");
    expect(parent.rows[0].policies).toEqual(expect.arrayContaining(["baseline_deny_all", "owner_append", "owner_read", "auditor_read"]));
    expect(r.rows[0]).toEqual({ forced: true, policies: parent.rows[0].policies, guarded: true });
    expect((await errorOf(db.client.query(`truncate ${name}`))).code).toBe("PHA01");
  });

  it("keeps rows beyond the created months in the default partition and then leaves that month to it", async () => {
    const far = await owner(async (c) => {
      const p = (await c.query("insert into app.providers (organization_id, first_name, last_name) values ($1, 'Far', 'Future') returning id", [ORG])).rows[0].id;
      const pt = (await c.query("insert into app.patients (organization_id, first_name, last_name) values ($1, 'Far', 'Future') returning id", [ORG])).rows[0].id;
      return (await c.query(
        "insert into app.appointments (organization_id, patient_id, provider_id, start_time, end_time, appointment_type) values ($1, $2, $3, now() + interval '5 years', now() + interval '5 years 1 hour', 'follow_up') returning tableoid::regclass::text as part",
        [ORG, pt, p],
      )).rows[0].part;
    });
    expect(far).toBe("app.appointments_default");
    const created = await owner((c) => c.query("select app.create_monthly_partition('app.appointments', (now() + interval '5 years')::date) as p"));
    expect(created.rows[0].p).toBeNull();
  });
});

it("rolls every migration back with the down files and applies them again", async () => {
  const scratch = await createSchemaDatabase("schema_rollback");
  try {
    const project = loadProject(scratch.sqlRoot, { environment: "local" });
    const r = await revert({ ...ctxFor(scratch.url, DEV_RULES, "local"), ownerRole: "phi_owner" }, project, { toVersion: "00000000000" });
    expect(r.reverted).toHaveLength(project.migrations.length);
    const left = await scratch.client.query(
      "select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and n.nspname in ('tenant', 'app', 'audit', 'storage_meta', 'cache', 'logs', 'analytics')",
    );
    expect(left.rows[0].n).toBe(0);
    const again = await applyPlatform(scratch.url, { sqlRoot: scratch.sqlRoot });
    expect(again.applied).toHaveLength(project.migrations.length);
    expect(again.checks.every((c) => c.ok)).toBe(true);
  } finally {
    await scratch.drop();
  }
}, 120000);
