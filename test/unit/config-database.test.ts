/**
 * The database-layer section of the stack config (DATABASE_SPEC): the stack files parse, every key
 * has its default in one place, every bad value fails with an error naming its key (the table below
 * covers every key), and the modules / request guard keys become the settings that
 * `app.on_schema_apply` makes the database match.
 */
import {
  DATABASE_SPEC,
  DatabaseLayerConfig,
  isCidr,
  isIanaTimeZone,
  MODULES,
  parseDatabaseConfig,
  RawConfig,
  stackSettings,
} from "../../components/config";
import { readStackFile, toEngineConfig } from "../support/mocks";
import { configError } from "../support/config-error";

function db(overrides: RawConfig = {}, environment = "dev"): DatabaseLayerConfig {
  return parseDatabaseConfig({ "phi-db:environment": environment, ...overrides });
}

const guard = (v: unknown) => JSON.stringify(v);
const HOURS = { timezone: "America/New_York", days: [1, 2, 3, 4, 5], start: "07:00", end: "19:00" };

describe("defaults", () => {
  const c = db({}, "staging");
  test.each([
    ["databaseName", "phi"],
    ["allowRollback", false],
    ["allowOutOfOrder", false],
    ["lintBlocking", true],
    ["loadSeed", false],
    ["seedSet", "dev"],
    ["lockTimeout", "5s"],
    ["statementTimeout", "15min"],
    ["migrationLockWaitSeconds", 60],
    ["sslRootCertPath", "certs/rds-global-bundle.pem"],
    ["optionalExtensions", []],
    ["placeholders", {}],
    ["modules", []],
    ["requestGuard", {}],
  ] as Array<[keyof DatabaseLayerConfig, unknown]>)("%s defaults to %p", (key, value) => {
    expect(c[key]).toEqual(value);
  });

  test("local may miss the RDS-only extensions by default", () => {
    expect(db({}, "local").optionalExtensions).toEqual(["pgaudit", "pg_cron", "pg_partman"]);
  });

  test("every key is documented; only environment is required", () => {
    for (const [key, spec] of Object.entries(DATABASE_SPEC)) {
      expect(spec.doc.length).toBeGreaterThan(10);
      expect((spec as { default?: unknown }).default === undefined).toBe(key === "environment");
    }
  });

  test("off by default means every managed module off and no guard rows", () => {
    expect(stackSettings(db({}, "prod"))).toEqual({ modules: { ecommerce: false }, requestGuard: {} });
  });
});

describe("stack files", () => {
  const parse = (stack: string) => parseDatabaseConfig(toEngineConfig(readStackFile(stack)));

  test("local: e-commerce on (the demo data has an order), no guard", () => {
    expect(stackSettings(parse("local"))).toEqual({ modules: { ecommerce: true }, requestGuard: {} });
  });

  test("dev: e-commerce on, guard with the developer VPN allow-list only", () => {
    expect(stackSettings(parse("dev"))).toEqual({ modules: { ecommerce: true }, requestGuard: { ipAllowlist: ["10.20.0.0/16"] } });
  });

  test("prod: e-commerce off, guard off", () => {
    expect(stackSettings(parse("prod"))).toEqual({ modules: { ecommerce: false }, requestGuard: {} });
  });

  test("YAML values (as the CLI reads them) and JSON strings (as the engine passes them) give the same result", () => {
    const yaml = db({ "phi-db:modules": ["ecommerce"], "phi-db:requestGuard": { businessHours: HOURS } });
    const json = db({ "phi-db:modules": '["ecommerce"]', "phi-db:requestGuard": guard({ businessHours: HOURS }) });
    expect(yaml).toEqual(json);
    expect(json.requestGuard).toEqual({ businessHours: HOURS });
  });
});

describe("requestGuard values that pass", () => {
  test.each([
    ["off", {}, {}],
    ["allow-list only", { ipAllowlist: ["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32", "::ffff:10.0.0.0/104"] }, undefined],
    ["hours only, to midnight", { businessHours: { timezone: "Europe/Berlin", days: [6, 7], start: "00:00", end: "24:00" } }, undefined],
    ["both; days are sorted", { ipAllowlist: ["10.20.0.0/16"], businessHours: { ...HOURS, days: [5, 1, 3] } }, { ipAllowlist: ["10.20.0.0/16"], businessHours: { ...HOURS, days: [1, 3, 5] } }],
  ])("%s", (_what, value, expected) => {
    expect(db({ "phi-db:requestGuard": guard(value) }).requestGuard).toEqual(expected ?? value);
  });
});

/** At least one bad value per DATABASE_SPEC key, with the words its error must contain. */
const BAD: Array<[string, unknown, RegExp]> = [
  ["environment", "qa", /expected one of local, dev, staging, prod, got "qa"/],
  ["databaseName", "Phi-DB", /expected a lower-case identifier/],
  ["allowRollback", "yes", /expected true or false, got "yes"/],
  ["allowOutOfOrder", "1", /expected true or false/],
  ["lintBlocking", "sometimes", /expected true or false/],
  ["loadSeed", "no", /expected true or false/],
  ["seedSet", "../etc", /expected a folder name under sql\/seed\//],
  ["lockTimeout", "5 seconds", /expected a duration like 500ms, 5s, 15min or 1h/],
  ["statementTimeout", "forever", /expected a duration/],
  ["migrationLockWaitSeconds", "7200", /expected 0 to 3600/],
  ["migrationLockWaitSeconds", "soon", /expected a whole number/],
  ["sslRootCertPath", "", /expected a non-empty string/],
  ["optionalExtensions", "pg_cron", /expected a list of strings/],
  ["placeholders", JSON.stringify(["a"]), /expected a map of strings/],
  ["modules", JSON.stringify(["shop"]), /expected a list of distinct optional modules from: ecommerce, got \["shop"\]/],
  ["modules", JSON.stringify(["ecommerce", "ecommerce"]), /a list of distinct optional modules/],
  ["modules", "ecommerce", /expected a list of strings/],
  ["requestGuard", "[]", /expected a map, got "\[\]"/],
  ["requestGuard", "on", /expected a map, got "on"/],
  ["requestGuard", guard({ ipAllowList: ["10.0.0.0/8"] }), /unknown key "ipAllowList" \(allowed: ipAllowlist, businessHours\)/],
  ["requestGuard", guard({ ipAllowlist: [] }), /ipAllowlist: expected at least one CIDR/],
  ["requestGuard", guard({ ipAllowlist: "10.0.0.0/8" }), /ipAllowlist: expected a list of CIDRs/],
  ["requestGuard", guard({ ipAllowlist: ["10.0.0.0/8", "10.20.1.0/16"] }), /ipAllowlist\[1\]: expected a CIDR with its prefix length and no host bits set .*got "10.20.1.0\/16"/],
  ["requestGuard", guard({ ipAllowlist: ["10.0.0.1"] }), /ipAllowlist\[0\]: expected a CIDR with its prefix length/],
  ["requestGuard", guard({ ipAllowlist: ["10.0.0.0/33"] }), /ipAllowlist\[0\]: expected a CIDR/],
  ["requestGuard", guard({ ipAllowlist: ["2001:db8::1/32"] }), /ipAllowlist\[0\]: expected a CIDR/],
  ["requestGuard", guard({ ipAllowlist: ["10.0.0.0/8", "10.0.0.0/8"] }), /ipAllowlist: expected distinct CIDRs/],
  ["requestGuard", guard({ businessHours: "9-5" }), /businessHours: expected a map \{timezone, days, start, end\}/],
  ["requestGuard", guard({ businessHours: { ...HOURS, lunch: "12:00" } }), /businessHours: unknown key "lunch"/],
  ["requestGuard", guard({ businessHours: { days: [1], start: "07:00", end: "19:00" } }), /businessHours.timezone: is required/],
  ["requestGuard", guard({ businessHours: { ...HOURS, timezone: "Mars/Olympus_Mons" } }), /businessHours.timezone: expected an IANA time zone .*got "Mars\/Olympus_Mons"/],
  ["requestGuard", guard({ businessHours: { ...HOURS, timezone: "+05:00" } }), /businessHours.timezone: expected an IANA time zone/],
  ["requestGuard", guard({ businessHours: { ...HOURS, days: [0, 1] } }), /businessHours.days: expected a non-empty list of distinct ISO weekdays 1-7/],
  ["requestGuard", guard({ businessHours: { ...HOURS, days: [] } }), /businessHours.days: expected a non-empty list/],
  ["requestGuard", guard({ businessHours: { ...HOURS, days: [1, 1] } }), /businessHours.days: expected a non-empty list of distinct/],
  ["requestGuard", guard({ businessHours: { timezone: "UTC", start: "07:00", end: "19:00" } }), /businessHours.days: is required/],
  ["requestGuard", guard({ businessHours: { ...HOURS, start: "7:00" } }), /businessHours.start: expected "HH:MM" \(00:00-23:59\), got "7:00"/],
  ["requestGuard", guard({ businessHours: { ...HOURS, start: "24:00" } }), /businessHours.start: expected "HH:MM"/],
  ["requestGuard", guard({ businessHours: { ...HOURS, end: "25:00" } }), /businessHours.end: expected "HH:MM" \(00:00-23:59 or 24:00\)/],
  ["requestGuard", guard({ businessHours: { timezone: "UTC", days: [1] } }), /businessHours.start: is required/],
  ["requestGuard", guard({ businessHours: { ...HOURS, start: "19:00", end: "07:00" } }), /businessHours.end: expected a time later than start \(19:00\)/],
];

describe("each bad value gives its named error", () => {
  test("the table covers every database-layer key", () => {
    expect(new Set(BAD.map(([k]) => k))).toEqual(new Set(Object.keys(DATABASE_SPEC)));
  });

  test.each(BAD)("%s = %p", (key, value, words) => {
    const e = configError(() => db({ [`phi-db:${key}`]: value }));
    expect(e.key).toBe(key);
    expect(e.message.startsWith(`config phi-db:${key}: `)).toBe(true);
    expect(e.message).toMatch(words);
  });

  test("rules no stack can relax still hold", () => {
    expect(configError(() => db({ "phi-db:allowRollback": "true" }, "prod")).message).toMatch(/must be false in prod/);
    expect(configError(() => db({ "phi-db:loadSeed": "true" }, "staging")).message).toMatch(/must be false in staging/);
  });
});

describe("helpers", () => {
  test("isCidr: IPv4 and IPv6, explicit prefix, no host bits", () => {
    for (const ok of ["0.0.0.0/0", "10.0.0.0/8", "192.168.1.128/25", "203.0.113.7/32", "::/0", "2001:db8::/32", "fd00::/8", "::1/128", "::ffff:10.0.0.0/104"]) expect([ok, isCidr(ok)]).toEqual([ok, true]);
    for (const bad of ["10.0.0.1", "10.0.0.1/8", "10.0.0.0/33", "256.0.0.0/8", "2001:db8::1/32", "fd00::/129", "fd00::/", "localhost/8", " 10.0.0.0/8"]) expect([bad, isCidr(bad)]).toEqual([bad, false]);
  });

  test("isIanaTimeZone", () => {
    for (const ok of ["America/New_York", "Europe/Berlin", "UTC", "Etc/GMT+5", "Asia/Kolkata"]) expect([ok, isIanaTimeZone(ok)]).toEqual([ok, true]);
    for (const bad of ["Mars/Base", "+05:00", "America/New York", "", "UTC; drop table x"]) expect([bad, isIanaTimeZone(bad)]).toEqual([bad, false]);
  });

  test("stackSettings names every managed module", () => {
    expect(Object.keys(stackSettings(db()).modules)).toEqual([...MODULES]);
  });
});
