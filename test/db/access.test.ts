/**
 * The access model applied as SQL to a real PostgreSQL (migrator/access-sql.ts), with the shipped
 * model and its real role names (roles are cluster-wide; every run applies the same model, so
 * parallel test files converge on the same roles).
 */
import type { Client } from "pg";
import {
  AccessModel,
  AccessModelError,
  granteeRoles,
  loadAccessModel,
  requestRoles,
  TABLE_PRIVILEGES,
  SEQUENCE_PRIVILEGES,
} from "../../migrator/access-model";
import { AccessPreflightError, applyAccessModel, ApplyAccessResult } from "../../migrator/access-sql";
import { createDatabase, TestDatabase } from "../support/db";
import { dropRoles, expectedCatalog, readCatalog, withRoleSuffix } from "./access-catalog";

const LOCAL_OPTIONAL = ["pgaudit", "pg_cron", "pg_partman"];

describe("access model applied as SQL", () => {
  let db: TestDatabase;
  let model: AccessModel;
  let first: ApplyAccessResult;
  let firstLog: string[];
  let available: string[];
  let pg16: boolean;
  const roleNames = () => model.roles.map((r) => r.name);

  const apply = async (client: Client = db.client, log?: string[]) =>
    applyAccessModel(client, model, { environment: "local", optionalExtensions: LOCAL_OPTIONAL, log: log ? (l) => log.push(l) : undefined });

  beforeAll(async () => {
    db = await createDatabase("access");
    model = loadAccessModel();
    available = (await db.client.query("select name from pg_catalog.pg_available_extensions")).rows.map((r) => r.name);
    pg16 = Number((await db.client.query("show server_version_num")).rows[0].server_version_num) >= 160000;
    firstLog = [];
    first = await apply(db.client, firstLog);
    // PHI-like tables, a sequence and functions created the way migrations create them: as the owner.
    await db.client.query(`set role phi_owner`);
    await db.client.query(`
      create table app.patient_notes (
        id uuid primary key default extensions.uuid_generate_v4(),
        patient_id uuid not null,
        note_ciphertext bytea not null
      );
      alter table app.patient_notes enable row level security, force row level security;
      create table tenant.organisations (id bigint generated always as identity primary key, name text not null);
      alter table tenant.organisations enable row level security, force row level security;
      create table storage_meta.documents (id bigserial primary key, s3_key text not null);
      create table audit.access_events (id bigserial primary key, at timestamptz not null default now());
      create table logs.events (id bigserial primary key, message text);
      create table cache.profile_cache (id bigserial primary key, payload jsonb);
      create table analytics.daily_counts (day date primary key, n bigint not null);
      create table phi_ledger.access_probe (id int primary key);
      create function auth.uid() returns uuid language sql stable as $$ select null::uuid $$;
      create function app.share_token_valid(t text) returns boolean language sql stable as $$ select t is not null $$;
    `);
    await db.client.query(`reset role`);
  });
  afterAll(async () => db.drop());

  it("creates the required extensions, and skips the optional ones this server lacks with a visible notice", async () => {
    const expectedSkipped = LOCAL_OPTIONAL.filter((e) => !available.includes(e)).sort();
    expect([...first.skippedExtensions].sort()).toEqual(expectedSkipped);
    for (const e of expectedSkipped) expect(firstLog).toContain(`notice: extension ${e} is not available on this server; skipped (optional in environment local)`);
    const installed = (await db.client.query("select extname from pg_catalog.pg_extension")).rows.map((r) => r.extname);
    for (const e of ["pgcrypto", "uuid-ossp", "pg_trgm", "btree_gist", "pg_stat_statements"]) expect(installed).toContain(e);
  });

  it("says visibly that IAM roles get no rds_iam membership locally", () => {
    expect(first.skippedRdsIam).toEqual(["phi_app"]);
    expect(firstLog.some((l) => l.startsWith("notice: phi_app is not made a member of rds_iam (environment local"))).toBe(true);
  });

  it("outside local, grants rds_iam where the server has it and warns where it does not (fail closed: no IAM login)", async () => {
    const log: string[] = [];
    const r = await applyAccessModel(db.client, model, { environment: "dev", optionalExtensions: LOCAL_OPTIONAL, log: (l) => log.push(l) });
    const hasRdsIam = (await db.client.query(`select exists (select from pg_catalog.pg_roles where rolname = 'rds_iam') as x`)).rows[0].x;
    expect(r.skippedRdsIam).toEqual(hasRdsIam ? [] : ["phi_app"]);
    if (!hasRdsIam) expect(log).toContain("warning: phi_app is not made a member of rds_iam: environment dev expects RDS, but this server has no rds_iam role; phi_app has no way to log in here");
  });

  it("leaves the catalog exactly as the model says: roles, memberships, schemas, extensions, database, default privileges", async () => {
    const actual = await readCatalog(db.client, roleNames(), model.owner);
    const expected = expectedCatalog(model, { pg16, installedExtensions: model.extensions.map((e) => e.name).filter((e) => !first.skippedExtensions.includes(e)) });
    expect(actual.roles).toEqual(expected.roles);
    expect(actual.memberships).toEqual(expected.memberships);
    expect(actual.schemas).toEqual(expected.schemas);
    expect(actual.publicSchema).toEqual([]);
    expect(actual.extensions).toEqual(expected.extensions);
    expect(actual.database).toEqual(expected.database);
    expect(actual.defaultPrivileges).toEqual(expected.defaultPrivileges);
  });

  it("is idempotent: applying it again leaves the same catalog and revokes or moves nothing", async () => {
    const before = await readCatalog(db.client, roleNames(), model.owner);
    const again = await apply();
    const after = await readCatalog(db.client, roleNames(), model.owner);
    expect(after).toEqual(before);
    expect(again.notices.filter((n) => /revoked|moved/.test(n))).toEqual([]);
  });

  it("keeps the owner NOLOGIN, and gives no role of the model BYPASSRLS or SUPERUSER unless the model says so", async () => {
    const r = await db.client.query(`select rolname, rolcanlogin, rolbypassrls, rolsuper from pg_catalog.pg_roles where rolname = any($1)`, [roleNames()]);
    expect(r.rows).toHaveLength(model.roles.length);
    expect(r.rows.find((x) => x.rolname === model.owner)?.rolcanlogin).toBe(false);
    const bypass = r.rows.filter((x) => x.rolbypassrls).map((x) => x.rolname).sort();
    expect(bypass).toEqual(model.roles.filter((x) => x.bypassRls).map((x) => x.name).sort());
    expect(bypass).toEqual([]); // the shipped model: nothing bypasses RLS, not even the owner
    expect(r.rows.filter((x) => x.rolsuper)).toEqual([]);
  });

  /** Roles `login` can SET ROLE to (other than itself), tried one by one in a session whose session user is `login`. */
  async function settable(login: string, candidates: string[]): Promise<string[]> {
    const c = await db.connect();
    try {
      await c.query(`set session authorization ${login}`);
      const ok: string[] = [];
      for (const r of candidates.filter((x) => x !== login)) {
        try {
          await c.query(`set role "${r}"`);
          ok.push(r);
        } catch (e) {
          expect((e as { code?: string }).code).toBe("42501");
        }
        await c.query("reset role");
      }
      return ok.sort();
    } finally {
      await c.end();
    }
  }

  it("lets authenticator (and phi_app) SET ROLE to exactly the three request roles, and phi_migrator only to the owner", async () => {
    const superuser = (await db.client.query("select current_user as u")).rows[0].u as string;
    const candidates = [...roleNames(), superuser, "pg_read_all_data", "pg_monitor"];
    const request = requestRoles(model).sort();
    expect(request).toEqual(["anon", "authenticated", "service_role"]);
    expect(await settable("authenticator", candidates)).toEqual(request);
    expect(await settable("phi_app", candidates)).toEqual(request);
    expect(await settable("phi_migrator", candidates)).toEqual([model.owner]);
  });

  it("gives authenticator nothing by itself (NOINHERIT): it reads only after switching to a request role", async () => {
    const c = await db.connect();
    try {
      // As a policy file grants it (inside a transaction that is rolled back: the table stays dark for the other tests).
      await c.query("begin");
      await c.query("grant select on app.patient_notes to authenticated");
      await c.query("set local session authorization authenticator");
      await c.query("savepoint before_read");
      await expect(c.query("select count(*) from app.patient_notes")).rejects.toMatchObject({ code: "42501" });
      await c.query("rollback to savepoint before_read");
      await c.query("set local role authenticated");
      const r = await c.query("select count(*)::int as n from app.patient_notes");
      expect(r.rows[0].n).toBe(0); // forced RLS, no policy yet: no rows, but allowed
    } finally {
      await c.query("rollback").catch(() => undefined);
      await c.end();
    }
  });

  it("leaves a new table in an RLS-managed schema dark for every role but the owner until its policy file grants it", async () => {
    const rls = model.schemas.filter((s) => s.rls).map((s) => s.name);
    const tables = await db.client.query(
      `select c.oid::regclass::text as t from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = any($1)`,
      [rls],
    );
    expect(tables.rows.map((x) => x.t).sort()).toEqual(["analytics.daily_counts", "app.patient_notes", "audit.access_events", "cache.profile_cache", "logs.events", "storage_meta.documents", "tenant.organisations"]);
    for (const { t } of tables.rows) {
      for (const role of granteeRoles(model)) {
        const r = await db.client.query(`select pg_catalog.has_any_column_privilege($1, $2, 'SELECT, INSERT, UPDATE, REFERENCES') as col,
                                                array(select p from unnest($3::text[]) p where pg_catalog.has_table_privilege($1, $2, p)) as tbl`, [role, t, [...TABLE_PRIVILEGES]]);
        expect({ t, role, ...r.rows[0] }).toEqual({ t, role, col: false, tbl: [] });
      }
    }
    const c = await db.connect();
    try {
      await c.query("set session authorization authenticator");
      await c.query("set role authenticated");
      await expect(c.query("select * from tenant.organisations")).rejects.toMatchObject({ code: "42501" });
    } finally {
      await c.end();
    }
  });

  it("gives anon no privilege on any table in the model's schemas (PHI tables included)", async () => {
    const tables = await db.client.query(
      `select c.oid::regclass::text as t from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'v', 'm') and n.nspname = any($1)`,
      [model.schemas.map((s) => s.name)],
    );
    expect(tables.rows.length).toBeGreaterThanOrEqual(8);
    for (const { t } of tables.rows) {
      for (const p of TABLE_PRIVILEGES) {
        const r = await db.client.query(`select pg_catalog.has_table_privilege('anon', $1, $2) as ok`, [t, p]);
        expect({ t, p, ok: r.rows[0].ok }).toEqual({ t, p, ok: false });
      }
      const col = await db.client.query(`select pg_catalog.has_any_column_privilege('anon', $1, 'SELECT, INSERT, UPDATE, REFERENCES') as ok`, [t]);
      expect({ t, ok: col.rows[0].ok }).toEqual({ t, ok: false });
    }
    const c = await db.connect();
    try {
      await c.query("set session authorization authenticator");
      await c.query("set role anon");
      await expect(c.query("select * from app.patient_notes")).rejects.toMatchObject({ code: "42501" });
      await expect(c.query("insert into app.patient_notes (patient_id, note_ciphertext) values (gen_random_uuid(), '\\x00')")).rejects.toMatchObject({ code: "42501" });
    } finally {
      await c.end();
    }
  });

  it("gives every table and sequence the owner creates later exactly the model's grants (default privileges, no hand edits; no table in an RLS-managed schema)", async () => {
    const rels = await db.client.query(
      `select n.nspname as schema, c.oid::regclass::text as rel, c.relkind from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'S') and n.nspname = any($1) and c.relowner = $2::regrole`,
      [model.schemas.map((s) => s.name), model.owner],
    );
    expect(rels.rows.filter((x) => x.relkind === "S").length).toBeGreaterThanOrEqual(5);
    for (const { schema, rel, relkind } of rels.rows) {
      for (const role of granteeRoles(model)) {
        const grant = model.grants.find((g) => g.role === role && g.schema === schema);
        const privs = relkind === "r" ? TABLE_PRIVILEGES : SEQUENCE_PRIVILEGES;
        const want = relkind === "r" ? (grant?.tables ?? []) : (grant?.sequences ?? []);
        const fn = relkind === "r" ? "has_table_privilege" : "has_sequence_privilege";
        const r = await db.client.query(`select array(select p from unnest($3::text[]) p where pg_catalog.${fn}($1, $2, p) order by p) as got`, [role, rel, [...privs]]);
        expect({ role, rel, privileges: r.rows[0].got }).toEqual({ role, rel, privileges: [...want].sort() });
      }
    }
    // Zero-knowledge: service_role, auditor and analytics_reader cannot read user health data.
    for (const role of ["service_role", "auditor", "analytics_reader"]) {
      const r = await db.client.query(`select pg_catalog.has_table_privilege($1, 'app.patient_notes', 'SELECT') as ok`, [role]);
      expect({ role, ok: r.rows[0].ok }).toEqual({ role, ok: false });
    }
  });

  it("makes functions the owner creates later executable only by the roles the model names (never PUBLIC)", async () => {
    for (const f of ["auth.uid()", "app.share_token_valid(text)"]) {
      const acl = await db.client.query(`select exists (select from pg_catalog.aclexplode((select proacl from pg_catalog.pg_proc where oid = $1::regprocedure)) a where a.grantee = 0) as public`, [f]);
      expect({ f, public: acl.rows[0].public }).toEqual({ f, public: false });
      const schema = f.split(".")[0];
      for (const role of granteeRoles(model)) {
        const want = model.grants.some((g) => g.role === role && g.schema === schema && g.functions.includes("EXECUTE"));
        const r = await db.client.query(`select pg_catalog.has_function_privilege($1, $2, 'EXECUTE') as ok`, [role, f]);
        expect({ f, role, ok: r.rows[0].ok }).toEqual({ f, role, ok: want });
      }
    }
  });

  it("repairs drift in schema, database and default privileges, and schema ownership and comments", async () => {
    await db.client.query(`
      grant usage, create on schema app to anon;
      grant create on schema public to public;
      alter default privileges for role phi_owner in schema app grant select on tables to anon;
      alter default privileges for role phi_owner grant select on tables to auditor;
      alter schema cache owner to current_user;
      comment on schema tenant is 'tampered';
    `);
    await db.client.query(`grant temporary, connect on database "${db.name}" to public`);
    const drifted = await readCatalog(db.client, roleNames(), model.owner);
    const expected = expectedCatalog(model, { pg16, installedExtensions: model.extensions.map((e) => e.name).filter((e) => !first.skippedExtensions.includes(e)) });
    expect(drifted.schemas).not.toEqual(expected.schemas); // the drift is real ...
    await apply();
    const repaired = await readCatalog(db.client, roleNames(), model.owner);
    expect(repaired.schemas).toEqual(expected.schemas); // ... and gone
    expect(repaired.publicSchema).toEqual([]);
    expect(repaired.database).toEqual(expected.database);
    expect(repaired.defaultPrivileges).toEqual(expected.defaultPrivileges);
  });

  it("restores the model's grants on existing tables, and leaves extra grants a migration made on one object alone", async () => {
    await db.client.query(`revoke all on phi_ledger.access_probe from auditor`);
    await db.client.query(`set role phi_owner; grant execute on function app.share_token_valid(text) to anon; reset role`);
    await apply();
    const r = await db.client.query(
      `select pg_catalog.has_table_privilege('auditor', 'phi_ledger.access_probe', 'SELECT') as ledger,
              pg_catalog.has_function_privilege('anon', 'app.share_token_valid(text)', 'EXECUTE') as token`,
    );
    expect(r.rows[0]).toEqual({ ledger: true, token: true });
  });

  it("neither grants nor revokes table privileges in an RLS-managed schema: a policy file's per-table grants survive it", async () => {
    // What sql/policies does for a table: revoke all, grant what its policies back.
    await db.client.query(`set role phi_owner; grant select, insert on app.patient_notes to authenticated; reset role`);
    await apply();
    const r = await db.client.query(
      `select array(select p from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p where pg_catalog.has_table_privilege('authenticated', 'app.patient_notes', p)) as notes,
              pg_catalog.has_table_privilege('authenticated', 'tenant.organisations', 'SELECT') as other`,
    );
    expect(r.rows[0]).toEqual({ notes: ["SELECT", "INSERT"], other: false });
    await db.client.query(`revoke all on app.patient_notes from authenticated`);
  });

  describe("refuses before applying anything", () => {
    let fresh: TestDatabase;
    const tag = `r${process.pid}${Date.now().toString(36)}`.toLowerCase();
    let probe: AccessModel;
    beforeAll(async () => {
      fresh = await createDatabase("access_refuse");
      probe = withRoleSuffix(model, tag);
    });
    afterAll(async () => {
      await fresh.drop();
      await dropRoles(db.client, probe.roles.map((r) => r.name).reverse());
    });

    async function nothingApplied() {
      const roles = await fresh.client.query(`select rolname from pg_catalog.pg_roles where rolname like '%\\_' || $1`, [tag]);
      expect(roles.rows).toEqual([]);
      const schemas = await fresh.client.query(`select nspname from pg_catalog.pg_namespace where nspname = any($1)`, [model.schemas.map((s) => s.name)]);
      expect(schemas.rows).toEqual([]);
      const ext = await fresh.client.query(`select extname from pg_catalog.pg_extension where extname <> 'plpgsql'`);
      expect(ext.rows).toEqual([]);
    }

    it("a grant to an unknown role: AccessModelError naming the entry", async () => {
      const bad: AccessModel = { ...probe, grants: [...probe.grants, { role: "nobody", schema: "app", schemaPrivileges: ["USAGE"], tables: [], sequences: [], functions: [] }] };
      const p = applyAccessModel(fresh.client, bad, { environment: "local", optionalExtensions: LOCAL_OPTIONAL });
      await expect(p).rejects.toBeInstanceOf(AccessModelError);
      await expect(p).rejects.toThrow(`grants[${probe.grants.length}].role: unknown role "nobody"`);
      await nothingApplied();
    });

    it("a duplicate role and an unknown extension: AccessModelError listing both", async () => {
      const bad: AccessModel = {
        ...probe,
        roles: [...probe.roles, { ...probe.roles[1] }],
        extensions: [...probe.extensions, { name: "pg_crond", schema: "extensions", comment: "" }],
      };
      const p = applyAccessModel(fresh.client, bad, { environment: "local", optionalExtensions: LOCAL_OPTIONAL });
      await expect(p).rejects.toThrow(/duplicate role "anon_r[0-9a-z]+" \(already declared at roles\[1\]\)/);
      await expect(p).rejects.toThrow(/unknown extension "pg_crond"/);
      await nothingApplied();
    });

    it("an optional extension the model does not have: AccessModelError", async () => {
      const p = applyAccessModel(fresh.client, probe, { environment: "local", optionalExtensions: ["postgis"] });
      await expect(p).rejects.toThrow(`optionalExtensions[0]: unknown extension "postgis"`);
      await nothingApplied();
    });

    it("a required extension the server lacks: AccessPreflightError naming it", async () => {
      const missing = probe.extensions.map((e) => e.name).filter((e) => !available.includes(e));
      if (missing.length === 0) {
        // A server with every extension (e.g. DATABASE_URL pointing at a full build): nothing to refuse.
        const r = await applyAccessModel(fresh.client, probe, { environment: "dev", optionalExtensions: [], rdsIam: false });
        expect(r.skippedExtensions).toEqual([]);
        return;
      }
      const p = applyAccessModel(fresh.client, probe, { environment: "dev", optionalExtensions: [], rdsIam: false });
      await expect(p).rejects.toBeInstanceOf(AccessPreflightError);
      await expect(p).rejects.toThrow(`required extension(s) not available on this server: ${missing.join(", ")}`);
      await nothingApplied();
    });

    it("rdsIam: true on a server without rds_iam: AccessPreflightError", async () => {
      const p = applyAccessModel(fresh.client, probe, { environment: "prod", optionalExtensions: LOCAL_OPTIONAL, rdsIam: true });
      await expect(p).rejects.toBeInstanceOf(AccessPreflightError);
      await expect(p).rejects.toThrow(`role rds_iam does not exist, so phi_app_${tag} cannot use IAM authentication`);
      await nothingApplied();
    });
  });
});
