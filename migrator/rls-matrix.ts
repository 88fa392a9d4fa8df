/**
 * The RLS attack matrix: what every persona can actually do to every table, measured on the live
 * database rather than read from the catalog.
 *
 *   1. A fixture (two organizations, each with an admin, two providers, three patients, a research
 *      partner and a developer; consents valid and expired; crisis grants valid and expired; rows in
 *      every table of the managed schemas, each with a deterministic id and a label) is inserted as
 *      the owner inside ONE transaction.
 *   2. For each persona (a database role plus the claims the API would set) and each table, in a
 *      savepoint: SELECT (which labelled rows are visible), UPDATE `set key = key` and DELETE
 *      (which labelled rows were changed / removed, read back as the owner by xmin), INSERT of a copy
 *      of each labelled row under a new id (which copies pass the policies' WITH CHECK), and MOVE:
 *      `update <table> set organization_id | patient_id | user_id = <another fixture value>` with no
 *      WHERE (which labelled rows now carry the other organization, patient or person).
 *   3. Everything is rolled back: nothing of the fixture or the probes remains.
 *
 * It needs a session that may SET ROLE to the owner and to every probed role (the local superuser;
 * not the migrator login, which may only become the owner), so `phi-db verify` computes it where
 * that holds and says why not elsewhere. The tests compare it with test/db/expected-rls-matrix.json.
 *
 * Not imported by the Pulumi provider (which serializes the engine's modules by value).
 */
import * as crypto from "crypto";
import type { Client } from "pg";
import { policyMatrix, PolicyMatrix, policyMatrixRoles } from "./checks";

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

/** Deterministic uuid of a fixture label (so the expected matrix names rows, not random ids). */
export function fixtureId(label: string): string {
  const h = crypto.createHash("sha256").update(`phi-db rls fixture:${label}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

type Value = string | number | boolean | null | { sql: string } | { ref: string };

interface FixtureRow {
  table: string;
  label: string;
  values: Record<string, Value>;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ref = (label: string): Value => ({ ref: label });
const sql = (text: string): Value => ({ sql: text });
const sha = (label: string): Value => sql(`sha256(${lit(label)}::bytea)`);
const hex12 = (label: string) => crypto.createHash("sha256").update(label).digest("hex").slice(0, 12);
/** A time in the current UTC month (so fixture appointments share one monthly partition). */
const inMonth = (offset: string): Value => sql(`(date_trunc('month', now() at time zone 'UTC') at time zone 'UTC') + interval ${lit(offset)}`);
const ENVELOPE = `'{"v": 1, "alg": "AES-256-GCM", "iv": "aXY=", "ct": "Y2lwaGVydGV4dA=="}'::jsonb`;

export const ORGS = ["A", "B"] as const;

/** People of the fixture: profile label -> membership (org, user type) or none. */
const PEOPLE: Array<[string, string | null, string | null]> = [];
for (const o of ORGS) {
  PEOPLE.push(
    [`${o}.admin`, o, "admin"],
    [`${o}.provider1`, o, "provider"],
    [`${o}.provider2`, o, "provider"],
    [`${o}.patient1`, o, "patient"],
    [`${o}.patient2`, o, "patient"],
    [`${o}.patient3`, o, "patient"],
    [`${o}.research`, o, "research-partner"],
    [`${o}.developer`, o, "developer"],
  );
}
PEOPLE.push(["X.consent_valid", null, null], ["X.consent_expired", null, null], ["X.crisis_valid", null, null], ["X.crisis_expired", null, null], ["X.stranger", null, null]);

function fixtureRows(): FixtureRow[] {
  const rows: FixtureRow[] = [];
  const add = (table: string, label: string, values: Record<string, Value>) => rows.push({ table, label, values });

  // Instance-level rows (natural keys: replaced inside the fixture transaction, see fixtureSql).
  add("tenant.instance_settings", "setting", { setting_key: "rls_matrix.fixture", setting_value: sql(`'true'::jsonb`), category: "general" });
  add("tenant.instance_module_activations", "module.ecommerce", { module_name: "ecommerce", is_active: true, activated_at: sql("now() - interval '1 day'") });
  add("tenant.instance_network_config", "network", { is_connected_to_network: false });
  add("tenant.oauth_scopes", "scope", { scope: "patient/Immunization.read", description: "fixture scope" });
  add("app.encryption_keys", "phi_key", { key_version: 900001, kms_key_arn: "local:rls_fixture", key_fingerprint: sha("phi_key"), status: "retired", retired_at: sql("now()") });
  add("app.conditions", "condition", { code_system: "custom", code: "rls-fixture-condition", name: "Fixture condition" });
  add("app.treatments", "treatment", { name: "Fixture treatment (rls)", treatment_type: "lifestyle" });
  add("app.trials", "trial", { title: "Fixture trial (rls)", condition_id: ref("condition") });
  add("app.learning_resources", "learning.global", { organization_id: null, title: "Global", resource_type: "article", content: "text", is_published: true });

  for (const [label] of PEOPLE) {
    add("app.profiles", label, { email: `${label.toLowerCase().replace(/[^a-z0-9]/g, "-")}@rls-fixture.example`, display_name: `Fixture ${label}` });
  }

  for (const o of ORGS) {
    const org = ref(`org.${o}`);
    add("tenant.organizations", `org.${o}`, { name: `Fixture org ${o}`, slug: `rls-fixture-${o.toLowerCase()}` });
    for (const [person, po, type] of PEOPLE) {
      if (po === o) add("tenant.organization_members", `${person}.member`, { organization_id: org, user_id: ref(person), user_type: type, status: "active", joined_at: sql("now() - interval '30 days'") });
    }
    add("tenant.api_keys", `${o}.api_key`, { organization_id: org, name: "fixture", key_prefix: `phk_${hex12(`${o}.api_key`)}`, key_hash: sha(`${o}.api_key`), scopes: sql("array['patients:read']") });
    add("tenant.api_key_usage", `${o}.api_key_usage`, { api_key_id: ref(`${o}.api_key`), organization_id: org, outcome: "valid" });
    add("tenant.oauth_clients", `${o}.oauth_client`, {
      organization_id: org, client_id: `rls_fixture_client_${o}`, client_name: `Fixture app ${o}`, client_type: "public",
      token_endpoint_auth_method: "none", redirect_uris: sql("array['https://app.example/cb']"), allowed_scopes: sql("array['openid']"),
    });
    add("tenant.oauth_access_tokens", `${o}.access_token.patient1`, {
      oauth_client_id: ref(`${o}.oauth_client`), organization_id: org, user_id: ref(`${o}.patient1`), token_hash: sha(`${o}.access_token`),
      scopes: sql("array['openid']"), expires_at: sql("now() + interval '1 hour'"),
    });
    add("tenant.oauth_refresh_tokens", `${o}.refresh_token.patient1`, {
      oauth_client_id: ref(`${o}.oauth_client`), organization_id: org, user_id: ref(`${o}.patient1`), token_hash: sha(`${o}.refresh_token`),
      scopes: sql("array['openid']"), expires_at: sql("now() + interval '1 day'"),
    });

    for (const n of [1, 2]) {
      add("app.providers", `${o}.provider${n}.record`, { organization_id: org, profile_id: ref(`${o}.provider${n}`), first_name: "Fixture", last_name: `Provider ${o}${n}` });
    }
    for (const n of [1, 2, 3]) {
      add("app.patients", `${o}.patient${n}.record`, { organization_id: org, profile_id: ref(`${o}.patient${n}`), first_name: "Fixture", last_name: `Patient ${o}${n}`, mrn: `RLS-${o}-${n}` });
    }
    const pat = (n: number) => ref(`${o}.patient${n}.record`);
    const prov = (n: number) => ref(`${o}.provider${n}.record`);

    add("app.appointment_slots", `${o}.slot.provider1`, {
      organization_id: org, provider_id: prov(1), starts_at: inMonth("3 days 9 hours"), ends_at: inMonth("3 days 9 hours 30 minutes"),
    });
    // Care relationships: provider1 treats patient1 and patient2; provider2 treats patient3 (its
    // appointment with patient2 is cancelled, which is no care relationship).
    const appt = (label: string, patient: number, provider: number, type: string, status: string, offset: string) =>
      add("app.appointments", `${o}.appointment.${label}`, {
        organization_id: org, patient_id: pat(patient), provider_id: prov(provider), appointment_type: type, status,
        start_time: inMonth(offset), end_time: inMonth(`${offset} 50 minutes`),
      });
    appt("patient1.psychotherapy", 1, 1, "psychotherapy", "scheduled", "1 day 9 hours");
    appt("patient1.consultation", 1, 1, "consultation", "completed", "1 day 11 hours");
    appt("patient2.consultation", 2, 1, "consultation", "scheduled", "2 days 9 hours");
    appt("patient2.cancelled", 2, 2, "follow_up", "cancelled", "2 days 11 hours");
    appt("patient3.crisis", 3, 2, "crisis_intervention", "completed", "3 days 9 hours");
    appt("patient3.follow_up", 3, 2, "follow_up", "scheduled", "3 days 11 hours");

    add("app.waitlists", `${o}.waitlist`, { organization_id: org, provider_id: prov(1), name: "Fixture waitlist" });
    add("app.waitlist_entries", `${o}.waitlist_entry.patient1`, { organization_id: org, waitlist_id: ref(`${o}.waitlist`), patient_id: pat(1) });

    add("app.patient_consents", `${o}.consent.patient1.treatment`, { organization_id: org, patient_id: pat(1), consent_type: "treatment" });
    if (o === "A") {
      add("app.patient_consents", "A.consent.patient1.psychotherapy_valid", {
        organization_id: org, patient_id: pat(1), consent_type: "psychotherapy_notes_access", granted_to: ref("X.consent_valid"),
        granted_at: sql("now() - interval '1 day'"), valid_until: sql("now() + interval '30 days'"),
      });
      add("app.patient_consents", "A.consent.patient1.psychotherapy_expired", {
        organization_id: org, patient_id: pat(1), consent_type: "psychotherapy_notes_access", granted_to: ref("X.consent_expired"),
        granted_at: sql("now() - interval '60 days'"), valid_until: sql("now() - interval '1 day'"),
      });
      add("app.crisis_access_grants", "A.crisis_grant.patient3_valid", {
        organization_id: org, grantee_id: ref("X.crisis_valid"), patient_id: pat(3), grant_role: "crisis_counselor",
        reason: "Fixture: acute crisis call", granted_by: ref("A.admin"), granted_at: sql("now() - interval '1 hour'"), expires_at: sql("now() + interval '1 day'"),
      });
      add("app.crisis_access_grants", "A.crisis_grant.patient3_expired", {
        organization_id: org, grantee_id: ref("X.crisis_expired"), patient_id: pat(3), grant_role: "emergency_provider",
        reason: "Fixture: earlier crisis, expired", granted_by: ref("A.admin"), granted_at: sql("now() - interval '5 days'"), expires_at: sql("now() - interval '4 days'"),
      });
    }

    add("app.learning_resources", `${o}.learning.published`, { organization_id: org, title: "Org published", resource_type: "article", content: "text", is_published: true });
    add("app.learning_resources", `${o}.learning.draft`, { organization_id: org, title: "Org draft", resource_type: "article", content: "text", is_published: false });

    // Patient data: patient1 (treated by provider1) and patient3 (treated by provider2).
    for (const n of [1, 3]) {
      const p = pat(n);
      const l = (t: string) => `${o}.${t}.patient${n}`;
      add("app.measurements", l("measurement"), { organization_id: org, patient_id: p, measurement_type: "weight", value: 70, unit: "kg", measured_at: sql("now()") });
      add("app.mood_entries", l("mood"), { organization_id: org, patient_id: p, mood_score: 6 });
      add("app.patient_food_log", l("food"), { organization_id: org, patient_id: p, food_name: "Apple" });
      add("app.patient_activity_log", l("activity"), { organization_id: org, patient_id: p, activity_type: "walking" });
      add("app.patient_condition_events", l("condition_event"), { organization_id: org, patient_id: p, condition_id: ref("condition"), event_type: "diagnosed" });
      add("app.patient_insights", l("insight"), { organization_id: org, patient_id: p, insight_type: "trend", insight_text: "Stable" });
      add("app.patient_health_goals", l("goal"), { organization_id: org, patient_id: p, title: "Walk more" });
      add("app.patient_learning_progress", l("learning_progress"), { organization_id: org, patient_id: p, resource_id: ref("learning.global"), progress_percent: 10 });
      add("app.patient_data_import_sources", l("import_source"), { organization_id: org, patient_id: p, source_name: "Watch", source_type: "fitbit" });
      add("app.documents", l("document"), {
        organization_id: org, patient_id: p, uploaded_by: ref(`${o}.patient${n}`), document_type: "lab_result", filename: "lab.pdf",
        content_type: "application/pdf", size_bytes: 100, sha256: sha(l("document")), s3_key: `${o}/documents/${l("document")}`, status: "ready", encryption_key_id: "local:fixture",
      });
      add("app.ai_doctor_sessions", l("ai_session"), { organization_id: org, patient_id: p, session_type: "general" });
      add("cache.analysis_results", l("cache"), {
        organization_id: org, cache_key: `fixture:${l("cache")}`, analysis_type: "summary", subject_patient_id: p, result: sql("'{}'::jsonb"), expires_at: sql("now() + interval '1 day'"),
      });
    }
    add("app.documents", `${o}.document.organization`, {
      organization_id: org, patient_id: null, document_type: "other", filename: "policy.pdf", content_type: "application/pdf", size_bytes: 100,
      sha256: sha(`${o}.document.organization`), s3_key: `${o}/documents/organization`, status: "ready", encryption_key_id: "local:fixture",
    });
    // patient1 shares its AI-doctor session with provider2 (who does not treat patient1).
    add("app.ai_doctor_sharing_permissions", `${o}.ai_share.patient1.provider2`, {
      organization_id: org, session_id: ref(`${o}.ai_session.patient1`), provider_id: prov(2), expires_at: sql("now() + interval '7 days'"),
    });

    // Zero-knowledge data of patient1 (as a person), shared with provider2.
    const owner = ref(`${o}.patient1`);
    add("app.encrypted_user_prefs", `${o}.prefs.patient1`, { user_id: owner, envelope: sql(ENVELOPE) });
    add("app.encrypted_cycle_data", `${o}.cycle.patient1`, { user_id: owner, envelope: sql(ENVELOPE) });
    add("app.healthcare_shares", `${o}.share.patient1`, {
      user_id: owner, recipient_provider_id: prov(2), scopes: sql("array['cycle']"), status: "active", expires_at: sql("now() + interval '30 days'"),
    });
    add("app.share_tokens", `${o}.share_token.patient1`, { share_id: ref(`${o}.share.patient1`), token_hash: sha(`${o}.share_token`), expires_at: sql("now() + interval '7 days'") });
    add("app.device_keys", `${o}.device_key.patient1`, {
      user_id: owner, device_id_hash: sha(`${o}.device`), public_key: `MCowBQYDK2VwAyEA${"x".repeat(32)}`, key_algorithm: "ed25519", key_fingerprint: sha(`${o}.device_key`),
    });

    // E-commerce (the module row above switches it on).
    add("app.products", `${o}.product`, { organization_id: org, name: "Test kit", sku: `SKU-${o}-1`, price: 10 });
    add("app.products", `${o}.product.inactive`, { organization_id: org, name: "Old kit", sku: `SKU-${o}-2`, price: 10, is_active: false });
    add("app.orders", `${o}.order.patient1`, { organization_id: org, patient_id: pat(1), status: "pending" });
    add("app.order_items", `${o}.order_item.patient1`, { organization_id: org, order_id: ref(`${o}.order.patient1`), product_id: ref(`${o}.product`), quantity: 1, price_per_unit: 10 });
    add("app.cart_items", `${o}.cart_item.patient1`, { organization_id: org, patient_id: pat(1), product_id: ref(`${o}.product`), quantity: 1 });

    // Operations.
    add("storage_meta.objects", `${o}.object`, {
      organization_id: org, bucket_kind: "imports", object_key: `${o}/imports/rls-fixture.csv`, sha256: sha(`${o}.object`), size_bytes: 1, content_type: "text/csv", status: "stored",
    });
    add("storage_meta.object_chunks", `${o}.object_chunk`, { object_id: ref(`${o}.object`), chunk_index: 0, size_bytes: 1, sha256: sha(`${o}.object_chunk`) });
    add("storage_meta.quotas", `${o}.quota`, { organization_id: org });
    add("storage_meta.deletion_queue", `${o}.deletion`, { organization_id: org, bucket_kind: "imports", object_key: `${o}/imports/old.csv`, reason: "retention" });
    add("cache.analysis_results", `${o}.cache.organization`, {
      organization_id: org, cache_key: `fixture:${o}:organization`, analysis_type: "summary", result: sql("'{}'::jsonb"), expires_at: sql("now() + interval '1 day'"),
    });
    add("logs.performance_logs", `${o}.performance_log`, { organization_id: org, execution_time_ms: 1 });
    for (const [size, n] of [["large", 50], ["small", 5]] as const) {
      add("analytics.metrics", `${o}.metric.${size}`, {
        organization_id: org, metric_type: "visits.count", dimensions: sql(`'{"cell": "${size}"}'::jsonb`), period_granularity: "day",
        period_start: sql("date_trunc('day', now())"), period_end: sql("date_trunc('day', now()) + interval '1 day'"), value: n, sample_size: n,
      });
    }

    // Audit evidence (the owner appends it; the change log's own rows of the fixture are not labelled).
    add("audit.log", `${o}.audit_log`, {
      chain_id: sql(lit("org:") + " || " + lit(fixtureId(`org.${o}`))), chain_seq: 1000000, operation: "INSERT", table_schema: "app", table_name: "patients",
      row_id: "fixture", organization_id: org, prev_hash: sha("prev"), row_hash: sha(`${o}.audit_log`),
    });
    add("audit.phi_access_log", `${o}.phi_read`, {
      organization_id: org, patient_id: pat(1), table_schema: "app", table_name: "patients", fields: sql("array['ssn_encrypted']"), purpose: "treatment",
    });
    add("audit.security_events", `${o}.security_event`, { event_type: "access_denied", severity: "warning", organization_id: org });
    add("audit.share_audit", `${o}.share_audit`, { share_id: ref(`${o}.share.patient1`), share_owner_id: owner, action: "data_viewed", accessor_kind: "provider" });
    add("audit.erasure_log", `${o}.erasure`, { patient_id: ref(`${o}.patient2.record`), organization_id: org, request_reference: "REQ-1", reason: "patient_request", rows_deleted: sql("'{}'::jsonb") });
  }
  add("audit.hash_salts", "salt.2000-01", { period_start: sql("date '2000-01-01'"), salt: sql("sha256('salt'::bytea) || sha256('salt2'::bytea)") });
  return rows;
}

/** Tables whose fixture rows are keyed by something other than a generated uuid `id`. */
const NATURAL_KEY_CLEANUP: Record<string, string> = {
  "tenant.instance_settings": "delete from tenant.instance_settings where setting_key = 'rls_matrix.fixture'",
  "tenant.instance_module_activations": "delete from tenant.instance_module_activations where module_name = 'ecommerce'",
  "tenant.instance_network_config": "delete from tenant.instance_network_config",
  "tenant.oauth_scopes": "delete from tenant.oauth_scopes where scope = 'patient/Immunization.read'",
  "audit.hash_salts": "delete from audit.hash_salts where period_start = date '2000-01-01'",
};
/** Key column of a table for the probes (id, unless the table has none). */
const KEY_COLUMN: Record<string, string> = { "audit.hash_salts": "period_start", "audit.chain_heads": "chain_id" };
/** Insertion order: parents before children. */
const TABLE_ORDER = [
  "tenant.instance_settings", "tenant.instance_module_activations", "tenant.instance_network_config", "tenant.oauth_scopes", "app.encryption_keys",
  "app.conditions", "app.treatments", "app.trials", "app.profiles", "tenant.organizations", "tenant.organization_members", "tenant.api_keys",
  "tenant.api_key_usage", "tenant.oauth_clients", "app.providers", "app.patients", "tenant.oauth_access_tokens", "tenant.oauth_refresh_tokens",
  "app.appointment_slots", "app.appointments", "app.waitlists", "app.waitlist_entries", "app.patient_consents", "app.crisis_access_grants",
  "app.learning_resources", "app.measurements", "app.mood_entries", "app.patient_food_log", "app.patient_activity_log", "app.patient_condition_events",
  "app.patient_insights", "app.patient_health_goals", "app.patient_learning_progress", "app.patient_data_import_sources", "app.documents",
  "app.ai_doctor_sessions", "app.ai_doctor_sharing_permissions", "app.encrypted_user_prefs", "app.encrypted_cycle_data", "app.healthcare_shares",
  "app.share_tokens", "app.device_keys", "app.products", "app.orders", "app.order_items", "app.cart_items", "storage_meta.objects",
  "storage_meta.object_chunks", "storage_meta.quotas", "storage_meta.deletion_queue", "cache.analysis_results", "logs.performance_logs",
  "analytics.metrics", "audit.log", "audit.phi_access_log", "audit.security_events", "audit.share_audit", "audit.erasure_log", "audit.hash_salts",
];

function render(v: Value): string {
  if (v === null) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string") return lit(v);
  if ("ref" in v) return `${lit(fixtureId(v.ref))}::uuid`;
  return v.sql;
}

/**
 * The fixture as SQL statements, to run as the owner (or a superuser) inside a transaction.
 * Natural-key rows of instance tables are replaced first (inside the caller's transaction).
 */
export function fixtureSql(): string[] {
  const rows = fixtureRows();
  const out: string[] = [];
  for (const t of TABLE_ORDER) {
    const mine = rows.filter((r) => r.table === t);
    if (!mine.length) continue;
    if (NATURAL_KEY_CLEANUP[t]) out.push(NATURAL_KEY_CLEANUP[t]);
    for (const r of mine) {
      const values: Record<string, Value> = KEY_COLUMN[t] ? { ...r.values } : { id: ref(r.label), ...r.values };
      const cols = Object.keys(values);
      out.push(`insert into ${t} (${cols.join(", ")}) values (${cols.map((c) => render(values[c])).join(", ")})`);
    }
  }
  const missing = rows.filter((r) => !TABLE_ORDER.includes(r.table)).map((r) => r.table);
  if (missing.length) throw new Error(`fixture rows for tables without an insertion order: ${[...new Set(missing)].join(", ")}`);
  return out;
}

/** Labels by table and key (as text), including the chain heads the audit trigger creates. */
export function fixtureLabels(): Map<string, Map<string, string>> {
  const m = new Map<string, Map<string, string>>();
  const put = (t: string, key: string, label: string) => {
    if (!m.has(t)) m.set(t, new Map());
    m.get(t)!.set(key, label);
  };
  for (const r of fixtureRows()) {
    if (r.table === "audit.hash_salts") put(r.table, "2000-01-01", r.label);
    else put(r.table, fixtureId(r.label), r.label);
  }
  for (const o of ORGS) put("audit.chain_heads", `org:${fixtureId(`org.${o}`)}`, `chain.org.${o}`);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Personas
// ---------------------------------------------------------------------------------------------

export interface Persona {
  name: string;
  /** Database role the request runs as. */
  role: string;
  /** request.jwt.claims as the API would set it: an object (JSON), a raw string (malformed), or null (unset). */
  claims: Record<string, unknown> | string | null;
  description: string;
}

const sub = (label: string) => fixtureId(label);

export const PERSONAS: Persona[] = [
  { name: "anon", role: "anon", claims: { role: "anon" }, description: "unauthenticated API call" },
  { name: "service_role", role: "service_role", claims: { role: "service_role" }, description: "trusted back end" },
  { name: "auditor", role: "auditor", claims: null, description: "human auditor login (member of auditor)" },
  { name: "analytics_reader", role: "analytics_reader", claims: null, description: "research partner's database login" },
  ...(["admin", "provider1", "provider2", "patient1", "research", "developer"] as const).map((p) => ({
    name: `A.${p}`, role: "authenticated", claims: { sub: sub(`A.${p}`), role: "authenticated" }, description: `${p} of organization A`,
  })),
  { name: "B.admin", role: "authenticated", claims: { sub: sub("B.admin"), role: "authenticated" }, description: "admin of organization B" },
  { name: "X.consent_valid", role: "authenticated", claims: { sub: sub("X.consent_valid"), role: "authenticated" }, description: "named in A.patient1's valid psychotherapy consent" },
  { name: "X.consent_expired", role: "authenticated", claims: { sub: sub("X.consent_expired"), role: "authenticated" }, description: "named in A.patient1's expired psychotherapy consent" },
  { name: "X.crisis_valid", role: "authenticated", claims: { sub: sub("X.crisis_valid"), role: "authenticated" }, description: "valid crisis grant for A.patient3" },
  { name: "X.crisis_expired", role: "authenticated", claims: { sub: sub("X.crisis_expired"), role: "authenticated" }, description: "expired crisis grant for A.patient3" },
  { name: "X.stranger", role: "authenticated", claims: { sub: sub("X.stranger"), role: "authenticated" }, description: "signed in, member of nothing" },
  { name: "forged.no_claims", role: "authenticated", claims: null, description: "authenticated without request.jwt.claims" },
  { name: "forged.no_sub", role: "authenticated", claims: { role: "authenticated", org_id: fixtureId("org.A") }, description: "claims without sub" },
  { name: "forged.malformed", role: "authenticated", claims: `{"sub": "${sub("A.admin")}", "role": `, description: "malformed JSON claims" },
  { name: "forged.sub_not_uuid", role: "authenticated", claims: { sub: `${sub("A.admin")}' or '1'='1`, role: "authenticated" }, description: "sub that is not a uuid" },
  { name: "forged.service_role_claim", role: "authenticated", claims: { sub: sub("A.patient1"), role: "service_role" }, description: "A.patient1 claiming role service_role" },
  { name: "forged.org_claim", role: "authenticated", claims: { sub: sub("B.admin"), role: "authenticated", org_id: fixtureId("org.A") }, description: "B.admin claiming org_id of A" },
];

/** Sets the persona's claims (transaction-local) and role, the way the API does inside its transaction. */
export async function actAs(client: Client, p: Persona): Promise<void> {
  if (p.claims !== null) {
    await client.query("select set_config('request.jwt.claims', $1, true)", [typeof p.claims === "string" ? p.claims : JSON.stringify(p.claims)]);
  }
  await client.query(`set local role ${quoteIdent(p.role)}`);
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

/** Labels of the rows affected, or why the command could not run ("no privilege", "error <SQLSTATE>"). */
export type Outcome = string[] | string;

export interface AttackCell {
  select: Outcome;
  insert: Outcome;
  update: Outcome;
  delete: Outcome;
  /**
   * Tables with organization_id, patient_id or user_id: per move ("organization_id=org.B" ...), the
   * fixture rows whose column the persona changed to that value with `update <table> set <column> =
   * <value>` (no WHERE), or why it could not. Must be [] or a refusal: nobody moves a row to another
   * organization, patient or person.
   */
  move?: Record<string, Outcome>;
}

/** Columns the move probe rewrites, and the two fixture values each is set to (each row differs from at least one). */
export const MOVE_TARGETS: ReadonlyArray<{ column: string; labels: [string, string] }> = [
  { column: "organization_id", labels: ["org.A", "org.B"] },
  { column: "patient_id", labels: ["A.patient1.record", "A.patient3.record"] },
  { column: "user_id", labels: ["A.patient1", "A.patient2"] },
];

/** The moves for a table with these (quoted) columns: `{ name: "organization_id=org.B", column, value }`. */
export function moveTargets(columns: string[]): Array<{ name: string; column: string; value: string }> {
  return MOVE_TARGETS.filter((m) => columns.includes(m.column)).flatMap((m) =>
    m.labels.map((label) => ({ name: `${m.column}=${label}`, column: m.column, value: fixtureId(label) })),
  );
}

export interface AttackMatrix {
  /** Persona name -> description (role and claims). */
  personas: Record<string, string>;
  /** Table (or "<table> (partition)") -> persona -> outcomes. */
  tables: Record<string, Record<string, AttackCell>>;
}

export interface AttackMatrixOptions {
  /** The owner role (the probes read results back as it). */
  owner: string;
  /** Schemas whose tables are probed (the RLS-managed schemas). */
  managedSchemas: string[];
  personas?: Persona[];
  /** Progress callback. */
  log?: (s: string) => void;
}

/** Why the matrix cannot be computed on this session, or null when it can. */
export async function attackMatrixUnavailable(client: Client, owner: string, personas: Persona[] = PERSONAS): Promise<string | null> {
  const roles = [...new Set([owner, ...personas.map((p) => p.role)])];
  const r = await client.query(
    `select r.rolname, pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER') as can
       from pg_catalog.pg_roles r where r.rolname = any ($1::text[])`,
    [roles],
  );
  const missing = roles.filter((x) => !r.rows.some((row) => row.rolname === x));
  if (missing.length) return `role(s) ${missing.join(", ")} do not exist`;
  const cannot = r.rows.filter((row) => !row.can).map((row) => row.rolname as string);
  if (cannot.length) return `the session user cannot SET ROLE to ${cannot.join(", ")} (the attack matrix needs a login that may act as the owner and every request role, e.g. the local superuser)`;
  return null;
}

interface TableInfo {
  name: string;
  /** Relation actually queried (a partition for the pseudo tables). */
  relation: string;
  key: string;
  columns: string[];
}

async function probedTables(client: Client, managedSchemas: string[], labels: Map<string, Map<string, string>>): Promise<TableInfo[]> {
  const r = await client.query(
    `select format('%I.%I', n.nspname, c.relname) as name, c.relkind = 'p' as partitioned,
            (select array_agg(format('%I', a.attname) order by a.attnum) from pg_catalog.pg_attribute a
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '' and a.attidentity <> 'a') as columns,
            exists (select from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attname = 'id' and not a.attisdropped) as has_id
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any ($1::text[])
      order by 1`,
    [managedSchemas],
  );
  const out: TableInfo[] = [];
  for (const t of r.rows) {
    const key = KEY_COLUMN[t.name] ?? (t.has_id ? "id" : null);
    if (!key) continue;
    out.push({ name: t.name, relation: t.name, key, columns: t.columns });
    if (!t.partitioned) continue;
    // The partition holding the fixture's rows, queried directly (it applies its own policies).
    const keys = [...(labels.get(t.name)?.keys() ?? [])];
    const part = await client.query(
      `select format('%I.%I', n.nspname, c.relname) as name
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.oid = (select tableoid from ${t.name} where ${quoteIdent(key)}::text = any ($1::text[]) limit 1)`,
      [keys],
    );
    if (part.rows.length) out.push({ name: `${t.name} (partition)`, relation: part.rows[0].name, key, columns: t.columns });
  }
  return out;
}

/**
 * The probes, server-side (one round trip per table): for each persona, each command runs in a
 * PL/pgSQL exception block (a subtransaction) as the persona, the result is read back as the owner,
 * and a deliberate exception rolls the block back. Created in pg_temp inside the matrix transaction.
 *
 * A refusal counts as row-level security only when the error says so (42501 "... row-level security
 * ..."); any other 42501 is "no privilege" (e.g. a function or column the role may not use), for
 * every command alike. The moves (`p_moves`: name, column, value) each run
 * `update <relation> set <column> = <value>` with no WHERE (so SELECT policies do not narrow it: only
 * the UPDATE policies' USING and WITH CHECK stand in the way) and report the fixture rows whose column
 * the persona actually changed.
 */
const PROBE_FUNCTION = `
create function pg_temp.rls_probe(p_relation text, p_key text, p_columns text[], p_owner text, p_personas jsonb, p_rows jsonb, p_moves jsonb)
returns jsonb
language plpgsql
as $fn$
declare
  v_keys   text[] := array(select r ->> 'k' from jsonb_array_elements(p_rows) r);
  v_cols   text := array_to_string(p_columns, ', ');
  v_xmin   jsonb;
  v_before jsonb := '{}';
  v_tmp    jsonb;
  v_stmt   jsonb;
  v_rowmoves text[];
  v_k      text;
  v_v      text;
  v_n      bigint;
  v_out    jsonb := '{}';
  v_p      jsonb;
  v_row    jsonb;
  v_mv     jsonb;
  v_cmd    text;
  v_res    text[];
  v_cell   jsonb;
  v_moved  jsonb;
  v_ins    text[];
  v_noprv  boolean;
  v_col    text;
begin
  execute format('select coalesce(jsonb_object_agg(k, x), ''{}'') from (select %I::text as k, xmin::text as x from %s where %I::text = any ($1)) s',
                 p_key, p_relation, p_key) into v_xmin using v_keys;
  for v_col in select distinct m ->> 'column' from jsonb_array_elements(p_moves) m loop
    execute format('select coalesce(jsonb_object_agg(%I::text, %I::text), ''{}'') from %s where %I::text = any ($1)',
                   p_key, v_col, p_relation, p_key) into v_tmp using v_keys;
    v_before := v_before || jsonb_build_object(v_col, v_tmp);
  end loop;
  for v_p in select * from jsonb_array_elements(p_personas) loop
    v_cell := '{}';
    foreach v_cmd in array array['select', 'update', 'delete'] loop
      if not has_table_privilege(v_p ->> 'role', p_relation, v_cmd) then
        v_cell := v_cell || jsonb_build_object(v_cmd, 'no privilege');
        continue;
      end if;
      begin
        if v_p ->> 'claims' is not null then perform set_config('request.jwt.claims', v_p ->> 'claims', true); end if;
        perform set_config('role', v_p ->> 'role', true);
        if v_cmd = 'select' then
          execute format('select coalesce(array_agg(%I::text), ''{}'') from %s', p_key, p_relation) into v_res;
        else
          if v_cmd = 'update' then execute format('update %s set %I = %I', p_relation, p_key, p_key);
          else execute format('delete from %s', p_relation); end if;
          perform set_config('role', p_owner, true);
          execute format('select coalesce(array_agg(e.k), ''{}'') from jsonb_each_text($1) e(k, x)
                           where not exists (select from %s t where t.%I::text = e.k and t.xmin::text = e.x)', p_relation, p_key)
            into v_res using v_xmin;
        end if;
        raise exception using errcode = 'PZRLB';
      exception
        when sqlstate 'PZRLB' then
          v_cell := v_cell || jsonb_build_object(v_cmd, to_jsonb(array(select unnest(v_res) intersect select unnest(v_keys))));
        when others then
          v_cell := v_cell || jsonb_build_object(v_cmd, case when sqlstate = '42501' and sqlerrm like '%row-level security%' then 'refused by row-level security'
                                                            when sqlstate = '42501' then 'no privilege' else 'error ' || sqlstate end);
      end;
    end loop;
    if not has_table_privilege(v_p ->> 'role', p_relation, 'insert') then
      v_cell := v_cell || '{"insert": "no privilege"}';
    else
      v_ins := '{}';
      v_noprv := false;
      for v_row in select * from jsonb_array_elements(p_rows) loop
        begin
          if v_p ->> 'claims' is not null then perform set_config('request.jwt.claims', v_p ->> 'claims', true); end if;
          perform set_config('role', v_p ->> 'role', true);
          execute format('insert into %s (%s) select %s from jsonb_populate_record(null::%s, $1)', p_relation, v_cols, v_cols, p_relation) using v_row -> 'copy';
          raise exception using errcode = 'PZRLB';
        exception
          when sqlstate 'PZRLB' then v_ins := v_ins || (v_row ->> 'k');
          when others then
            -- Refused by the policies' WITH CHECK only when the error says row-level security; another
            -- 42501 is a missing privilege; any other error (unique, foreign key, check constraint)
            -- comes after the row-level security check, so the copy passed it.
            if sqlstate = '42501' and sqlerrm like '%row-level security%' then null;
            elsif sqlstate = '42501' then v_noprv := true;
            else v_ins := v_ins || (v_row ->> 'k'); end if;
        end;
      end loop;
      v_cell := v_cell || jsonb_build_object('insert', case when cardinality(v_ins) = 0 and v_noprv then to_jsonb('no privilege'::text) else to_jsonb(v_ins) end);
    end if;
    if jsonb_array_length(p_moves) > 0 then
      v_moved := '{}';
      for v_mv in select * from jsonb_array_elements(p_moves) loop
        if not has_column_privilege(v_p ->> 'role', p_relation, v_mv ->> 'column', 'UPDATE') then
          v_moved := v_moved || jsonb_build_object(v_mv ->> 'name', 'no privilege');
          continue;
        end if;
        -- 1. One statement, no WHERE: every row the UPDATE policies reach, all or nothing.
        begin
          if v_p ->> 'claims' is not null then perform set_config('request.jwt.claims', v_p ->> 'claims', true); end if;
          perform set_config('role', v_p ->> 'role', true);
          execute format('update %s set %I = %L', p_relation, v_mv ->> 'column', v_mv ->> 'value');
          perform set_config('role', p_owner, true);
          execute format('select coalesce(array_agg(e.k), ''{}'') from jsonb_each_text($1) e(k, v)
                           where exists (select from %s t where t.%I::text = e.k and t.%I::text is distinct from e.v)',
                         p_relation, p_key, v_mv ->> 'column')
            into v_res using v_before -> (v_mv ->> 'column');
          raise exception using errcode = 'PZRLB';
        exception
          when sqlstate 'PZRLB' then
            v_stmt := to_jsonb(array(select unnest(v_res) intersect select unnest(v_keys)));
          when others then
            v_stmt := to_jsonb(case when sqlstate = '42501' and sqlerrm like '%row-level security%' then 'refused by row-level security'
                                    when sqlstate = '42501' then 'no privilege' else 'error ' || sqlstate end);
        end;
        -- 2. Row by row (WHERE key = the row's): a constraint another row breaks cannot hide a move.
        v_rowmoves := '{}';
        for v_k, v_v in select e.k, e.v from jsonb_each_text(v_before -> (v_mv ->> 'column')) e(k, v)
                         where e.v is distinct from (v_mv ->> 'value') loop
          begin
            if v_p ->> 'claims' is not null then perform set_config('request.jwt.claims', v_p ->> 'claims', true); end if;
            perform set_config('role', v_p ->> 'role', true);
            execute format('update %s set %I = %L where %I = %L', p_relation, v_mv ->> 'column', v_mv ->> 'value', p_key, v_k);
            get diagnostics v_n = row_count;
            if v_n > 0 then v_rowmoves := v_rowmoves || v_k; end if;
            raise exception using errcode = 'PZRLB';
          exception when others then null;
          end;
        end loop;
        v_moved := v_moved || jsonb_build_object(v_mv ->> 'name',
          case when cardinality(v_rowmoves) > 0 or (jsonb_typeof(v_stmt) = 'array' and jsonb_array_length(v_stmt) > 0)
               then to_jsonb(array(select x from jsonb_array_elements_text(case when jsonb_typeof(v_stmt) = 'array' then v_stmt else '[]' end) x
                                   union select unnest(v_rowmoves)))
               else v_stmt end);
      end loop;
      v_cell := v_cell || jsonb_build_object('move', v_moved);
    end if;
    v_out := v_out || jsonb_build_object(v_p ->> 'name', v_cell);
  end loop;
  return v_out;
end
$fn$`;

/**
 * Inserts the fixture, probes every persona against every table, and rolls everything back.
 * The client must not be inside a transaction.
 */
export async function attackMatrix(client: Client, opts: AttackMatrixOptions): Promise<AttackMatrix> {
  const personas = opts.personas ?? PERSONAS;
  const why = await attackMatrixUnavailable(client, opts.owner, personas);
  if (why) throw new Error(`attack matrix not computed: ${why}`);
  const labels = fixtureLabels();
  const owner = quoteIdent(opts.owner);
  const matrix: AttackMatrix = { personas: Object.fromEntries(personas.map((p) => [p.name, `${p.role}: ${p.description}`])), tables: {} };
  const personaJson = JSON.stringify(personas.map((p) => ({ name: p.name, role: p.role, claims: p.claims === null ? null : typeof p.claims === "string" ? p.claims : JSON.stringify(p.claims) })));

  await client.query("begin");
  try {
    await client.query(PROBE_FUNCTION);
    await client.query(`set local role ${owner}`);
    for (const stmt of fixtureSql()) await client.query(stmt);
    const tables = await probedTables(client, opts.managedSchemas, labels);

    for (const t of tables) {
      opts.log?.(`attack matrix: ${t.name}`);
      const tableLabels = labels.get(t.name.replace(/ \(partition\)$/, "")) ?? new Map<string, string>();
      const keyExpr = `${quoteIdent(t.key)}::text`;
      const base = await client.query(`select ${keyExpr} as k, to_jsonb(r) as row from ${t.relation} r where ${keyExpr} = any ($1::text[]) order by 1`, [[...tableLabels.keys()]]);
      const rows = base.rows.map((b) => ({ k: b.k as string, copy: t.key === "id" ? { ...b.row, id: fixtureId(`copy:${tableLabels.get(b.k)}`) } : b.row }));
      const moves = moveTargets(t.columns);
      const r = await client.query("select pg_temp.rls_probe($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb) as out", [
        t.relation, t.key, t.columns, opts.owner, personaJson, JSON.stringify(rows), JSON.stringify(moves),
      ]);
      const out = r.rows[0].out as Record<string, Record<string, string[] | string> & { move?: Record<string, string[] | string> }>;
      const toLabels = (o: string[] | string): Outcome => (Array.isArray(o) ? o.map((k) => tableLabels.get(k) ?? k).sort() : o);
      matrix.tables[t.name] = {};
      for (const p of personas) {
        const c = out[p.name];
        const cell: AttackCell = { select: toLabels(c.select), insert: toLabels(c.insert), update: toLabels(c.update), delete: toLabels(c.delete) };
        if (moves.length) cell.move = Object.fromEntries(moves.map((mv) => [mv.name, toLabels(c.move![mv.name])]));
        matrix.tables[t.name][p.name] = cell;
      }
    }
  } finally {
    await client.query("rollback");
  }
  return matrix;
}

/**
 * Stable, reviewable JSON: the personas, the privileges no policy backs (from the policy matrix),
 * then one line per table and persona.
 */
export function formatAttackMatrix(m: AttackMatrix, grantedWithoutPolicy: string[] = []): string {
  const lines: string[] = ["{", `  "personas": {`];
  const names = Object.keys(m.personas);
  names.forEach((p, i) => lines.push(`    ${JSON.stringify(p)}: ${JSON.stringify(m.personas[p])}${i < names.length - 1 ? "," : ""}`));
  lines.push("  },", `  "grantedWithoutPolicy": [`);
  grantedWithoutPolicy.forEach((g, i) => lines.push(`    ${JSON.stringify(g)}${i < grantedWithoutPolicy.length - 1 ? "," : ""}`));
  lines.push("  ],", `  "tables": {`);
  const tables = Object.keys(m.tables).sort();
  tables.forEach((t, ti) => {
    lines.push(`    ${JSON.stringify(t)}: {`);
    const ps = Object.keys(m.tables[t]);
    ps.forEach((p, pi) => {
      lines.push(`      ${JSON.stringify(p)}: ${JSON.stringify(m.tables[t][p])}${pi < ps.length - 1 ? "," : ""}`);
    });
    lines.push(`    }${ti < tables.length - 1 ? "," : ""}`);
  });
  lines.push("  }", "}");
  return lines.join("\n") + "\n";
}

/** Compact text rendering for `phi-db verify`: one line per table and persona with any access. */
export function attackMatrixText(m: AttackMatrix): string[] {
  const out: string[] = [];
  const show = (o: Outcome) => (Array.isArray(o) ? (o.length ? o.join(" ") : "-") : `(${o})`);
  for (const t of Object.keys(m.tables).sort()) {
    out.push(`${t}`);
    for (const [p, c] of Object.entries(m.tables[t])) {
      const moved = Object.entries(c.move ?? {}).filter(([, o]) => Array.isArray(o) && o.length > 0);
      if ([c.select, c.insert, c.update, c.delete].every((o) => !Array.isArray(o) || o.length === 0) && moved.length === 0) continue;
      out.push(
        `  ${p}: select ${show(c.select)} | insert ${show(c.insert)} | update ${show(c.update)} | delete ${show(c.delete)}` +
          (moved.length ? ` | MOVED ${moved.map(([n, o]) => `${n}: ${show(o)}`).join("; ")}` : ""),
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// phi-db verify
// ---------------------------------------------------------------------------------------------

export interface VerifyMatrices {
  /** From the catalog: table x role x command -> privilege and policies. */
  policyMatrix: PolicyMatrix;
  /** Measured: table x persona x command -> rows (null when it could not be computed here). */
  attackMatrix: AttackMatrix | null;
  /** Why the attack matrix is missing, when it is. */
  attackMatrixNote: string | null;
}

/**
 * Both matrices for `phi-db verify`. The roles are every NOLOGIN role (but the owner) that may use a
 * managed schema: the request roles, auditor, analytics_reader. The attack matrix is computed only
 * in local/dev (it writes a fixture, then rolls it back) and where the session may act as every role.
 */
export async function verifyMatrices(
  client: Client,
  opts: { owner: string; managedSchemas: string[]; environment: string; log?: (s: string) => void },
): Promise<VerifyMatrices> {
  const roles = await policyMatrixRoles(client, opts.managedSchemas, [], opts.owner);
  const pm = await policyMatrix(client, { managedSchemas: opts.managedSchemas, requestRoles: roles });
  if (!["local", "dev"].includes(opts.environment)) {
    return { policyMatrix: pm, attackMatrix: null, attackMatrixNote: `not computed in environment ${opts.environment}: it inserts a fixture (then rolls it back), which only local and dev allow` };
  }
  const why = await attackMatrixUnavailable(client, opts.owner);
  if (why) return { policyMatrix: pm, attackMatrix: null, attackMatrixNote: `not computed: ${why}` };
  try {
    return { policyMatrix: pm, attackMatrix: await attackMatrix(client, { owner: opts.owner, managedSchemas: opts.managedSchemas, log: opts.log }), attackMatrixNote: null };
  } catch (e) {
    return { policyMatrix: pm, attackMatrix: null, attackMatrixNote: `not computed: ${(e as Error).message}` };
  }
}

/** Text for `phi-db verify`: the policy matrix per table and role, then the attack matrix. */
export function verifyMatricesText(v: VerifyMatrices): string[] {
  const out: string[] = ["", "policy matrix (table / role: command -> policies; '-' = privilege without policy: no row; 'x' = no privilege)"];
  const byTable = new Map<string, typeof v.policyMatrix.entries>();
  for (const e of v.policyMatrix.entries) {
    if (!byTable.has(e.table)) byTable.set(e.table, []);
    byTable.get(e.table)!.push(e);
  }
  for (const [table, entries] of byTable) {
    out.push(`  ${table}`);
    const roles = [...new Set(entries.map((e) => e.role))];
    for (const role of roles) {
      const cells = entries.filter((e) => e.role === role);
      if (cells.every((c) => !c.granted)) continue;
      const show = (c: (typeof cells)[number]) =>
        `${c.command.toLowerCase()} ${!c.granted ? "x" : c.policies.length ? c.policies.join(",") + (c.restrictive.length ? ` [restrictive: ${c.restrictive.join(",")}]` : "") : "-"}`;
      out.push(`    ${role}: ${cells.map(show).join(" | ")}`);
    }
  }
  for (const d of v.policyMatrix.partitionDrift) out.push(`  drift: ${d}`);
  out.push("", "attack matrix (table / persona: rows each command reached; labels of the fixture rows)");
  if (!v.attackMatrix) out.push(`  ${v.attackMatrixNote}`);
  else out.push(...attackMatrixText(v.attackMatrix).map((l) => `  ${l}`));
  return out;
}
