/**
 * Credentials and user-facing RPCs: API keys (hash + prefix only, verify accepts the right key and
 * rejects others), optimistic concurrency on zero-knowledge cycle data, healthcare share tokens and
 * device-key rotation. Functions are called as the request roles the access model defines, with
 * claims, the way the API calls them.
 */
import type { Client } from "pg";
import { createSchemaDatabase, errorOf, inTx, SchemaDatabase, tablesContaining } from "./schema-support";

let db: SchemaDatabase;
const ORG = "d3000000-0000-4000-8000-000000000001";
const OTHER_ORG = "d3000000-0000-4000-8000-000000000002";
const ADMIN = "a3000000-0000-4000-8000-000000000001";
const PATIENT = "a3000000-0000-4000-8000-000000000002";
const STRANGER = "a3000000-0000-4000-8000-000000000003";
const PROVIDER_USER = "a3000000-0000-4000-8000-000000000004";
const PROVIDER = "b3000000-0000-4000-8000-000000000001";

beforeAll(async () => {
  db = await createSchemaDatabase("schema_access");
  await inTx(db.client, async (c) => {
    await c.query("insert into tenant.organizations (id, name, slug, max_api_keys) values ($1, 'Access Org', 'access-org', 3), ($2, 'Other Org', 'other-org', 3)", [ORG, OTHER_ORG]);
    await c.query(
      `insert into app.profiles (id, email) values ($1, 'admin@access.example'), ($2, 'patient@access.example'), ($3, 'stranger@access.example'), ($4, 'provider@access.example')`,
      [ADMIN, PATIENT, STRANGER, PROVIDER_USER],
    );
    await c.query(
      "insert into tenant.organization_members (organization_id, user_id, user_type, joined_at) values ($1, $2, 'admin', now()), ($1, $3, 'patient', now()), ($4, $5, 'admin', now())",
      [ORG, ADMIN, PATIENT, OTHER_ORG, STRANGER],
    );
    await c.query("insert into app.providers (id, organization_id, profile_id, first_name, last_name) values ($1, $2, $3, 'Paula', 'Provider')", [PROVIDER, ORG, PROVIDER_USER]);
  });
}, 120000);
afterAll(async () => db?.drop());

const as = <T>(role: string, sub: string | null, fn: (c: Client) => Promise<T>, ip = "198.51.100.20") =>
  inTx(db.client, fn, { role, claims: sub ? { sub, role } : { role }, settings: { "request.client_ip": ip } });

describe("API keys", () => {
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    const r = await as("authenticated", ADMIN, (c) =>
      c.query("select * from tenant.create_api_key($1, 'CI integration', array['patients:read', 'appointments:read'])", [ORG]),
    );
    key = r.rows[0].api_key;
    keyId = r.rows[0].api_key_id;
    expect(key).toMatch(/^phk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  });

  it("stores only the prefix and the sha256: the key is nowhere in the database", async () => {
    const secret = key.slice(17);
    expect(await tablesContaining(db.client, key)).toEqual([]);
    expect(await tablesContaining(db.client, secret)).toEqual([]);
    const row = await db.client.query("select key_prefix, encode(key_hash, 'hex') as h from tenant.api_keys where id = $1", [keyId]);
    expect(row.rows[0].key_prefix).toBe(key.slice(0, 16));
    expect(row.rows[0].h).toBe(require("crypto").createHash("sha256").update(key).digest("hex"));
  });

  it("accepts the right key and rejects others, as anon (the gateway does not know the caller yet)", async () => {
    const verify = (k: string, scope: string | null = "patients:read") =>
      as("anon", null, async (c) => (await c.query("select * from auth.verify_api_key($1, $2)", [k, scope])).rows[0]);

    expect(await verify(key)).toMatchObject({ valid: true, reason: "valid", api_key_id: keyId, organization_id: ORG, scopes: ["patients:read", "appointments:read"] });
    const tampered = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");
    expect(await verify(tampered)).toMatchObject({ valid: false, reason: "unknown", api_key_id: null, organization_id: null });
    expect(await verify("phk_000000000000_" + "x".repeat(43))).toMatchObject({ valid: false, reason: "unknown" });
    expect(await verify("not-a-key")).toMatchObject({ valid: false, reason: "unknown" });
    expect(await verify(key, "documents:write")).toMatchObject({ valid: false, reason: "scope_denied" });

    const usage = await db.client.query("select outcome, ip_hash is not null as hashed from tenant.api_key_usage where api_key_id = $1 order by used_at", [keyId]);
    expect(usage.rows).toEqual([{ outcome: "valid", hashed: true }, { outcome: "scope_denied", hashed: true }]);
    const rejected = await db.client.query("select count(*)::int as n from audit.security_events where event_type = 'api_key_rejected'");
    expect(rejected.rows[0].n).toBeGreaterThanOrEqual(4);
    expect(await tablesContaining(db.client, "198.51.100.20")).toEqual([]);
  });

  it("enforces the per-key rate limit, expiry and revocation", async () => {
    const created = await as("authenticated", ADMIN, (c) =>
      c.query("select * from tenant.create_api_key($1, 'Tight limit', array['admin'], null, 2)", [ORG]),
    );
    const k = created.rows[0].api_key;
    const verify = () => as("anon", null, async (c) => (await c.query("select reason from auth.verify_api_key($1, 'patients:write')", [k])).rows[0].reason);
    expect([await verify(), await verify(), await verify()]).toEqual(["valid", "valid", "rate_limited"]);

    await inTx(db.client, (c) => c.query("update tenant.api_keys set expires_at = now() where id = $1", [created.rows[0].api_key_id]));
    expect(await verify()).toBe("expired");

    const revoked = await as("authenticated", ADMIN, (c) => c.query("select tenant.revoke_api_key($1, 'leaked in a demo') as ok", [keyId]));
    expect(revoked.rows[0].ok).toBe(true);
    const after = await as("anon", null, (c) => c.query("select reason from auth.verify_api_key($1)", [key]));
    expect(after.rows[0].reason).toBe("revoked");
  });

  it("lets only admins/developers of the organization create keys, within the quota", async () => {
    const patient = await errorOf(as("authenticated", PATIENT, (c) => c.query("select * from tenant.create_api_key($1, 'mine', array['patients:read'])", [ORG])));
    expect(patient.code).toBe("42501");
    const otherAdmin = await errorOf(as("authenticated", STRANGER, (c) => c.query("select * from tenant.create_api_key($1, 'x', array['patients:read'])", [ORG])));
    expect(otherAdmin.code).toBe("42501");
    // The JWT's role claim is untrusted input: an authenticated stranger claiming service_role is still a stranger.
    const forged = await errorOf(
      inTx(db.client, (c) => c.query("select * from tenant.create_api_key($1, 'x', array['patients:read'])", [ORG]), {
        role: "authenticated",
        claims: { sub: STRANGER, role: "service_role" },
      }),
    );
    expect(forged.code).toBe("42501");
    const forgedUsage = await errorOf(
      inTx(db.client, (c) => c.query("select * from tenant.calculate_storage_usage($1)", [ORG]), { role: "authenticated", claims: { sub: STRANGER, role: "service_role" } }),
    );
    expect(forgedUsage.code).toBe("42501");
    const anon = await errorOf(as("anon", null, (c) => c.query("select * from tenant.create_api_key($1, 'x', array['patients:read'])", [ORG])));
    expect(anon.code).toBe("42501"); // anon has no privilege on schema tenant at all
    const badScope = await errorOf(as("authenticated", ADMIN, (c) => c.query("select * from tenant.create_api_key($1, 'x', array['everything'])", [ORG])));
    expect(badScope.constraint).toBe("api_keys_scopes_valid");
    // Quota 3 active keys: the first key is revoked and the second expired, so three more fit, a fourth does not.
    for (const name of ["k3", "k4", "k5"]) {
      await as("authenticated", ADMIN, (c) => c.query("select * from tenant.create_api_key($1, $2, array['patients:read'])", [ORG, name]));
    }
    const quota = await errorOf(as("authenticated", ADMIN, (c) => c.query("select * from tenant.create_api_key($1, 'k6', array['patients:read'])", [ORG])));
    expect(quota.code).toBe("PHQ01");
  });
});

describe("zero-knowledge cycle data: optimistic concurrency", () => {
  const envelope = (ct: string) => JSON.stringify({ v: 1, alg: "AES-256-GCM", kid: "device-1", iv: "aXYtMTIzNDU2", ct });
  let recordId: string;

  beforeAll(async () => {
    const r = await inTx(db.client, (c) => c.query("insert into app.encrypted_cycle_data (user_id, envelope) values ($1, $2) returning id", [PATIENT, envelope("Zmlyc3Q=")]));
    recordId = r.rows[0].id;
  });

  const update = (sub: string, expected: number, ct: string) =>
    as("authenticated", sub, (c) => c.query("select * from app.update_cycle_data_optimistic($1, $2, $3)", [recordId, expected, envelope(ct)]));

  it("writes when the expected version matches and bumps the version", async () => {
    const r = await update(PATIENT, 1, "c2Vjb25k");
    expect(r.rows[0]).toMatchObject({ id: recordId, version: "2" });
  });

  it("raises a version conflict (SQLSTATE PT409) with the current version when a device writes a stale version", async () => {
    const e = await errorOf(update(PATIENT, 1, "c3RhbGU="));
    expect(e.code).toBe("PT409");
    expect(e.message).toBe(`version conflict on cycle data record ${recordId}`);
    expect(e.detail).toBe("expected version 1, current version 2");
    const stored = await db.client.query("select version, envelope->>'ct' as ct from app.encrypted_cycle_data where id = $1", [recordId]);
    expect(stored.rows[0]).toEqual({ version: "2", ct: "c2Vjb25k" });
  });

  it("detects the conflict between two concurrent writers of the same version: exactly one wins", async () => {
    const other = await db.connect();
    const results = await Promise.allSettled([
      update(PATIENT, 2, "YQ=="),
      inTx(other, (c) => c.query("select * from app.update_cycle_data_optimistic($1, 2, $2)", [recordId, envelope("Yg==")]), {
        role: "authenticated",
        claims: { sub: PATIENT, role: "authenticated" },
      }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(rejected.reason.code).toBe("PT409");
  });

  it("does not let another user touch the record, nor an anonymous caller", async () => {
    const e = await errorOf(update(STRANGER, 3, "aGFjaw=="));
    expect(e.code).toBe("P0002");
    const anon = await errorOf(inTx(db.client, (c) => c.query("select * from app.update_cycle_data_optimistic($1, 3, $2)", [recordId, envelope("eA==")]), { role: "authenticated" }));
    expect(anon.code).toBe("42501");
  });

  it("refuses an envelope that is not a client-side ciphertext", async () => {
    const e = await errorOf(
      inTx(db.client, (c) => c.query(`insert into app.encrypted_cycle_data (user_id, envelope) values ($1, '{"period_start": "2026-11-01"}')`, [PATIENT])),
    );
    expect(e.constraint).toBe("encrypted_cycle_data_envelope_shape");
  });
});

describe("healthcare shares", () => {
  let shareId: string;
  let token: string;

  beforeAll(async () => {
    const s = await inTx(db.client, (c) =>
      c.query("insert into app.healthcare_shares (user_id, recipient_provider_id, scopes, expires_at) values ($1, $2, array['cycle', 'mood'], now() + interval '30 days') returning id", [PATIENT, PROVIDER]),
    );
    shareId = s.rows[0].id;
    const t = await as("authenticated", PATIENT, (c) => c.query("select * from app.create_share_token($1, interval '2 days', 2)", [shareId]));
    token = t.rows[0].token;
  });

  it("stores only the token's hash and lets an anonymous recipient redeem it within its use limit", async () => {
    expect(await tablesContaining(db.client, token)).toEqual([]);
    const redeem = (t: string, ip = "192.0.2.10") => as("anon", null, async (c) => (await c.query("select * from auth.validate_share_token($1)", [t])).rows[0], ip);
    expect(await redeem(token)).toMatchObject({ valid: true, reason: "valid", share_id: shareId, owner_user_id: PATIENT, scopes: ["cycle", "mood"] });
    expect(await redeem(token)).toMatchObject({ valid: true });
    expect(await redeem(token)).toMatchObject({ valid: false, reason: "exhausted", owner_user_id: null });
    expect(await redeem("phs_" + "A".repeat(43))).toMatchObject({ valid: false, reason: "invalid", share_id: null });
    const audit = await db.client.query("select action, accessor_kind from audit.share_audit where share_id = $1 order by occurred_at", [shareId]);
    expect(audit.rows.map((r) => r.action)).toEqual(["token_created", "token_validated", "token_validated", "token_rejected"]);
  });

  it("throttles token guessing per (hashed) IP", async () => {
    const guess = () => as("anon", null, async (c) => (await c.query("select reason from auth.validate_share_token($1)", ["phs_" + "B".repeat(43)])).rows[0].reason, "192.0.2.99");
    const reasons: string[] = [];
    for (let i = 0; i < 21; i++) reasons.push(await guess());
    expect(reasons.slice(0, 20).every((r) => r === "invalid")).toBe(true);
    expect(reasons[20]).toBe("rate_limited");
  });

  it("records recipients' views for the owner and the recipient provider, and refuses anyone else", async () => {
    const viaProvider = await as("authenticated", PROVIDER_USER, (c) => c.query("select app.healthcare_access_audit($1, 'data_viewed') as id", [shareId]));
    expect(viaProvider.rows[0].id).toBeTruthy();
    const stranger = await errorOf(as("authenticated", STRANGER, (c) => c.query("select app.healthcare_access_audit($1, 'data_viewed')", [shareId])));
    expect(stranger.code).toBe("42501");
    const kinds = await db.client.query("select accessor_kind, accessor_id from audit.share_audit where share_id = $1 and action = 'data_viewed'", [shareId]);
    expect(kinds.rows).toEqual([{ accessor_kind: "provider", accessor_id: PROVIDER_USER }]);
  });

  it("only lets the owner mint tokens for an active share", async () => {
    const e = await errorOf(as("authenticated", STRANGER, (c) => c.query("select * from app.create_share_token($1)", [shareId])));
    expect(e.code).toBe("P0002");
  });
});

describe("device keys", () => {
  const pub = (n: number) => `MCowBQYDK2VwAyEA${String(n).padStart(4, "0")}synthetic-public-key-material-xyz=`;

  it("registers, then rotates a device's key, keeping one active key and the rotation chain", async () => {
    const first = await as("authenticated", PATIENT, (c) => c.query("select app.rotate_device_key('device-abc-123', $1, 'ed25519') as id", [pub(1)]));
    const second = await as("authenticated", PATIENT, (c) => c.query("select app.rotate_device_key('device-abc-123', $1, 'ed25519') as id", [pub(2)]));
    const keys = await db.client.query("select id, status, rotated_from_id from app.device_keys where user_id = $1 order by created_at, status", [PATIENT]);
    expect(keys.rows).toEqual([
      { id: first.rows[0].id, status: "rotated", rotated_from_id: null },
      { id: second.rows[0].id, status: "active", rotated_from_id: first.rows[0].id },
    ]);
    expect(await tablesContaining(db.client, "device-abc-123")).toEqual([]);
    const events = await db.client.query("select event_type from audit.security_events where event_type like 'device_key_%' order by occurred_at");
    expect(events.rows.map((r) => r.event_type)).toEqual(["device_key_registered", "device_key_rotated"]);
  });

  it("refuses private keys and anonymous callers", async () => {
    const priv = await errorOf(as("authenticated", PATIENT, (c) => c.query("select app.rotate_device_key('device-abc-999', $1, 'ed25519')", ["-----BEGIN PRIVATE KEY----- not really a key at all -----END PRIVATE KEY-----"])));
    expect(priv.constraint).toBe("device_keys_public_key_format");
    const anon = await errorOf(inTx(db.client, (c) => c.query("select app.rotate_device_key('device-abc-123', $1, 'ed25519')", [pub(3)]), { role: "authenticated" }));
    expect(anon.code).toBe("42501");
  });
});
