/** All migrations, repeatables and the dev seed apply from empty through the real engine, and the migrator's checks pass. */
import { createSchemaDatabase, SchemaDatabase } from "./schema-support";

let db: SchemaDatabase;
beforeAll(async () => {
  db = await createSchemaDatabase("schema_apply", { seed: true });
}, 120000);
afterAll(async () => db?.drop());

it("applies everything and passes the checks", async () => {
  expect(db.result.checks.filter((c) => !c.ok)).toEqual([]);
  expect(db.result.applied.length).toBeGreaterThan(0);
});

it("ran the repeatable functions and views and the dev seed", async () => {
  const files = db.result.repeatables.map((r) => r.file);
  expect(files).toEqual(expect.arrayContaining(["functions/010_phi_encryption.sql", "views/logs_slow_queries.sql", "seed/local/010_demo_tenants.sql"]));
  const r = await db.client.query("select count(*)::int as n from app.patients");
  expect(r.rows[0].n).toBe(2);
});
