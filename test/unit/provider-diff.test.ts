/** The provider's diff is pure: it compares state with inputs and never connects. */
import { changedProperties, onlyPasswordChanged, schemaProvider } from "../../migrator/provider";

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

it("sees no change when only the provider's own code changed", async () => {
  const news = { ...base, __provider: "exports.handler = ...v2" };
  expect(changedProperties(base, news)).toEqual([]);
  await expect(schemaProvider.diff("id", base, news)).resolves.toMatchObject({ changes: false, replaces: [] });
});

it("sees a rotated password as a password-only update of the connection (no schema change)", async () => {
  const news = { ...base, connection: { ...base.connection, password: "rotated" } };
  expect(changedProperties(base, news)).toEqual([]);
  expect(onlyPasswordChanged(base, news)).toBe(true);
  expect(onlyPasswordChanged(base, { ...news, migrations: { ...base.migrations, "20260101002_more": "c".repeat(64) } })).toBe(false);
  const d = await schemaProvider.diff("id", base, news);
  expect(d).toMatchObject({ changes: true, replaces: [] });
  expect(d.stables).not.toContain("connection");
  expect(d.stables).toContain("migrations");
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

describe("stack settings (modules, request guard)", () => {
  const withSettings = { ...base, modules: { ecommerce: false }, requestGuard: {} };

  it("a module switched on is an update of `modules` only, never a replacement", async () => {
    const news = { ...withSettings, modules: { ecommerce: true } };
    expect(changedProperties(withSettings, news)).toEqual(["modules"]);
    const d = await schemaProvider.diff("id", withSettings, news);
    expect(d).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(d.stables).toEqual(expect.arrayContaining(["migrations", "repeatables", "connection"]));
    expect(d.stables).not.toContain("modules");
  });

  it("a request guard set, changed or removed is an update of `requestGuard` only", async () => {
    const allow = { ...withSettings, requestGuard: { ipAllowlist: ["10.20.0.0/16"] } };
    const hours = { ...withSettings, requestGuard: { ipAllowlist: ["10.20.0.0/16"], businessHours: { timezone: "UTC", days: [1, 2, 3, 4, 5], start: "07:00", end: "19:00" } } };
    for (const [olds, news] of [[withSettings, allow], [allow, hours], [hours, withSettings]]) {
      expect(changedProperties(olds, news)).toEqual(["requestGuard"]);
      await expect(schemaProvider.diff("id", olds, news)).resolves.toMatchObject({ changes: true, replaces: [] });
    }
  });

  it("the same settings in another key order, and what the last apply did, are no change", async () => {
    const a = { ...withSettings, requestGuard: { businessHours: { timezone: "UTC", days: [1], start: "07:00", end: "19:00" } } };
    const b = { ...withSettings, requestGuard: { businessHours: { end: "19:00", start: "07:00", days: [1], timezone: "UTC" } }, lastOnApply: ["module ecommerce: off (unchanged)"] };
    await expect(schemaProvider.diff("id", a, b)).resolves.toMatchObject({ changes: false, replaces: [] });
  });

  it("a state from before these inputs existed gets one update that adds them", async () => {
    await expect(schemaProvider.diff("id", base, withSettings)).resolves.toMatchObject({ changes: true, replaces: [] });
  });

  it("unknown settings in a first preview are a change, never a connection", async () => {
    await expect(schemaProvider.diff("id", withSettings, { ...withSettings, modules: UNKNOWN })).resolves.toMatchObject({ changes: true, replaces: [] });
  });

  it("check names malformed settings inputs", async () => {
    const r = await schemaProvider.check({}, { ...base, modules: { ecommerce: "yes" }, requestGuard: { ipAllowList: [] } });
    expect(r.failures).toEqual([
      { property: "modules", reason: 'expected a map of module name to true/false, got {"ecommerce":"yes"}' },
      { property: "requestGuard", reason: 'expected a map with ipAllowlist and/or businessHours, got {"ipAllowList":[]}' },
    ]);
    const half = await schemaProvider.check({}, { ...base, modules: { ecommerce: true } });
    expect(half.failures).toEqual([{ property: "requestGuard", reason: "modules and requestGuard are set together (the stack settings of app.on_schema_apply)" }]);
  });
});
