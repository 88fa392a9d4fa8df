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
});
