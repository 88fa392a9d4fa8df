/**
 * Field-level encryption of PHI: round trip with the per-transaction data key, failure without it,
 * no plaintext anywhere in the table, and key rotation re-encrypting every row in batches.
 */
import type { Client } from "pg";
import { createSchemaDatabase, errorOf, inTx, newDataKey, SchemaDatabase, tablesContaining } from "./schema-support";

let db: SchemaDatabase;
const key1 = newDataKey();
const key2 = newDataKey();
const ORG = "d1000000-0000-4000-8000-000000000001";

beforeAll(async () => {
  db = await createSchemaDatabase("schema_crypto");
  await inTx(db.client, async (c) => {
    await c.query("insert into tenant.organizations (id, name, slug) values ($1, 'Crypto Test Org', 'crypto-test')", [ORG]);
    await c.query("select app.register_phi_key('local:test-key-1')");
  }, { settings: { "phi.data_key": key1 } });
}, 120000);
afterAll(async () => db?.drop());

const withKey = <T>(key: string | null, fn: (c: Client) => Promise<T>, extra: Record<string, string> = {}) =>
  inTx(db.client, fn, { settings: { ...(key ? { "phi.data_key": key } : {}), ...extra } });

async function insertPatient(c: Client, ssn: string, history: string, insurance: object): Promise<string> {
  const r = await c.query(
    `insert into app.patients (organization_id, first_name, last_name, ssn_encrypted, medical_history_encrypted, insurance_details_encrypted)
     values ($1, 'Cipher', 'Tester', app.encrypt_phi($2), app.encrypt_phi($3), app.encrypt_phi($4)) returning id`,
    [ORG, ssn, history, JSON.stringify(insurance)],
  );
  return r.rows[0].id;
}

it("round-trips PHI with the key supplied per transaction and stores no plaintext anywhere", async () => {
  const ssn = "999-11-4242";
  const history = "Synthetic history: marker-HIST-7731 asthma since childhood";
  const id = await withKey(key1, (c) => insertPatient(c, ssn, history, { carrier: "Fictional Mutual", member: "marker-INS-5519" }));

  const read = await withKey(key1, (c) => c.query("select * from app.read_patient_phi($1, 'treatment')", [id]));
  expect(read.rows[0]).toMatchObject({ ssn, medical_history: history, insurance_details: { carrier: "Fictional Mutual", member: "marker-INS-5519" } });

  // Nowhere in the database (all managed tables, as text, hex of bytea included).
  for (const needle of [ssn, "marker-HIST-7731", "marker-INS-5519", Buffer.from(ssn).toString("hex"), Buffer.from("marker-HIST-7731").toString("hex")]) {
    expect(await tablesContaining(db.client, needle)).toEqual([]);
  }
  // The stored value is our ciphertext format with key version 1.
  const raw = await db.client.query("select get_byte(ssn_encrypted, 0) as fmt, app.phi_ciphertext_key_version(ssn_encrypted) as v from app.patients where id = $1", [id]);
  expect(raw.rows[0]).toEqual({ fmt: 1, v: 1 });
  // The read was logged.
  const log = await db.client.query("select purpose, fields from audit.phi_access_log where patient_id = $1", [id]);
  expect(log.rows).toEqual([{ purpose: "treatment", fields: ["ssn_encrypted", "medical_history_encrypted", "insurance_details_encrypted"] }]);
});

it("refuses to encrypt or decrypt without the key, with an unknown key, and refuses plaintext in encrypted columns", async () => {
  const id = await withKey(key1, (c) => insertPatient(c, "999-22-0000", "x", {}));
  const noKey = await errorOf(withKey(null, (c) => c.query("select app.decrypt_phi(ssn_encrypted) from app.patients where id = $1", [id])));
  expect(noKey.code).toBe("PHK01");
  expect(noKey.message).toBe("the data key for key version 1 was not supplied");

  const noKeyEncrypt = await errorOf(withKey(null, (c) => c.query("select app.encrypt_phi('x')")));
  expect(noKeyEncrypt.code).toBe("PHK01");

  const unknown = await errorOf(withKey(newDataKey(), (c) => c.query("select app.encrypt_phi('x')")));
  expect(unknown.code).toBe("PHK02");
  const unknownDecrypt = await errorOf(withKey(newDataKey(), (c) => c.query("select app.decrypt_phi(ssn_encrypted) from app.patients where id = $1", [id])));
  expect(unknownDecrypt.code).toBe("PHK01");

  const plaintext = await errorOf(
    withKey(key1, (c) => c.query("insert into app.patients (organization_id, first_name, last_name, ssn_encrypted) values ($1, 'A', 'B', convert_to('999-33-1111', 'UTF8'))", [ORG])),
  );
  expect(plaintext.code).toBe("23514");
  expect(plaintext.constraint).toBe("patients_ssn_is_ciphertext");
  // The key never appears in an error message.
  for (const e of [noKey, noKeyEncrypt, unknown, unknownDecrypt]) expect(e.message).not.toContain(key1);
});

it("registers keys by fingerprint only: the key material is stored nowhere", async () => {
  expect(await tablesContaining(db.client, key1)).toEqual([]);
  const r = await db.client.query("select key_version, status, length(key_fingerprint) as len from app.encryption_keys order by key_version");
  expect(r.rows[0]).toEqual({ key_version: 1, status: "active", len: 32 });
  const again = await errorOf(withKey(key1, (c) => c.query("select app.register_phi_key('local:again')")));
  expect(again.code).toBe("PHK02");
  const short = await errorOf(withKey("too-short", (c) => c.query("select app.register_phi_key('local:short')")));
  expect(short.message).toContain("at least 32 characters");
});

it("rotates the key: every encrypted value in every table is re-encrypted in batches, then the old key retires", async () => {
  // More rows than one batch, in several encrypted tables.
  await withKey(key1, async (c) => {
    for (let i = 0; i < 7; i++) await insertPatient(c, `999-44-${1000 + i}`, `history ${i}`, { i });
    await c.query("update tenant.instance_network_config set network_api_key_encrypted = app.encrypt_phi('synthetic-network-credential')");
    await c.query(
      "insert into tenant.instance_network_config (is_connected_to_network, network_api_key_encrypted) select true, app.encrypt_phi('synthetic-network-credential') where not exists (select from tenant.instance_network_config)",
    );
  });
  const before = await db.client.query("select count(*)::int as n from app.patients where ssn_encrypted is not null");
  expect(before.rows[0].n).toBeGreaterThanOrEqual(8);

  // Register key 2 (key 1 becomes rotating): new writes use key 2, old values still decrypt with key 1 as "previous".
  await withKey(key2, (c) => c.query("select app.register_phi_key('local:test-key-2')"));
  const statuses = await db.client.query("select key_version, status from app.encryption_keys order by 1");
  expect(statuses.rows).toEqual([{ key_version: 1, status: "rotating" }, { key_version: 2, status: "active" }]);
  const oldKeyEncrypt = await errorOf(withKey(key1, (c) => c.query("select app.encrypt_phi('x')")));
  expect(oldKeyEncrypt.code).toBe("PHK03");
  const early = await errorOf(withKey(key2, (c) => c.query("select app.finish_phi_key_rotation()")));
  expect(early.code).toBe("PHK05");
  expect(early.detail).toContain("app.patients.ssn_encrypted");

  // Batches of 3 over every table with encrypted columns, one transaction per batch.
  const tables = (await db.client.query("select distinct table_name::text as t from app.phi_encrypted_columns()")).rows.map((r) => r.t);
  expect(tables).toEqual(expect.arrayContaining(["app.patients", "app.appointments", "app.ai_doctor_sessions", "app.patient_data_import_sources", "tenant.instance_network_config"]));
  let batches = 0;
  for (const t of tables) {
    let after: string | null = null;
    for (;;) {
      const r = await withKey(key2, (c) => c.query("select * from app.reencrypt_phi_batch($1::regclass, $2, 3)", [t, after]), { "phi.data_key_previous": key1 });
      batches++;
      after = r.rows[0].last_id;
      if (r.rows[0].scanned < 3) break;
    }
  }
  expect(batches).toBeGreaterThan(tables.length);

  // Every ciphertext is now version 2, readable with key 2 alone; the old key retires.
  const versions = await db.client.query(
    "select distinct app.phi_ciphertext_key_version(v) as v from (select unnest(array[ssn_encrypted, medical_history_encrypted, insurance_details_encrypted]) v from app.patients union all select network_api_key_encrypted from tenant.instance_network_config) x where v is not null",
  );
  expect(versions.rows).toEqual([{ v: 2 }]);
  const all = await withKey(key2, (c) => c.query("select app.decrypt_phi(ssn_encrypted) as ssn from app.patients where ssn_encrypted is not null order by 1"));
  expect(all.rows.map((r) => r.ssn)).toEqual(expect.arrayContaining(["999-11-4242", "999-44-1006"]));
  const net = await withKey(key2, (c) => c.query("select app.decrypt_phi(network_api_key_encrypted) as k from tenant.instance_network_config"));
  expect(net.rows[0].k).toBe("synthetic-network-credential");
  const oldOnly = await errorOf(withKey(key1, (c) => c.query("select app.decrypt_phi(ssn_encrypted) from app.patients where ssn_encrypted is not null")));
  expect(oldOnly.code).toBe("PHK01");

  const retired = await withKey(key2, (c) => c.query("select app.finish_phi_key_rotation() as n"));
  expect(retired.rows[0].n).toBe(1);
  const final = await db.client.query("select key_version, status, retired_at is not null as retired from app.encryption_keys order by 1");
  expect(final.rows).toEqual([{ key_version: 1, status: "retired", retired: true }, { key_version: 2, status: "active", retired: false }]);
  // Re-encryption went through the audit trail like any write.
  const audited = await db.client.query(
    "select count(*)::int as n from audit.log where table_name = 'patients' and operation = 'UPDATE' and changed_fields @> array['ssn_encrypted']",
  );
  expect(audited.rows[0].n).toBeGreaterThanOrEqual(8);
});
