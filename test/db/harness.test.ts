import { createDatabase, TestDatabase } from "../support/db";

describe("test harness", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase("harness");
  });
  afterAll(async () => db.drop());

  it("gives each test file its own database on a PostgreSQL 15+ server", async () => {
    const r = await db.client.query("select current_database() as name, current_setting('server_version_num')::int as v");
    expect(r.rows[0].name).toBe(db.name);
    expect(r.rows[0].v).toBeGreaterThanOrEqual(150000);
  });

  // A server named by DATABASE_URL (CI's PostgreSQL 15 pass) is whatever it is.
  (process.env.DATABASE_URL ? it.skip : it)("runs on the embedded major PHI_DB_EMBEDDED_POSTGRES names (CI's PostgreSQL 16 pass), 17 by default", async () => {
    const r = await db.client.query("select current_setting('server_version_num')::int as v");
    const expected = process.env.PHI_DB_EMBEDDED_POSTGRES === "embedded-postgres-16" ? 16 : 17;
    expect(Math.floor(r.rows[0].v / 10000)).toBe(expected);
  });
});
