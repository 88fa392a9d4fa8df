/**
 * Roles are cluster-wide: two databases of one cluster applying the model at the same moment race on
 * CREATE ROLE and GRANT. This file uses a copy of the model whose role names carry a suffix unique
 * to the run, so the roles really do not exist when the race starts (and other files are untouched).
 */
import { Client } from "pg";
import { AccessModel, loadAccessModel } from "../../migrator/access-model";
import { applyAccessModel } from "../../migrator/access-sql";
import { adminUrl, createDatabase, TestDatabase } from "../support/db";
import { dropRoles, expectedCatalog, readCatalog, withRoleSuffix } from "./access-catalog";

const OPTIONAL = ["pgaudit", "pg_cron", "pg_partman"];

describe("access model: concurrent runs on one cluster", () => {
  const tag = `c${process.pid}${Date.now().toString(36)}`.toLowerCase();
  let model: AccessModel;
  const dbs: TestDatabase[] = [];
  let pg16 = false;
  let skipped: string[] = [];
  const roleNames = () => model.roles.map((r) => r.name);
  const name = (base: string) => `${base}_${tag}`;
  const installed = (skipped: string[]) => model.extensions.map((e) => e.name).filter((e) => !skipped.includes(e));

  beforeAll(async () => {
    model = withRoleSuffix(loadAccessModel(), tag);
    for (let i = 0; i < 4; i++) dbs.push(await createDatabase("access_race"));
    pg16 = Number((await dbs[0].client.query("show server_version_num")).rows[0].server_version_num) >= 160000;
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
    // The roles' databases are gone; now the roles themselves.
    const c = new Client({ connectionString: adminUrl() });
    await c.connect();
    try {
      await dropRoles(c, roleNames().reverse());
    } finally {
      await c.end();
    }
  });

  it("creates the roles once and converges every database when four runs start at the same moment", async () => {
    const before = await dbs[0].client.query(`select count(*)::int as n from pg_catalog.pg_roles where rolname = any($1)`, [roleNames()]);
    expect(before.rows[0].n).toBe(0); // the race is real: nothing exists yet
    const results = await Promise.all(dbs.map((d) => applyAccessModel(d.client, model, { environment: "local", optionalExtensions: OPTIONAL })));
    skipped = results[0].skippedExtensions;
    const roles = await dbs[0].client.query(`select rolname from pg_catalog.pg_roles where rolname = any($1)`, [roleNames()]);
    expect(roles.rows.map((r) => r.rolname).sort()).toEqual(roleNames().sort());
    for (const [i, d] of dbs.entries()) {
      const expected = expectedCatalog(model, { pg16, installedExtensions: installed(results[i].skippedExtensions) });
      expect(await readCatalog(d.client, roleNames(), model.owner)).toEqual(expected);
    }
  });

  it("two runs on the SAME database at once serialise on the advisory lock and both succeed", async () => {
    const second = await dbs[0].connect();
    const [a, b] = await Promise.all([
      applyAccessModel(dbs[0].client, model, { environment: "local", optionalExtensions: OPTIONAL }),
      applyAccessModel(second, model, { environment: "local", optionalExtensions: OPTIONAL }),
    ]);
    expect(a.skippedExtensions).toEqual(b.skippedExtensions);
    expect(await readCatalog(dbs[0].client, roleNames(), model.owner)).toEqual(expectedCatalog(model, { pg16, installedExtensions: installed(a.skippedExtensions) }));
  });

  it("repairs role drift: attributes, comments, stray memberships and admin options", async () => {
    const c = dbs[1].client;
    await c.query(`alter role ${name("anon")} bypassrls`);
    await c.query(`alter role ${name("auditor")} login createdb connection limit 3`);
    await c.query(`alter role ${name("authenticator")} inherit`);
    await c.query(`comment on role ${name("service_role")} is 'tampered'`);
    await c.query(`grant ${name("phi_owner")} to ${name("authenticator")}`); // authenticator could become the owner
    await c.query(`grant ${name("auditor")} to ${name("analytics_reader")} with admin option`);
    await c.query(`revoke ${name("service_role")} from ${name("phi_app")}`);
    if (pg16) await c.query(`grant ${name("anon")} to ${name("phi_app")} with inherit true`);
    const drifted = await readCatalog(c, roleNames(), model.owner);
    const expected = expectedCatalog(model, { pg16, installedExtensions: installed(skipped) });
    expect(drifted.roles).not.toEqual(expected.roles);
    expect(drifted.memberships).not.toEqual(expected.memberships);

    const log: string[] = [];
    await applyAccessModel(c, model, { environment: "local", optionalExtensions: OPTIONAL, log: (l) => log.push(l) });
    const repaired = await readCatalog(c, roleNames(), model.owner);
    expect(repaired.roles).toEqual(expected.roles);
    expect(repaired.memberships).toEqual(expected.memberships);
    expect(log).toContain(`notice: revoked membership of ${name("authenticator")} in ${name("phi_owner")} (not in the access model)`);
    expect(log).toContain(`notice: revoked membership of ${name("analytics_reader")} in ${name("auditor")} (not in the access model)`);
  });
});
