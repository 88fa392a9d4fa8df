/** The provider's diff is pure: it compares state with inputs and never connects. */
import { changedProperties, schemaProvider } from "../../migrator/provider";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // the engine's unknown-value sentinel in a preview
const base = {
  environment: "prod",
  stack: "prod",
  sqlDir: "sql",
  migrations: { "20260101001_init": "a".repeat(64) },
  repeatables: { "functions/010_auth.sql": "b".repeat(64) },
  connection: { host: "db.internal", port: 5432, database: "phi", user: "phi_migrator", password: "old-secret" },
  __provider: "exports.handler = ...v1",
};

it("sees no change when only the password or the provider's own code changed", async () => {
  const news = { ...base, connection: { ...base.connection, password: "rotated" }, __provider: "exports.handler = ...v2" };
  expect(changedProperties(base, news)).toEqual([]);
  await expect(schemaProvider.diff("id", base, news)).resolves.toMatchObject({ changes: false, replaces: [] });
});

it("lists a new migration as a change and never asks for a replacement", async () => {
  const news = { ...base, migrations: { ...base.migrations, "20260101002_more": "c".repeat(64) } };
  const d = await schemaProvider.diff("id", base, news);
  expect(d).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });
  expect(d.stables).not.toContain("migrations");
  expect(changedProperties(base, { ...base, connection: { ...base.connection, host: "other" } })).toEqual(["connection"]);
});

it("handles unknown inputs of a first preview without connecting (an unreachable host is never tried)", async () => {
  const news = { ...base, connection: UNKNOWN };
  const d = await schemaProvider.diff("id", { ...base, connection: { host: "203.0.113.1" } }, news);
  expect(d.changes).toBe(true);
});

it("check names bad inputs", async () => {
  const r = await schemaProvider.check({}, { ...base, environment: "qa", migrations: { x: "nothex" } });
  expect(r.failures).toEqual([
    { property: "migrations", reason: "x: expected a sha256 hex checksum" },
    { property: "environment", reason: "expected one of local, dev, staging, prod, got qa" },
  ]);
});
