/**
 * The attack matrix, asserted by hand on real PostgreSQL: row-level security for every role.
 *
 * Fixture (migrator/rls-matrix.ts): organizations A and B, each with an admin, two providers, three
 * patients, a research partner and a developer; provider1 treats patient1 and patient2, provider2
 * treats patient3 (its appointment with patient2 is cancelled); A.patient1 has a psychotherapy
 * appointment, a valid psychotherapy consent naming X.consent_valid and an expired one naming
 * X.consent_expired; A.patient3 has a crisis appointment, a valid crisis grant for X.crisis_valid and
 * an expired one for X.crisis_expired. Every query runs on a real `authenticator` login that switches
 * to the request role and sets the claims the way the API does. Ids are compared, never counts.
 */
import * as fs from "fs";
import * as path from "path";
import type { Client } from "pg";
import { actAs, PERSONAS } from "../../migrator/rls-matrix";
import { loadAccessModel, policyGranteeRoles, rlsSchemas } from "../../migrator/access-model";
import { policyMatrix } from "../../migrator/checks";
import { asPersona, createRlsDatabase, fixtureId, labelOf, persona, refusal, RlsDatabase, visible } from "./rls-support";

let db: RlsDatabase;
let tables: string[];
let partition: string;

beforeAll(async () => {
  db = await createRlsDatabase("rls");
  const r = await db.client.query(
    `select format('%I.%I', n.nspname, c.relname) as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any ($1) order by 1`,
    [rlsSchemas(loadAccessModel())],
  );
  tables = r.rows.map((x) => x.t);
  const p = await db.client.query(
    `select format('%I.%I', n.nspname, c.relname) as t from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_namespace n on n.oid = c.relnamespace
      where i.inhparent = 'app.appointments'::regclass and c.relname = 'appointments_p' || to_char(now() at time zone 'UTC', 'YYYY_MM')`,
  );
  partition = p.rows[0].t;
}, 180000);
afterAll(async () => db?.drop());

const id = fixtureId;
const A = id("org.A");
const B = id("org.B");

describe("SELECT sees exactly the rows each persona should", () => {
  const A_APPTS = ["patient1.consultation", "patient1.psychotherapy", "patient2.cancelled", "patient2.consultation", "patient3.crisis", "patient3.follow_up"];
  const appts = (o: string, names: string[]) => names.map((n) => `${o}.appointment.${n}`).sort();
  const expected: Record<string, Record<string, string[]>> = {
    "app.patients": {
      "A.admin": ["A.patient1.record", "A.patient2.record", "A.patient3.record"],
      "A.provider1": ["A.patient1.record", "A.patient2.record"],
      "A.provider2": ["A.patient3.record"],
      "A.patient1": ["A.patient1.record"],
      "A.research": [],
      "A.developer": [],
      "B.admin": ["B.patient1.record", "B.patient2.record", "B.patient3.record"],
      "X.consent_valid": [],
      "X.crisis_valid": ["A.patient3.record"],
      "X.crisis_expired": [],
      "X.stranger": [],
    },
    "app.appointments": {
      // admins: the organization's appointments except psychotherapy
      "A.admin": appts("A", A_APPTS.filter((x) => x !== "patient1.psychotherapy")),
      // the treating provider: every type, psychotherapy included
      "A.provider1": appts("A", ["patient1.consultation", "patient1.psychotherapy", "patient2.consultation"]),
      "A.provider2": appts("A", ["patient2.cancelled", "patient3.crisis", "patient3.follow_up"]),
      "A.patient1": appts("A", ["patient1.consultation", "patient1.psychotherapy"]),
      "A.research": [],
      "A.developer": [],
      "B.admin": appts("B", A_APPTS.filter((x) => x !== "patient1.psychotherapy")),
      // a consented party: the patient's psychotherapy appointments only, until the consent expires
      "X.consent_valid": ["A.appointment.patient1.psychotherapy"],
      "X.consent_expired": [],
      // a crisis grantee: the crisis appointment of the patient, only while the grant is valid
      "X.crisis_valid": ["A.appointment.patient3.crisis"],
      "X.crisis_expired": [],
      "X.stranger": [],
    },
    "app.mood_entries": {
      "A.admin": [],
      "A.provider1": ["A.mood.patient1"],
      "A.provider2": ["A.mood.patient3"],
      "A.patient1": ["A.mood.patient1"],
      "A.research": [],
      "A.developer": [],
      "B.admin": [],
      "X.crisis_valid": [],
    },
    "app.patient_consents": {
      "A.admin": ["A.consent.patient1.psychotherapy_expired", "A.consent.patient1.psychotherapy_valid", "A.consent.patient1.treatment"],
      "A.provider1": ["A.consent.patient1.psychotherapy_expired", "A.consent.patient1.psychotherapy_valid", "A.consent.patient1.treatment"],
      "A.provider2": [],
      "A.patient1": ["A.consent.patient1.psychotherapy_expired", "A.consent.patient1.psychotherapy_valid", "A.consent.patient1.treatment"],
      "X.consent_valid": ["A.consent.patient1.psychotherapy_valid"],
      "X.consent_expired": ["A.consent.patient1.psychotherapy_expired"],
      "B.admin": ["B.consent.patient1.treatment"],
    },
    "app.crisis_access_grants": {
      "A.admin": ["A.crisis_grant.patient3_expired", "A.crisis_grant.patient3_valid"],
      "A.provider2": [],
      "X.crisis_valid": ["A.crisis_grant.patient3_valid"],
      "X.crisis_expired": ["A.crisis_grant.patient3_expired"],
      "B.admin": [],
    },
    "app.documents": {
      "A.admin": ["A.document.organization"],
      "A.provider1": ["A.document.patient1"],
      "A.provider2": ["A.document.patient3"],
      "A.patient1": ["A.document.patient1"],
      "A.research": [],
      "A.developer": [],
    },
    "app.ai_doctor_sessions": {
      "A.patient1": ["A.ai_session.patient1"],
      "A.provider1": [],
      "A.provider2": ["A.ai_session.patient1"], // shared with provider2 by patient1
      "A.admin": [],
    },
    "app.encrypted_cycle_data": {
      "A.patient1": ["A.cycle.patient1"],
      "A.provider2": [], // a share's recipient gets the re-encrypted copy, never the records
      "A.admin": [],
      "B.admin": [],
    },
    "app.healthcare_shares": { "A.patient1": ["A.share.patient1"], "A.provider2": ["A.share.patient1"], "A.provider1": [], "A.admin": [] },
    "app.share_tokens": { "A.patient1": ["A.share_token.patient1"], "A.provider2": [], "A.admin": [] },
    "app.orders": { "A.patient1": ["A.order.patient1"], "A.admin": ["A.order.patient1"], "A.provider1": [], "A.developer": [] },
    "app.profiles": {
      "A.admin": ["A.admin", "A.developer", "A.patient1", "A.patient2", "A.patient3", "A.provider1", "A.provider2", "A.research"],
      "A.patient1": ["A.patient1"],
      "X.stranger": ["X.stranger"],
    },
    "tenant.organizations": { "A.admin": ["org.A"], "A.patient1": ["org.A"], "A.developer": ["org.A"], "B.admin": ["org.B"], "X.stranger": [] },
    "tenant.organization_members": {
      "A.admin": ["A.admin", "A.developer", "A.patient1", "A.patient2", "A.patient3", "A.provider1", "A.provider2", "A.research"].map((x) => `${x}.member`),
      "A.patient1": ["A.patient1.member"],
      "X.stranger": [],
    },
    "tenant.api_keys": { "A.admin": ["A.api_key"], "A.developer": ["A.api_key"], "A.provider1": [], "A.patient1": [], "B.admin": ["B.api_key"] },
    "analytics.metrics": {
      "A.admin": ["A.metric.large", "A.metric.small"],
      "A.research": ["A.metric.large"], // cells under 11 subjects are suppressed
      "A.developer": ["A.metric.large"],
      "A.patient1": [],
      "A.provider1": [],
    },
    "storage_meta.objects": { "A.admin": ["A.object"], "A.developer": [], "A.patient1": [] },
    "cache.analysis_results": {
      "A.admin": ["A.cache.organization"],
      "A.provider1": ["A.cache.organization", "A.cache.patient1"],
      "A.provider2": ["A.cache.organization", "A.cache.patient3"],
      "A.patient1": ["A.cache.patient1"],
      "A.research": [],
    },
  };

  for (const [table, byPersona] of Object.entries(expected)) {
    it(`${table}`, async () => {
      for (const [who, want] of Object.entries(byPersona)) {
        expect({ who, rows: await visible(db, who, table) }).toEqual({ who, rows: [...want].sort() });
      }
    });
  }

  it("every table: nobody of one organization sees a row of the other", async () => {
    const leaks: string[] = [];
    for (const t of tables) {
      for (const who of ["A.admin", "A.provider1", "A.provider2", "A.patient1", "A.research", "A.developer", "B.admin"]) {
        const rows = await visible(db, who, t);
        const other = who.startsWith("A.") ? "B." : "A.";
        if (Array.isArray(rows)) for (const r of rows.filter((x) => x.startsWith(other) || x === `org.${other[0]}`)) leaks.push(`${who} sees ${t} ${r}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it("every table: research partners and developers see no PHI (nothing in the patient-data tables)", async () => {
    const phi = await db.client.query(
      `select distinct format('%I.%I', n.nspname, c.relname) as t from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition and col_description(c.oid, a.attnum) like 'PHI:%' order by 1`,
    );
    expect(phi.rows.length).toBeGreaterThan(20);
    for (const who of ["A.research", "A.developer"]) {
      for (const { t } of phi.rows) {
        const rows = await visible(db, who, t);
        // their own profile is their own data, not patient PHI
        const own = t === "app.profiles" ? [who] : [];
        expect({ who, t, rows: Array.isArray(rows) ? rows : [] }).toEqual({ who, t, rows: own });
      }
    }
  });
});

describe("writes to rows the persona may not touch are refused or change nothing", () => {
  const rowCount = (who: string, sql: string, params: unknown[] = []) => asPersona(db, who, async (c) => (await c.query(sql, params)).rowCount);

  it("UPDATE and DELETE of another patient's or organization's rows affect 0 rows", async () => {
    expect(await rowCount("A.patient1", "update app.mood_entries set mood_score = 1 where id = $1", [id("A.mood.patient3")])).toBe(0);
    expect(await rowCount("A.patient1", "delete from app.mood_entries where id = any ($1)", [[id("A.mood.patient3"), id("B.mood.patient1")]])).toBe(0);
    expect(await rowCount("A.provider2", "update app.measurements set value = 1 where id = $1", [id("A.measurement.patient1")])).toBe(0);
    expect(await rowCount("A.admin", "update app.patients set last_name = 'X' where id = $1", [id("B.patient1.record")])).toBe(0);
    expect(await rowCount("A.admin", "delete from tenant.organization_members where id = $1", [id("B.patient1.member")])).toBe(0);
    expect(await rowCount("A.admin", "update app.appointments set status = 'cancelled' where id = $1", [id("A.appointment.patient1.psychotherapy")])).toBe(0);
    expect(await rowCount("A.provider1", "update app.appointments set status = 'confirmed' where id = $1", [id("A.appointment.patient1.psychotherapy")])).toBe(1);
    expect(await rowCount("A.patient1", "update app.encrypted_cycle_data set version = version + 1 where id = $1", [id("B.cycle.patient1")])).toBe(0);
    expect(await rowCount("A.developer", "update tenant.organizations set name = 'taken' where id = $1", [A])).toBe(0);
    // nobody deletes a patient through the API: no DELETE privilege at all (no policy would let a row through)
    const noDelete = await refusal(asPersona(db, "A.patient1", (c) => c.query("delete from app.patients where id = $1", [id("A.patient1.record")])));
    expect({ code: noDelete.code, message: noDelete.message }).toEqual({ code: "42501", message: "permission denied for table patients" });
    // and the owner's row is still there, untouched
    const still = await db.client.query("select mood_score from app.mood_entries where id = $1", [id("A.mood.patient3")]);
    expect(still.rows).toEqual([{ mood_score: 6 }]);
  });

  it("INSERT of a row for another patient or organization is refused by row-level security", async () => {
    const refused = async (who: string, sql: string, params: unknown[]) => {
      const e = await refusal(asPersona(db, who, (c) => c.query(sql, params)));
      expect({ who, sql, code: e.code, rls: /row-level security/.test(e.message) }).toEqual({ who, sql, code: "42501", rls: true });
    };
    await refused("A.patient1", "insert into app.mood_entries (organization_id, patient_id, mood_score) values ($1, $2, 5)", [A, id("A.patient3.record")]);
    await refused("A.provider1", "insert into app.measurements (organization_id, patient_id, measurement_type, value, unit, measured_at) values ($1, $2, 'weight', 1, 'kg', now())", [A, id("A.patient3.record")]);
    await refused("A.admin", "insert into app.patients (organization_id, first_name, last_name) values ($1, 'Evil', 'Twin')", [B]);
    await refused("A.admin", "insert into tenant.organization_members (organization_id, user_id, user_type, joined_at) values ($1, $2, 'admin', now())", [B, id("A.admin")]);
    await refused("A.patient1", "insert into tenant.organization_members (organization_id, user_id, user_type, joined_at) values ($1, $2, 'admin', now())", [A, id("A.patient1")]);
    await refused("A.patient1", "insert into app.encrypted_cycle_data (user_id, envelope) values ($1, '{\"v\":1,\"alg\":\"AES-256-GCM\",\"iv\":\"a\",\"ct\":\"b\"}')", [id("A.patient2")]);
    await refused("A.developer", "insert into app.profiles (id, email) values ($1, 'someone.else@rls-fixture.example')", [id("X.nobody")]);
    // ... while the same statements for the persona's own rows pass
    await asPersona(db, "A.patient1", (c) => c.query("insert into app.mood_entries (organization_id, patient_id, mood_score) values ($1, $2, 5)", [A, id("A.patient1.record")]));
  });

  it("moving a row to another organization (or patient, or owner) is refused", async () => {
    const moves: Array<[string, string, unknown[]]> = [
      ["A.admin", "update app.waitlists set organization_id = $1, provider_id = null where id = $2", [B, id("A.waitlist")]],
      ["A.admin", "update app.providers set organization_id = $1 where id = $2", [B, id("A.provider2.record")]],
      ["A.admin", "update app.patients set organization_id = $1 where id = $2", [B, id("A.patient2.record")]],
      ["A.admin", "update tenant.organization_members set organization_id = $1 where id = $2", [B, id("A.research.member")]],
      ["A.admin", "update app.products set organization_id = $1 where id = $2", [B, id("A.product.inactive")]],
      ["A.developer", "update tenant.oauth_clients set organization_id = $1 where id = $2", [B, id("A.oauth_client")]],
      ["A.patient1", "update app.mood_entries set patient_id = $1 where id = $2", [id("A.patient3.record"), id("A.mood.patient1")]],
      ["A.patient1", "update app.encrypted_cycle_data set user_id = $1 where id = $2", [id("A.patient2"), id("A.cycle.patient1")]],
      ["A.provider1", "update app.appointments set provider_id = $1 where id = $2", [id("A.provider2.record"), id("A.appointment.patient2.consultation")]],
    ];
    for (const [who, sql, params] of moves) {
      const e = await refusal(asPersona(db, who, (c) => c.query(sql, params)));
      expect({ who, sql, code: e.code, rls: /row-level security/.test(e.message) }).toEqual({ who, sql, code: "42501", rls: true });
    }
  });
});

describe("moves that would widen access are refused", () => {
  const rlsRefusal = async (who: string, sql: string, params: unknown[]) => {
    const e = await refusal(asPersona(db, who, (c) => c.query(sql, params)));
    expect({ who, sql, code: e.code, rls: /row-level security/.test(e.message) }).toEqual({ who, sql, code: "42501", rls: true });
  };

  it("a provider cannot hand a live appointment to a patient they do not treat (it would make them that patient's treating provider)", async () => {
    await rlsRefusal("A.provider1", "update app.appointments set patient_id = $1 where id = $2", [id("A.patient3.record"), id("A.appointment.patient2.consultation")]);
    // ... which would have opened patient3's records to provider1:
    expect(await visible(db, "A.provider1", "app.mood_entries")).toEqual(["A.mood.patient1"]);
    // between patients they treat it is a correction, not an escalation
    const n = await asPersona(db, "A.provider1", async (c) => (await c.query("update app.appointments set patient_id = $1 where id = $2", [id("A.patient1.record"), id("A.appointment.patient2.consultation")])).rowCount);
    expect(n).toBe(1);
  });

  it("an admin cannot hand an OAuth token to another person, and the back end cannot move a row to another organization", async () => {
    await rlsRefusal("A.admin", "update tenant.oauth_access_tokens set user_id = $1 where id = $2", [id("A.admin"), id("A.access_token.patient1")]);
    await rlsRefusal("A.admin", "update tenant.oauth_refresh_tokens set user_id = $1 where id = $2", [id("A.admin"), id("A.refresh_token.patient1")]);
    // revoking stays possible
    const revoked = await asPersona(db, "A.admin", async (c) => (await c.query("update tenant.oauth_access_tokens set revoked_at = now() where id = $1", [id("A.access_token.patient1")])).rowCount);
    expect(revoked).toBe(1);
    for (const [table, row] of [
      ["storage_meta.objects", "A.object"],
      ["storage_meta.quotas", "A.quota"],
      ["storage_meta.deletion_queue", "A.deletion"],
      ["cache.analysis_results", "A.cache.organization"],
      ["tenant.organization_members", "A.research.member"],
      ["tenant.oauth_access_tokens", "A.access_token.patient1"],
    ]) {
      await rlsRefusal("service_role", `update ${table} set organization_id = $1 where id = $2`, [B, id(row)]);
    }
    await rlsRefusal("service_role", "update storage_meta.object_chunks set object_id = $1 where id = $2", [id("B.object"), id("A.object_chunk")]);
    // ... while its ordinary updates work
    const n = await asPersona(db, "service_role", async (c) => (await c.query("update storage_meta.objects set status = status where id = $1", [id("A.object")])).rowCount);
    expect(n).toBe(1);
  });
});

describe("forged, missing or malformed claims never widen access", () => {
  async function everything(who: string): Promise<Record<string, string[] | string>> {
    const out: Record<string, string[] | string> = {};
    for (const t of tables) out[t] = await visible(db, who, t);
    return out;
  }

  it("no claims, no sub, malformed JSON, or a sub that is not a uuid: no row of any table", async () => {
    for (const who of ["forged.no_claims", "forged.no_sub", "forged.malformed", "forged.sub_not_uuid"]) {
      const seen = Object.entries(await everything(who)).filter(([, rows]) => Array.isArray(rows) && rows.length > 0);
      expect({ who, seen }).toEqual({ who, seen: [] });
    }
  });

  it("an authenticated session claiming role service_role gets exactly what its sub gets", async () => {
    expect(await everything("forged.service_role_claim")).toEqual(await everything("A.patient1"));
  });

  it("the audit trail records the database role a forged service_role claim ran as, not the claim", async () => {
    const forger = persona("forged.service_role_claim");
    await db.client.query("begin");
    try {
      await actAs(db.client, forger);
      const r = await db.client.query(
        "insert into app.mood_entries (organization_id, patient_id, mood_score, recorded_at) values ($1, $2, 4, now()) returning id",
        [A, id("A.patient1.record")],
      );
      await db.client.query("reset role");
      const log = await db.client.query("select actor_id::text, actor_role from audit.log where table_name = 'mood_entries' and row_id = $1", [r.rows[0].id]);
      expect(log.rows).toEqual([{ actor_id: (forger.claims as { sub: string }).sub, actor_role: "authenticated" }]);
    } finally {
      await db.client.query("rollback");
    }
  });

  it("an org_id claim of another organization changes nothing: the sub's memberships decide", async () => {
    expect(await everything("forged.org_claim")).toEqual(await everything("B.admin"));
  });
});

describe("request roles", () => {
  it("anon reaches no table at all; it may only redeem share tokens through auth.validate_share_token", async () => {
    for (const t of tables) expect({ t, rows: await visible(db, "anon", t) }).toEqual({ t, rows: "error 42501" });
    const r = await asPersona(db, "anon", (c) => c.query("select valid, reason from auth.validate_share_token('phs_' || repeat('x', 43))"), { "request.client_ip": "198.51.100.9" });
    expect(r.rows).toEqual([{ valid: false, reason: "invalid" }]);
  });

  it("service_role has no privilege on zero-knowledge / user health data (schema app)", async () => {
    for (const t of tables.filter((x) => x.startsWith("app."))) expect({ t, rows: await visible(db, "service_role", t) }).toEqual({ t, rows: "error 42501" });
    // ... and works where the back end needs it
    expect(await visible(db, "service_role", "storage_meta.objects")).toEqual(["A.object", "B.object"]);
    expect(await visible(db, "service_role", "tenant.organizations")).toEqual(["org.A", "org.B"]);
  });

  it("auditor reads evidence, not the privacy-hash salts, and nothing outside audit", async () => {
    expect(await visible(db, "auditor", "audit.phi_access_log")).toEqual(["A.phi_read", "B.phi_read"]);
    expect(await visible(db, "auditor", "audit.log")).toEqual(["A.audit_log", "B.audit_log"]);
    expect(await visible(db, "auditor", "audit.hash_salts")).toBe("error 42501"); // no policy, so no privilege either
    expect(await visible(db, "auditor", "app.patients")).toBe("error 42501");
    const chain = await asPersona(db, "auditor", (c) => c.query("select count(*)::int as n from audit.verify_chain()"));
    expect(chain.rows[0].n).toBeGreaterThan(0);
  });

  it("analytics_reader sees de-identified cells of at least 11 subjects and nothing else", async () => {
    expect(await visible(db, "analytics_reader", "analytics.metrics")).toEqual(["A.metric.large", "B.metric.large"]);
    for (const t of tables.filter((x) => !x.startsWith("analytics."))) expect({ t, rows: await visible(db, "analytics_reader", t) }).toEqual({ t, rows: "error 42501" });
  });
});

describe("partitions", () => {
  it("a partition queried directly shows every persona the same rows as the parent", async () => {
    const inPartition = await db.client.query(`select id::text from ${partition}`);
    const here = new Set(inPartition.rows.map((r) => labelOf("app.appointments", r.id)).filter(Boolean));
    expect(here.size).toBe(12); // every fixture appointment is in this month's partition
    for (const p of PERSONAS.filter((x) => x.role === "authenticated")) {
      const viaParent = await visible(db, p, "app.appointments");
      const direct = await visible(db, p, "app.appointments", partition);
      expect({ who: p.name, direct }).toEqual({ who: p.name, direct: (viaParent as string[]).filter((x) => here.has(x)) });
    }
  });

  it("every partition carries exactly its parent's policies", async () => {
    const r = await db.client.query(
      `select c.oid::regclass::text as part,
              array(select polname || ':' || coalesce(pg_get_expr(polqual, polrelid), '') || ':' || coalesce(pg_get_expr(polwithcheck, polrelid), '')
                      from pg_policy where polrelid = c.oid order by 1) as mine,
              array(select polname || ':' || coalesce(pg_get_expr(polqual, polrelid), '') || ':' || coalesce(pg_get_expr(polwithcheck, polrelid), '')
                      from pg_policy where polrelid = i.inhparent order by 1) as parents
         from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent in ('app.appointments'::regclass, 'audit.log'::regclass)`,
    );
    expect(r.rows.length).toBeGreaterThan(20);
    for (const row of r.rows) expect({ part: row.part, policies: row.mine }).toEqual({ part: row.part, policies: row.parents });
  });
});

describe("grants and policies together", () => {
  const POLICY_DIR = path.join(__dirname, "../../sql/policies");
  const files = fs.readdirSync(POLICY_DIR).filter((f) => f.endsWith(".sql")).sort();
  const text = (f: string) => fs.readFileSync(path.join(POLICY_DIR, f), "utf8");
  const grantees = () => policyGranteeRoles(loadAccessModel());

  it("every table of the RLS-managed schemas has its privileges declared in exactly one policy file (revoke all, then grants)", () => {
    const from = ["public", ...grantees()].join(", ");
    const declaredIn = new Map<string, string[]>();
    for (const f of files) {
      for (const m of text(f).matchAll(/^revoke all on ([a-z_]+\.[a-z_]+(?:, [a-z_]+\.[a-z_]+)*) from ([a-z_, ]+);$/gm)) {
        expect({ f, statement: m[0], from: m[2] }).toEqual({ f, statement: m[0], from });
        for (const t of m[1].split(", ")) declaredIn.set(t, [...(declaredIn.get(t) ?? []), f]);
      }
    }
    for (const t of tables) expect({ t, files: declaredIn.get(t) }).toEqual({ t, files: [expect.any(String)] });
    // ... and a file grants only on tables whose privileges it resets itself (they change together with its policies)
    for (const f of files) {
      for (const m of text(f).matchAll(/^grant [a-z, ]+ on ([a-z_]+\.[a-z_]+(?:, [a-z_]+\.[a-z_]+)*) to [a-z_, ]+;$/gm)) {
        for (const t of m[1].split(", ")) expect({ f, t, resetIn: declaredIn.get(t) }).toEqual({ f, t, resetIn: [f] });
      }
    }
  });

  it("a database holding the former bulk grants converges when the policy files run again", async () => {
    const schemas = rlsSchemas(loadAccessModel());
    const acl = async () =>
      (
        await db.client.query(
          `select c.oid::regclass::text as rel, coalesce(c.relacl::text, '') as acl from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any ($1) and c.relkind in ('r', 'p', 'v', 'm') order by 1`,
          [schemas],
        )
      ).rows;
    const before = await acl();
    await db.client.query("begin");
    try {
      // What the access model used to grant per schema (sql/access.json before grants moved next to the policies).
      await db.client.query(`
        grant select, insert, update, delete on all tables in schema tenant, app, cache to authenticated;
        grant select on all tables in schema storage_meta, analytics to authenticated;
        grant select, insert, update on all tables in schema tenant to service_role;
        grant select, insert, update, delete on all tables in schema storage_meta, cache to service_role;
        grant select, insert on all tables in schema logs to service_role;
        grant insert on all tables in schema audit to service_role;
        grant select on all tables in schema audit to auditor;
        grant select on all tables in schema analytics to analytics_reader;
      `);
      const stale = await policyMatrix(db.client, { managedSchemas: schemas, requestRoles: grantees() });
      expect(stale.grantedWithoutPolicy.length).toBeGreaterThan(50);
      await db.client.query("set local role phi_owner");
      for (const f of files) await db.client.query(text(f));
      await db.client.query("reset role");
      const fresh = await policyMatrix(db.client, { managedSchemas: schemas, requestRoles: grantees() });
      expect(fresh.grantedWithoutPolicy).toEqual([]);
      expect(fresh.policyWithoutGrant).toEqual([]);
      expect(await acl()).toEqual(before); // partitions and views included
    } finally {
      await db.client.query("rollback");
    }
  });

  it("every partition holds exactly its parent's privileges (a partition queried directly checks its own)", async () => {
    const r = await db.client.query(
      `select c.oid::regclass::text as part,
              array(select format('%s:%s', a.grantee::regrole, a.privilege_type) from aclexplode(c.relacl) a where a.grantee <> c.relowner order by 1) as mine,
              array(select format('%s:%s', a.grantee::regrole, a.privilege_type) from aclexplode(p.relacl) a where a.grantee <> p.relowner order by 1) as parents
         from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
        where i.inhparent in ('app.appointments'::regclass, 'audit.log'::regclass, 'audit.log_archive'::regclass)`,
    );
    expect(r.rows.length).toBeGreaterThan(20);
    for (const row of r.rows) expect({ part: row.part, privileges: row.mine }).toEqual({ part: row.part, privileges: row.parents });
    expect(r.rows.find((x) => x.part.startsWith("app.appointments_"))!.mine).toEqual(["authenticated:DELETE", "authenticated:INSERT", "authenticated:SELECT", "authenticated:UPDATE"]);
  });
});

describe("a request role cannot get out of row-level security", () => {
  const attempt = (who: string, sql: string) => refusal(asPersona(db, who, (c) => c.query(sql)));

  it("cannot SET ROLE to the owner, the migrator or the superuser, nor change the session user", async () => {
    const superuser = (await db.client.query("select current_user as u")).rows[0].u;
    for (const who of ["authenticated:A.admin", "service_role", "anon"]) {
      const p = who.startsWith("authenticated:") ? who.split(":")[1] : who;
      for (const target of ["phi_owner", "phi_migrator", superuser, "auditor", "pg_read_all_data"]) {
        const e = await attempt(p, `set role ${target}`);
        expect({ p, target, code: e.code }).toEqual({ p, target, code: "42501" });
      }
      const e = await attempt(p, `set session authorization ${superuser}`);
      expect({ p, code: e.code }).toEqual({ p, code: "42501" });
    }
    // authenticator itself holds nothing (NOINHERIT) and can only become the three request roles
    await expect(db.api.query("select 1 from app.patients")).rejects.toMatchObject({ code: "42501" });
    await expect(db.api.query("set role phi_owner")).rejects.toMatchObject({ code: "42501" });
  });

  it("cannot disable or weaken RLS, policies or triggers, nor bypass them by replication role", async () => {
    const statements = [
      "alter table app.patients disable row level security",
      "alter table app.patients no force row level security",
      "drop policy patient_select on app.patients",
      "create policy mine on app.patients for select to authenticated using (true)",
      "alter policy patient_select on app.patients using (true)",
      "alter table app.patients disable trigger audit_insert",
      "alter table app.patients disable trigger all",
      "set session_replication_role = replica",
      "alter role authenticated bypassrls",
      "grant phi_owner to authenticated",
      "create or replace function app.rls_patient_ids() returns uuid[] language sql as $$ select array(select id from app.patients) $$",
    ];
    for (const sql of statements) {
      const e = await attempt("A.admin", sql);
      expect({ sql, code: e.code }).toEqual({ sql, code: "42501" });
    }
  });

  it("cannot read or write the migration ledger", async () => {
    for (const who of ["A.admin", "service_role", "anon"]) {
      for (const sql of ["select * from phi_ledger.schema_history", "select * from phi_ledger.schema_events", "delete from phi_ledger.schema_history"]) {
        const e = await attempt(who, sql);
        expect({ who, sql, code: e.code }).toEqual({ who, sql, code: "42501" });
      }
    }
  });
});

describe("the optional request-context guard (IP allow-list, business hours)", () => {
  const setting = async (key: string, value: unknown) => {
    await db.client.query(
      "insert into tenant.instance_settings (setting_key, setting_value, category) values ($1, $2, 'security') on conflict (setting_key) do update set setting_value = excluded.setting_value",
      [key, JSON.stringify(value)],
    );
  };
  afterEach(async () => {
    await db.client.query("delete from tenant.instance_settings where setting_key in ('security.ip_allowlist', 'security.business_hours')");
  });

  it("off by default: no setting, no restriction", async () => {
    expect(await visible(db, "A.patient1", "app.mood_entries", "app.mood_entries", { "request.client_ip": "198.51.100.7" })).toEqual(["A.mood.patient1"]);
  });

  it("with an allow-list, requests from elsewhere (or without a client IP) see nothing and cannot write", async () => {
    await setting("security.ip_allowlist", ["10.20.0.0/16", "203.0.113.7/32"]);
    const from = (ip: string | null) => visible(db, "A.patient1", "app.mood_entries", "app.mood_entries", ip ? { "request.client_ip": ip } : {});
    expect(await from("10.20.3.4")).toEqual(["A.mood.patient1"]);
    expect(await from("203.0.113.7")).toEqual(["A.mood.patient1"]);
    expect(await from("198.51.100.7")).toEqual([]);
    expect(await from(null)).toEqual([]);
    const e = await refusal(
      asPersona(db, "A.patient1", (c) => c.query("insert into app.mood_entries (organization_id, patient_id, mood_score) values ($1, $2, 5)", [A, id("A.patient1.record")]), {
        "request.client_ip": "198.51.100.7",
      }),
    );
    expect(e.code).toBe("42501");
    // the back end is not an end user: not guarded
    expect(await visible(db, "service_role", "storage_meta.objects", "storage_meta.objects", { "request.client_ip": "198.51.100.7" })).toEqual(["A.object", "B.object"]);
  });

  it("outside business hours only a valid crisis grantee keeps (its) access", async () => {
    // a window that is never open: start = end
    await setting("security.business_hours", { timezone: "UTC", days: [1, 2, 3, 4, 5, 6, 7], start: "00:00", end: "00:00" });
    expect(await visible(db, "A.provider1", "app.appointments")).toEqual([]);
    expect(await visible(db, "A.patient1", "app.mood_entries")).toEqual([]);
    expect(await visible(db, "X.crisis_valid", "app.appointments")).toEqual(["A.appointment.patient3.crisis"]);
    expect(await visible(db, "X.crisis_expired", "app.appointments")).toEqual([]);
    // all day, every day: open
    await setting("security.business_hours", { timezone: "UTC", days: [1, 2, 3, 4, 5, 6, 7], start: "00:00", end: "24:00" });
    expect(await visible(db, "A.patient1", "app.mood_entries")).toEqual(["A.mood.patient1"]);
  });

  it("a malformed setting fails closed", async () => {
    await setting("security.ip_allowlist", ["not-a-network"]);
    expect(await visible(db, "A.patient1", "app.mood_entries", "app.mood_entries", { "request.client_ip": "10.20.3.4" })).toEqual([]);
  });
});

describe("the known-good patterns", () => {
  const plan = (who: string, sql: string) =>
    asPersona(db, who, async (c: Client) => (await c.query(`explain (costs off) ${sql}`)).rows.map((r) => r["QUERY PLAN"] as string).join("\n"));

  it("policy helpers run once per statement (InitPlan), never per row (SubPlan)", async () => {
    for (const sql of ["select * from app.mood_entries", "select * from app.appointments", "select * from app.patients", "select * from tenant.organization_members"]) {
      const p = await plan("A.provider1", sql);
      expect({ sql, initPlan: /InitPlan/.test(p), subPlan: /SubPlan/.test(p) }).toEqual({ sql, initPlan: true, subPlan: false });
    }
  });

  it("membership helpers are SECURITY DEFINER with a pinned search_path and reveal only the caller's own facts", async () => {
    const r = await db.client.query(
      `select p.oid::regprocedure::text as f, p.prosecdef as definer, p.proconfig as config, p.provolatile as volatility
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.proname like 'rls\\_%' and n.nspname in ('app', 'tenant') order by 1`,
    );
    expect(r.rows.length).toBeGreaterThanOrEqual(12);
    for (const row of r.rows) expect(row).toEqual({ f: row.f, definer: true, config: ["search_path=\"\""], volatility: "s" });
    // a patient asking for other people's ids gets its own only
    const ids = await asPersona(db, "A.patient1", (c) => c.query("select app.rls_patient_ids() as mine, app.rls_treated_patient_ids() as treated, tenant.rls_org_ids() as orgs"));
    expect(ids.rows[0]).toEqual({ mine: [id("A.patient1.record")], treated: [], orgs: [A] });
  });
});
