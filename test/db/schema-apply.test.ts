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
