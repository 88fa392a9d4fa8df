/**
 * The schema as a whole: all migrations, repeatables and the dev seed apply from empty through the
 * real engine with the real access model, the migrator's checks pass, every table the issue lists
 * exists with the properties every table must have, and nothing is exposed to request roles yet.
 */
import { loadProject } from "../../migrator/files";
import type { Client } from "pg";
import { createSchemaDatabase, errorOf, inTx, managedTables, SchemaDatabase } from "./schema-support";

let db: SchemaDatabase;
beforeAll(async () => {
  db = await createSchemaDatabase("schema_apply", { seed: true });
}, 120000);
afterAll(async () => db?.drop());

const EXPECTED_TABLES = [
  // tenant
  "tenant.organizations", "tenant.organization_members", "tenant.api_keys", "tenant.api_key_usage",
  "tenant.oauth_clients", "tenant.oauth_access_tokens", "tenant.oauth_refresh_tokens", "tenant.oauth_scopes",
  "tenant.instance_settings", "tenant.instance_module_activations", "tenant.instance_network_config",
  // app
  "app.encryption_keys", "app.profiles", "app.patients", "app.providers", "app.appointment_slots", "app.appointments",
  "app.waitlists", "app.waitlist_entries", "app.patient_consents", "app.crisis_access_grants", "app.conditions",
  "app.treatments", "app.trials", "app.measurements", "app.documents", "app.mood_entries", "app.patient_food_log",
  "app.patient_activity_log", "app.patient_condition_events", "app.patient_data_import_sources", "app.patient_insights",
  "app.patient_health_goals", "app.learning_resources", "app.patient_learning_progress", "app.ai_doctor_sessions",
  "app.ai_doctor_sharing_permissions", "app.encrypted_user_prefs", "app.encrypted_cycle_data", "app.healthcare_shares",
  "app.share_tokens", "app.device_keys",
  // optional e-commerce module
  "app.products", "app.orders", "app.order_items", "app.cart_items",
  // audit
  "audit.log", "audit.chain_heads", "audit.hash_salts", "audit.phi_access_log", "audit.security_events",
  "audit.share_audit", "audit.erasure_log", "audit.log_archive",
  // storage, cache, logs, analytics
  "storage_meta.objects", "storage_meta.object_chunks", "storage_meta.quotas", "storage_meta.deletion_queue",
  "cache.analysis_results", "logs.performance_logs", "analytics.metrics",
];

/** Append-only evidence: rows are never updated, so they carry created_at/occurred_at but no updated_at. */
const APPEND_ONLY = ["audit.log", "audit.log_archive", "audit.phi_access_log", "audit.security_events", "audit.share_audit", "audit.erasure_log"];

/** Top-level tables (partitions excluded) of the managed schemas. */
async function topLevelTables(): Promise<string[]> {
  const r = await db.client.query(
    `select n.nspname || '.' || c.relname as t
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition
        and n.nspname in ('tenant', 'app', 'audit', 'storage_meta', 'cache', 'logs', 'analytics', 'auth')
      order by 1`,
  );
  return r.rows.map((x) => x.t);
}

it("applies everything from empty and passes the migrator's checks", async () => {
  expect(db.result.checks.map((c) => [c.name, c.ok])).toEqual(db.result.checks.map((c) => [c.name, true]));
  expect(db.result.checks.map((c) => c.name)).toEqual(
    expect.arrayContaining(["rls-forced", "rls-has-policy", "no-orphan-policy", "definer-search-path", "views-invoker"]),
  );
  expect(db.result.applied.map((a) => a.key)).toEqual([...db.result.applied.map((a) => a.key)].sort());
  expect(db.result.applied[0].key).toBe("20261122001_foundation");
  const files = db.result.repeatables.map((r) => r.file);
  expect(files).toEqual(expect.arrayContaining(["functions/010_phi_encryption.sql", "views/logs_slow_queries.sql", "seed/local/010_demo_tenants.sql"]));
});

it("creates every table the issue lists, and no other top-level table", async () => {
  expect(await topLevelTables()).toEqual([...EXPECTED_TABLES].sort());
});

it("creates appointments and the audit log partitioned by month, with a default partition and the current month", async () => {
  const r = await db.client.query(
    `select c.relname as parent, pg_get_partkeydef(c.oid) as key,
            (select array_agg(p.relname::text order by p.relname) from pg_inherits i join pg_class p on p.oid = i.inhrelid where i.inhparent = c.oid) as parts
       from pg_class c where c.oid in ('app.appointments'::regclass, 'audit.log'::regclass) order by 1`,
  );
  const month = new Date().toISOString().slice(0, 7).replace("-", "_");
  expect(r.rows.map((x) => x.key)).toEqual(["RANGE (start_time)", "RANGE (occurred_at)"]);
  for (const row of r.rows) {
    expect(row.parts).toEqual(expect.arrayContaining([`${row.parent}_default`, `${row.parent}_p${month}`]));
  }
  // 1 back + current + 18 ahead for appointments, 1 back + current + 3 ahead for the audit log (+ defaults).
  expect(r.rows.find((x) => x.parent === "appointments").parts).toHaveLength(21);
  expect(r.rows.find((x) => x.parent === "log").parts).toHaveLength(6);
});

it("gives every table (partitions included) forced RLS, the baseline deny policy and a comment", async () => {
  const tables = await managedTables(db.client);
  expect(tables.length).toBeGreaterThan(EXPECTED_TABLES.length);
  const r = await db.client.query(
    `select format('%s.%s', n.nspname, c.relname) as t, c.relrowsecurity and c.relforcerowsecurity as forced,
            exists (select from pg_policy p where p.polrelid = c.oid and p.polname = 'baseline_deny_all'
                      and p.polpermissive and pg_get_expr(p.polqual, p.polrelid) = 'false') as baseline,
            obj_description(c.oid, 'pg_class') is not null as commented
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where format('%s.%s', n.nspname, c.relname) = any($1)`,
    [tables],
  );
  const bad = r.rows.filter((x) => !x.forced || !x.baseline || !x.commented);
  expect(bad).toEqual([]);
});

it("gives every table a primary key and created_at, and every mutable table an updated_at trigger", async () => {
  const r = await db.client.query(
    `select format('%s.%s', n.nspname, c.relname) as t,
            exists (select from pg_constraint k where k.conrelid = c.oid and k.contype = 'p') as pk,
            exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'created_at' and not a.attisdropped) as created,
            exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'updated_at' and not a.attisdropped) as updated,
            exists (select from pg_trigger g where g.tgrelid = c.oid and g.tgname = 'set_updated_at') as trigger
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where format('%s.%s', n.nspname, c.relname) = any($1)`,
    [EXPECTED_TABLES],
  );
  for (const row of r.rows) {
    expect({ t: row.t, pk: row.pk, created: row.created }).toEqual({ t: row.t, pk: true, created: true });
    const mutable = !APPEND_ONLY.includes(row.t);
    expect({ t: row.t, updated: row.updated, trigger: row.trigger }).toEqual({ t: row.t, updated: mutable, trigger: mutable });
  }
});

it("maintains updated_at and keeps created_at immutable", async () => {
  const out = await inTx(db.client, async (c) => {
    const before = await c.query("select created_at, updated_at from tenant.organizations where slug = 'demo-clinic'");
    await c.query("select pg_sleep(0.01)");
    await c.query("update tenant.organizations set name = 'Demo Clinic (renamed)', created_at = '2001-01-01' where slug = 'demo-clinic'");
    const after = await c.query("select created_at, updated_at from tenant.organizations where slug = 'demo-clinic'");
    return { before: before.rows[0], after: after.rows[0] };
  });
  expect(out.after.created_at).toEqual(out.before.created_at);
  expect(out.after.updated_at.getTime()).toBeGreaterThan(out.before.updated_at.getTime());
});

/**
 * The PHI-comment rule. A relation holds a patient's data when it is app.patients or app.profiles,
 * has a column naming a patient or a person (patient_id, subject_patient_id, launch_patient_id,
 * user_id), or is a child row of such a relation (foreign key ON DELETE CASCADE to it). Every column
 * of such a relation must carry a comment starting 'PHI:', except
 *   - keys: primary-key and foreign-key columns (tables), created_at and updated_at;
 *   - the columns below, reviewed one by one, each with the reason it is not about the person.
 * A new table or column that refers to a patient fails this test until its columns are commented
 * 'PHI: ...' or reviewed here (and, for a new patient-data relation, added to PATIENT_DATA_RELATIONS).
 */
const ACCESS = "access-control bookkeeping of a grant, share, consent or token (when it was given, how it may be used, expiry, revocation, use count), not about the person's health";
const TOKEN = "digest or lifecycle of a credential (never the credential, never about the person)";
const STORED = "technical metadata of the stored object (type, size, digest, key location, encryption parameters, lifecycle)";
const EVIDENCE = "audit evidence: pseudonymous ids, table and field names, purpose, never values; kept after an erasure on purpose (GDPR Art. 17(3)(b),(e))";
const CACHE = "cache bookkeeping (lookup key of ids and parameters, hits, expiry)";
const KEY = "key of a materialized view (no constraints on views): the patient/organization it is about";
const NOT_PHI: Record<string, Record<string, string>> = {
  "analytics_private.patient_mood_summary": { organization_id: KEY, patient_id: KEY, refreshed_at: "when the view was computed" },
  "app.ai_doctor_sessions": { model_name: "which AI model served the session (a property of the platform)" },
  "app.ai_doctor_sharing_permissions": { permission_level: ACCESS, shared_at: ACCESS, expires_at: ACCESS, revoked_at: ACCESS },
  "app.crisis_access_grants": { grant_role: "role of the grantee (a staff member), not of the patient", granted_at: ACCESS, expires_at: ACCESS, revoked_at: ACCESS },
  "app.device_keys": {
    device_id_hash: "salted digest telling devices apart; the device id is never stored",
    public_key: "public half of the device's key pair (public by design; the health data is in encrypted_cycle_data)",
    key_algorithm: "cryptographic algorithm of the key",
    key_fingerprint: "digest of the public key",
    status: "key lifecycle (active, rotated, revoked)",
    rotated_at: "key lifecycle",
    revoked_at: "key lifecycle",
    last_seen_at: "key lifecycle (when the key was last used to authenticate)",
  },
  "app.documents": {
    content_type: STORED, size_bytes: STORED, sha256: STORED, s3_key: STORED, status: STORED, encryption_key_id: STORED,
    encryption_algorithm: STORED, encryption_metadata: STORED, last_access_review_at: "when the document's access was last reviewed (compliance bookkeeping)",
    deleted_at: "bookkeeping: soft deletion",
  },
  "app.encrypted_cycle_data": { version: "optimistic-concurrency counter", deleted_at: "bookkeeping: soft deletion (tombstone for sync)" },
  "app.encrypted_user_prefs": { version: "optimistic-concurrency counter" },
  "app.healthcare_shares": { status: ACCESS, expires_at: ACCESS, revoked_at: ACCESS },
  "app.orders": { currency: "ISO currency code of the shop", payment_method_ref: "payment processor token (never a card number: refused by a CHECK)" },
  "app.patient_consents": { granted_at: ACCESS, valid_until: ACCESS, revoked_at: ACCESS, consent_version: "version of the consent text (a document of the organization)" },
  "app.patient_data_import_sources": {
    auth_token_encrypted: TOKEN, refresh_token_encrypted: TOKEN, token_expires_at: TOKEN,
    status: "state of the connection (pending, active, error, revoked, disconnected)", last_sync_at: "synchronisation bookkeeping",
    last_error: "technical synchronisation error (must not contain values)",
  },
  "app.patient_insights": { data_sources: "names and ids of the tables an insight was derived from", generated_at: "when the job computed the insight (job bookkeeping)" },
  "app.profiles": {
    status: "account lifecycle", consent_version: "version of the platform's terms the person accepted", consent_at: "when the terms were accepted (consent bookkeeping)",
    last_hipaa_review_at: "compliance bookkeeping",
  },
  "app.share_tokens": { token_hash: TOKEN, expires_at: ACCESS, max_uses: ACCESS, use_count: ACCESS, last_used_at: ACCESS, revoked_at: ACCESS },
  "app.waitlist_entries": { offer_expires_at: "scheduling bookkeeping: until when an offered slot is held" },
  "audit.erasure_log": {
    occurred_at: EVIDENCE, patient_id: EVIDENCE, organization_id: EVIDENCE, profile_id: EVIDENCE, requested_by: EVIDENCE, db_user: EVIDENCE,
    request_reference: EVIDENCE, reason: EVIDENCE, rows_deleted: EVIDENCE, objects_queued: EVIDENCE,
  },
  "audit.phi_access_log": {
    occurred_at: EVIDENCE, actor_id: EVIDENCE, actor_role: EVIDENCE, db_user: EVIDENCE, organization_id: EVIDENCE, patient_id: EVIDENCE,
    table_schema: EVIDENCE, table_name: EVIDENCE, fields: EVIDENCE, purpose: EVIDENCE, client_ip_hash: EVIDENCE, session_id: EVIDENCE,
  },
  "cache.analysis_results": { cache_key: CACHE, hit_count: CACHE, last_hit_at: CACHE, expires_at: CACHE },
  "tenant.oauth_access_tokens": { token_hash: TOKEN, scopes: "SMART scopes the client was granted (technical permissions)", expires_at: TOKEN, revoked_at: TOKEN },
  "tenant.oauth_refresh_tokens": { token_hash: TOKEN, scopes: "SMART scopes the client was granted (technical permissions)", expires_at: TOKEN, revoked_at: TOKEN, rotated_at: TOKEN },
  // The membership is the access-control record every policy reads (who may act in which organization
  // as what). A 'patient' membership does reveal a care relationship; the care itself is PHI in
  // app.patients and the clinical tables.
  "tenant.organization_members": { user_type: "access-control role in the organization", status: "membership lifecycle", joined_at: "membership lifecycle" },
};

/** The relations holding a patient's data (see above): a new one must be reviewed and added here. */
const PATIENT_DATA_RELATIONS = [
  "analytics_private.patient_mood_summary",
  "app.ai_doctor_sessions", "app.ai_doctor_sharing_permissions", "app.appointments", "app.cart_items", "app.crisis_access_grants",
  "app.device_keys", "app.documents", "app.encrypted_cycle_data", "app.encrypted_user_prefs", "app.healthcare_shares", "app.measurements",
  "app.mood_entries", "app.order_items", "app.orders", "app.patient_activity_log", "app.patient_condition_events", "app.patient_consents",
  "app.patient_data_import_sources", "app.patient_food_log", "app.patient_health_goals", "app.patient_insights", "app.patient_learning_progress",
  "app.patients", "app.profiles", "app.share_tokens", "app.waitlist_entries",
  "audit.erasure_log", "audit.phi_access_log",
  "cache.analysis_results",
  "tenant.oauth_access_tokens", "tenant.oauth_refresh_tokens", "tenant.organization_members",
];

const PATIENT_DATA_SQL = `
  with rels as (
    select c.oid, format('%s.%s', n.nspname, c.relname) as t
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p', 'm') and not c.relispartition
       and n.nspname in ('tenant', 'app', 'audit', 'storage_meta', 'cache', 'logs', 'analytics', 'analytics_private', 'auth')
  ),
  direct as (
    select r.oid from rels r
     where r.t in ('app.patients', 'app.profiles')
        or exists (select from pg_attribute a where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
                    and a.attname in ('patient_id', 'subject_patient_id', 'launch_patient_id', 'user_id'))
  ),
  scope as (
    select oid from direct
    union
    select k.conrelid from pg_constraint k join direct d on d.oid = k.confrelid
     where k.contype = 'f' and k.confdeltype = 'c' and k.conrelid in (select oid from rels)
  )`;

/** Columns of the patient-data relations that are neither keys nor PHI-commented (allow-list not applied). */
async function uncommentedColumns(c: Client): Promise<Array<{ t: string; col: string; comment: string | null }>> {
  const r = await c.query(
    `${PATIENT_DATA_SQL}
     select r.t, a.attname::text as col, col_description(r.oid, a.attnum) as comment
       from rels r join scope s on s.oid = r.oid
       join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
      where a.attname not in ('created_at', 'updated_at')
        and not exists (select from pg_constraint k where k.conrelid = r.oid and k.contype in ('p', 'f') and a.attnum = any (k.conkey))
        and coalesce(col_description(r.oid, a.attnum), '') !~ '^PHI:'
      order by 1, a.attnum`,
  );
  return r.rows;
}

/** PHI-rule violations: uncommented columns not in the reviewed allow-list. */
async function phiCommentViolations(c: Client): Promise<string[]> {
  return (await uncommentedColumns(c)).filter((x) => !(NOT_PHI[x.t] && x.col in NOT_PHI[x.t])).map((x) => `${x.t}.${x.col}`);
}

describe("PHI comments", () => {
  it("finds the relations holding a patient's data (a new one must be reviewed)", async () => {
    const r = await db.client.query(`${PATIENT_DATA_SQL} select r.t from rels r join scope s on s.oid = r.oid order by 1`);
    expect(r.rows.map((x) => x.t)).toEqual([...PATIENT_DATA_RELATIONS].sort());
  });

  it("comments every column of those relations 'PHI: ...', except keys and the reviewed non-PHI columns", async () => {
    expect(await phiCommentViolations(db.client)).toEqual([]);
  });

  it("has no stale or contradictory allow-list entry: each names an existing column that is not commented PHI", async () => {
    const uncommented = new Set((await uncommentedColumns(db.client)).map((x) => `${x.t}.${x.col}`));
    const listed = Object.entries(NOT_PHI).flatMap(([t, cols]) => Object.keys(cols).map((col) => `${t}.${col}`));
    expect(listed.filter((x) => !uncommented.has(x))).toEqual([]);
  });

  it("fails when a PHI column loses its comment, or a new column of a patient table has none", async () => {
    await db.client.query("begin");
    try {
      await db.client.query("comment on column app.patient_food_log.calories is null");
      await db.client.query("comment on column app.mood_entries.notes is 'free text'");
      await db.client.query("alter table app.patient_activity_log add column heart_rate_avg integer");
      expect(await phiCommentViolations(db.client)).toEqual(["app.mood_entries.notes", "app.patient_activity_log.heart_rate_avg", "app.patient_food_log.calories"]);
    } finally {
      await db.client.query("rollback");
    }
  });

  it("marks the known PHI columns and audits every table that has one", async () => {
    const r = await db.client.query(
      `select format('%s.%s', n.nspname, c.relname) as t, array_agg(a.attname::text order by a.attname) as phi,
              exists (select from pg_trigger g where g.tgrelid = c.oid and g.tgname = 'audit_insert') as audited
         from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition and col_description(c.oid, a.attnum) like 'PHI:%'
        group by 1, 3 order by 1`,
    );
    const byTable = Object.fromEntries(r.rows.map((x) => [x.t, x.phi as string[]]));
    expect(byTable["app.patients"]).toEqual(
      expect.arrayContaining(["first_name", "last_name", "date_of_birth", "ssn_encrypted", "medical_history_encrypted", "insurance_details_encrypted", "status"]),
    );
    expect(byTable["app.patient_food_log"]).toEqual(expect.arrayContaining(["quantity", "unit", "calories", "protein_g", "carbs_g", "fat_g"]));
    expect(byTable["app.patient_activity_log"]).toEqual(expect.arrayContaining(["duration_minutes", "intensity", "calories_burned"]));
    expect(byTable["app.patient_health_goals"]).toEqual(expect.arrayContaining(["unit", "target_date", "status"]));
    expect(byTable["app.patient_insights"]).toEqual(expect.arrayContaining(["insight_type", "confidence_score"]));
    expect(byTable["app.healthcare_shares"]).toEqual(expect.arrayContaining(["scopes"]));
    expect(byTable["app.patient_data_import_sources"]).toEqual(expect.arrayContaining(["source_name"]));
    expect(byTable["app.orders"]).toEqual(expect.arrayContaining(["total_amount", "status"]));
    expect(byTable["app.order_items"]).toEqual(expect.arrayContaining(["quantity", "batch_lot_info"]));
    expect(r.rows.filter((x) => !x.audited).map((x) => x.t)).toEqual([]);
  });

  it("marks the materialized views whose rows can describe a patient, which app.erase_patient refreshes", async () => {
    const r = await db.client.query(
      `select c.oid::regclass::text as v from pg_class c where c.relkind = 'm' and obj_description(c.oid, 'pg_class') like 'PHI:%' order by 1`,
    );
    expect(r.rows.map((x) => x.v)).toEqual(["analytics_private.organization_dashboard", "analytics_private.patient_mood_summary"]);
  });
});

it("exposes nothing to a request from someone who belongs to no organization, whatever the claims say", async () => {
  const tables = await managedTables(db.client);
  const seen: string[] = [];
  // anon and authenticated act for a person; service_role is the back end (its reach is in the RLS matrix).
  for (const role of ["anon", "authenticated"]) {
    for (const t of tables) {
      const can = await db.client.query("select has_table_privilege($1, $2, 'SELECT') as ok", [role, t]);
      if (!can.rows[0].ok) continue;
      // a signed-in stranger (no profile, no membership) naming the demo organization in its claims
      const n = await inTx(db.client, (c) => c.query(`select count(*)::int as n from ${t}`), {
        role,
        claims: { sub: "a0000000-0000-4000-8000-0000000000ff", role, org_id: "d0000000-0000-4000-8000-000000000001" },
      });
      if (n.rows[0].n > 0) seen.push(`${role} ${t}`);
    }
  }
  // Only the shared reference data any signed-in person may read (the seed has rows in each).
  expect(seen.sort()).toEqual(
    ["app.conditions", "app.learning_resources", "app.treatments", "app.trials", "tenant.oauth_scopes"].map((t) => `authenticated ${t}`),
  );
  const denied = await errorOf(inTx(db.client, (c) => c.query("select * from app.patients"), { role: "anon" }));
  expect(denied.code).toBe("42501");
});

it("lets no request role execute a SECURITY DEFINER function outside auth, app and tenant", async () => {
  const r = await db.client.query(
    `select r.rolname, n.nspname || '.' || p.proname as f
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       cross join pg_roles r
      where p.prosecdef and n.nspname in ('audit', 'storage_meta', 'cache', 'logs', 'analytics')
        and r.rolname in ('anon', 'authenticated', 'service_role')
        and has_function_privilege(r.oid, p.oid, 'EXECUTE')`,
  );
  expect(r.rows).toEqual([]);
});

describe("claims helpers", () => {
  const claims = (raw: string | null, expr: string) =>
    inTx(
      db.client,
      async (c) => {
        if (raw !== null) await c.query("select set_config('request.jwt.claims', $1, true)", [raw]);
        return (await c.query(`select ${expr} as v`)).rows[0].v;
      },
      { role: "anon" },
    );

  it("read sub, role, org_id and session_id from request.jwt.claims", async () => {
    const raw = JSON.stringify({ sub: "a0000000-0000-4000-8000-000000000003", role: "authenticated", org_id: "d0000000-0000-4000-8000-000000000001", session_id: "s-1" });
    expect(await claims(raw, "auth.uid()")).toBe("a0000000-0000-4000-8000-000000000003");
    expect(await claims(raw, "auth.role()")).toBe("authenticated");
    expect(await claims(raw, "auth.org_id()")).toBe("d0000000-0000-4000-8000-000000000001");
    expect(await claims(raw, "auth.session_id()")).toBe("s-1");
    expect(await claims(raw, "auth.jwt() ->> 'role'")).toBe("authenticated");
  });

  it("return NULL when the claims are unset, empty, malformed or of the wrong shape, and never raise", async () => {
    for (const raw of [null, "", "{not json", "[1,2]", '"text"', '{"sub": "not-a-uuid", "org_id": 42}']) {
      expect(await claims(raw, "auth.uid()")).toBeNull();
      expect(await claims(raw, "auth.org_id()")).toBeNull();
    }
    expect(await claims("{broken", "auth.jwt()")).toBeNull();
    expect(await claims("{broken", "auth.role()")).toBeNull();
  });

  it("are inlined into the queries that call them: no function call, no subtransaction per call (PostgreSQL 16+)", async () => {
    // EXPLAIN VERBOSE shows an inlined SQL function as its body; a function the planner could not
    // inline (PL/pgSQL, or a SQL function with a SET clause or an expensive argument used twice) by name.
    const plan = async (expr: string) => (await db.client.query(`explain (verbose, costs off) select ${expr}`)).rows.map((r) => r["QUERY PLAN"]).join("\n");
    const version = Number((await db.client.query("show server_version_num")).rows[0].server_version_num);
    const uid = await plan("auth.uid()");
    if (version >= 160000) {
      expect(uid).toMatch(/pg_input_is_valid/);
      expect(uid).not.toMatch(/\b(jwt|try_uuid)\(/);
      expect(await plan("auth.org_id()")).not.toMatch(/\b(jwt|try_uuid)\(/);
    } else {
      expect(uid).toMatch(/auth\.jwt\(\)/); // PostgreSQL 15 keeps the exception-block auth.jwt()
      expect(uid).not.toMatch(/try_uuid\(/);
    }
  });

  it("read the client IP from request.client_ip or X-Forwarded-For, NULL when invalid", async () => {
    const ip = (settings: Record<string, string>) =>
      inTx(db.client, async (c) => (await c.query("select host(auth.client_ip()) as v")).rows[0].v, { role: "anon", settings });
    expect(await ip({ "request.client_ip": "203.0.113.7" })).toBe("203.0.113.7");
    expect(await ip({ "request.headers": JSON.stringify({ "x-forwarded-for": "198.51.100.9, 10.0.0.1" }) })).toBe("198.51.100.9");
    expect(await ip({ "request.client_ip": "not an ip" })).toBeNull();
    expect(await ip({ "request.headers": "{oops" })).toBeNull();
  });
});

it("lists slow queries and table statistics without failing where pg_stat_statements is not preloaded", async () => {
  const slow = await inTx(db.client, (c) => c.query("select * from logs.slow_queries"));
  expect(Array.isArray(slow.rows)).toBe(true);
  const stats = await inTx(db.client, (c) => c.query("select relname from logs.table_stats where schemaname = 'app' and relname = 'patients'"));
  expect(stats.rows).toEqual([{ relname: "patients" }]);
});

it("can re-run every repeatable and seed file (the migrator re-runs them when their checksum changes) without duplicating data", async () => {
  const count = async () =>
    (await db.client.query(
      `select (select count(*) from app.patients)::int as patients, (select count(*) from app.appointments)::int as appointments,
              (select count(*) from app.mood_entries)::int as moods, (select count(*) from analytics.metrics)::int as metrics,
              (select count(*) from tenant.organization_members)::int as members`,
    )).rows[0];
  const before = await count();
  const project = loadProject(db.sqlRoot, { environment: "local", includeSeeds: true });
  expect(project.problems).toEqual([]);
  for (const f of [...project.repeatables, ...project.seeds]) {
    await inTx(db.client, (c) => c.query(f.sql));
  }
  expect(await count()).toEqual(before);
  const chains = await db.client.query("select count(*)::int as bad from audit.verify_chain() where not valid");
  expect(chains.rows[0].bad).toBe(0);
});
