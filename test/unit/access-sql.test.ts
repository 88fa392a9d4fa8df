/**
 * The rendered access SQL (migrator/access-sql.ts), without a database: what reviewers see
 * (snapshots of the whole script, local and RDS renderings) and properties the rendering must keep
 * whatever the model says.
 */
import { AccessModel, loadAccessModel, validateAccessModel } from "../../migrator/access-model";
import { ident, literal, renderAccessScript, renderAccessSql } from "../../migrator/access-sql";

const LOCAL = { rdsIam: false, skipExtensions: ["pgaudit", "pg_cron", "pg_partman"] };
const RDS = { rdsIam: true };

describe("rendered access SQL", () => {
  const model = loadAccessModel();

  it("local rendering (snapshot: every change to the access SQL shows up in review)", () => {
    expect(renderAccessScript(model, LOCAL)).toMatchSnapshot();
  });

  it("RDS rendering (snapshot)", () => {
    expect(renderAccessScript(model, RDS)).toMatchSnapshot();
  });

  it("runs every cluster statement (roles, then memberships) before any database statement", () => {
    const s = renderAccessSql(model, LOCAL);
    const firstDb = s.findIndex((x) => x.scope === "database");
    expect(s.slice(firstDb).every((x) => x.scope === "database")).toBe(true);
    const labels = s.map((x) => x.label);
    for (const r of model.roles) {
      expect(labels.indexOf(`role ${r.name}`)).toBeGreaterThanOrEqual(0);
      for (const m of r.memberOf) expect(labels.indexOf(`role ${m}`)).toBeLessThan(labels.indexOf(`memberships of ${r.name}`));
    }
    expect(s[firstDb].sql).toContain("pg_advisory_xact_lock");
  });

  it("catches the cluster-wide races in every CREATE ROLE and GRANT of a membership", () => {
    for (const st of renderAccessSql(model, LOCAL).filter((x) => x.scope === "cluster")) {
      const creates = (st.sql.match(/create role |'grant %I to %I'/g) ?? []).length;
      const handlers = (st.sql.match(/exception when duplicate_object or unique_violation then/g) ?? []).length;
      expect({ label: st.label, creates, handlers }).toEqual({ label: st.label, creates: 1, handlers: 1 });
    }
  });

  it("grants rds_iam only in the RDS rendering, and only to IAM roles", () => {
    const membershipsOf = (opts: { rdsIam: boolean }, role: string) => renderAccessSql(model, opts).find((x) => x.label === `memberships of ${role}`)!.sql;
    expect(membershipsOf(RDS, "phi_app")).toContain(`wanted constant text[] := array['anon', 'authenticated', 'service_role', 'rds_iam']::text[];`);
    expect(membershipsOf(LOCAL, "phi_app")).toContain(`wanted constant text[] := array['anon', 'authenticated', 'service_role']::text[];`);
    expect(membershipsOf(LOCAL, "phi_app")).toContain(`rds_iam NOT granted`);
    // Never revoked from an IAM role, even by a local rendering (it must not undo RDS).
    expect(membershipsOf(LOCAL, "phi_app")).toContain(`kept constant text[] := array['anon', 'authenticated', 'service_role', 'rds_iam']::text[];`);
    for (const r of ["authenticator", "phi_migrator"]) expect(membershipsOf(RDS, r)).not.toContain("rds_iam");
  });

  it("does not create skipped extensions, and says so in the script", () => {
    const s = renderAccessSql(model, LOCAL);
    const pgCron = s.find((x) => x.label.startsWith("extension pg_cron"))!;
    expect(pgCron).toMatchObject({ noop: true, label: "extension pg_cron (skipped)" });
    expect(pgCron.sql).not.toMatch(/create extension/);
    expect(renderAccessScript(model, LOCAL)).toContain("-- extension pg_cron: SKIPPED");
    expect(renderAccessScript(model, RDS)).toMatch(/create extension pg_cron;/);
  });

  it("puts BYPASSRLS on a role only when the model says so", () => {
    expect(renderAccessScript(model, RDS)).not.toMatch(/create role [a-z_]+ with [a-z ]*\bbypassrls/);
    const edited: AccessModel = validateAccessModel({ ...model, roles: model.roles.map((r) => (r.name === "auditor" ? { ...r, bypassRls: true } : r)) });
    const sql = renderAccessSql(edited, RDS).find((x) => x.label === "role auditor")!.sql;
    expect(sql).toContain("create role auditor with nologin inherit bypassrls;");
    expect(sql).toContain("if r.rolbypassrls is distinct from true then alter role auditor with bypassrls; end if;");
  });

  it("grants sequence and function privileges both on existing objects and as default privileges of the owner", () => {
    const s = renderAccessSql(model, RDS);
    const existing = s.find((x) => x.label === "existing objects in schema app")!.sql;
    const defaults = s.find((x) => x.label === "default privileges in schema app")!.sql;
    expect(existing).toContain("grant usage, select on all sequences in schema app to authenticated;");
    expect(existing).toContain("grant execute on all routines in schema app to authenticated;");
    expect(existing).toContain("revoke execute on all routines in schema app from public;");
    expect(defaults).toContain("alter default privileges for role phi_owner in schema app grant usage, select on sequences to authenticated;");
    expect(defaults).not.toMatch(/service_role;$/m); // zero-knowledge: nothing in app for service_role
    const everywhere = s.find((x) => x.label === "default privileges everywhere")!.sql;
    expect(everywhere).toContain("alter default privileges for role phi_owner revoke execute on functions from public;");
  });

  it("grants no table in an RLS-managed schema, neither existing nor by default (the policy files grant them, next to the policies)", () => {
    const s = renderAccessSql(model, RDS);
    for (const schema of model.schemas.filter((x) => x.rls).map((x) => x.name)) {
      const existing = s.find((x) => x.label === `existing objects in schema ${schema}`)!.sql;
      const defaults = s.find((x) => x.label === `default privileges in schema ${schema}`)!.sql;
      expect({ schema, grants: existing.match(/^grant .* on all tables in schema .*$/gm) }).toEqual({ schema, grants: null });
      expect({ schema, grants: defaults.match(/^alter default privileges .* grant .* on tables .*$/gm) }).toEqual({ schema, grants: null });
      // ... while the defaults of every model role on tables there are revoked (an older database converges)
      expect(defaults).toMatch(new RegExp(`^alter default privileges for role phi_owner in schema ${schema} revoke all on tables from anon, authenticated, service_role, auditor, analytics_reader, phi_migrator, authenticator, phi_app;$`, "m"));
      expect(existing).toContain("-- tables: none here (RLS-managed");
      // ... and nothing revokes existing table grants: the policy files' per-table revoke converges them
      expect(existing).not.toMatch(/revoke .* on all tables in schema/);
    }
    // Without row-level security (the ledger) the model still grants tables in bulk, now and by default.
    const ledger = s.find((x) => x.label === "existing objects in schema phi_ledger")!.sql;
    expect(ledger).toContain("grant select on all tables in schema phi_ledger to auditor;");
    expect(s.find((x) => x.label === "default privileges in schema phi_ledger")!.sql).toContain(
      "alter default privileges for role phi_owner in schema phi_ledger grant select on tables to auditor;",
    );
  });

  it("renders analytics_private as an owner-only schema: no privilege for anybody, functions not executable by PUBLIC", () => {
    const s = renderAccessSql(model, RDS);
    expect(s.find((x) => x.label === "schema analytics_private")!.sql).toContain("create schema analytics_private authorization phi_owner;");
    const privileges = s.find((x) => x.label === "privileges on schema analytics_private")!.sql;
    expect(privileges).toContain("-- who may use schema analytics_private: nobody but its owner");
    expect(privileges).not.toMatch(/^grant /m);
    expect(s.find((x) => x.label === "existing objects in schema analytics_private")!.sql).not.toMatch(/^grant /m);
  });

  it("quotes identifiers only where needed, and literals safely", () => {
    expect(ident("tenant")).toBe("tenant");
    expect(ident("uuid-ossp")).toBe('"uuid-ossp"');
    expect(ident('we"ird')).toBe('"we""ird"');
    expect(literal("it's")).toBe("'it''s'");
    expect(renderAccessScript(model, RDS)).toContain(`create extension "uuid-ossp" with schema extensions;`);
  });
});
