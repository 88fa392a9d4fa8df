/**
 * The schema provider's check lints the migrations pending relative to the state: a blocking lint
 * error is a check failure (so `pulumi preview` fails) in prod, and only a warning in dev. Proven
 * in-process and the way the engine runs it: the serialized `__provider` text of a mocked program
 * run, loaded with require-from-string in a fresh Node process.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { schemaProvider } from "../../migrator/provider";
import { FixtureProject } from "../support/project";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // the engine's unknown-value sentinel in a preview
const REPO = path.resolve(__dirname, "../..");
const SUM = "a".repeat(64);

const OK = "create schema if not exists app;\ncreate table app.items (id bigint primary key);\nalter table app.items enable row level security, force row level security;\n";
const DANGEROUS = "-- drop the old table\ndrop table app.items;\n";

let fx: FixtureProject;
beforeAll(() => {
  fx = new FixtureProject({ "migrations/20260101001_items.sql": OK, "migrations/20260101002_drop.sql": DANGEROUS });
});
afterAll(() => fx.dispose());

function inputs(environment: string, extra: Record<string, unknown> = {}) {
  return {
    environment,
    stack: environment,
    sqlDir: fx.root,
    migrations: { "20260101001_items": SUM, "20260101002_drop": SUM },
    repeatables: {},
    connection: { host: "db.invalid", port: 5432, database: "phi", user: "phi_migrator", password: "x" },
    rules: { allowOutOfOrder: false, allowRollback: false, lockTimeout: "3s", statementTimeout: "1min", lockWaitSeconds: 10 },
    placeholders: {},
    loadSeed: false,
    checks: { managedSchemas: ["app"], requiredExtensions: [], requestRoles: [] },
    ...extra,
  };
}
/** State in which the first migration is applied. */
const applied = (environment: string) => ({ ...inputs(environment), migrations: { "20260101001_items": SUM } });

describe("check, in-process", () => {
  it("prod: a dangerous pending migration is a check failure naming file, line and rule", async () => {
    const r = await schemaProvider.check(applied("prod"), inputs("prod"));
    expect(r.failures).toEqual([
      {
        property: "",
        reason: expect.stringMatching(/^lint error: migrations\/20260101002_drop\.sql:2: phi-db\/destructive: DROP TABLE app\.items: destructive statement/),
      },
    ]);
  });

  it("dev: the same migration only warns, as the lintWarnings input (never a diff by itself)", async () => {
    const r = await schemaProvider.check(applied("dev"), inputs("dev"));
    expect(r.failures).toEqual([]);
    const warnings = (r.inputs as { lintWarnings?: string[] }).lintWarnings;
    expect(warnings).toEqual([expect.stringMatching(/^error \(not blocking here\): migrations\/20260101002_drop\.sql:2: phi-db\/destructive: DROP TABLE app\.items/)]);
    const d = await schemaProvider.diff("id", { ...inputs("dev") }, r.inputs);
    expect(d.changes).toBe(false);
  });

  it("lintBlocking overrides the environment's default either way", async () => {
    expect((await schemaProvider.check(applied("dev"), inputs("dev", { lintBlocking: true }))).failures).toHaveLength(1);
    expect((await schemaProvider.check(applied("prod"), inputs("prod", { lintBlocking: false }))).failures).toEqual([]);
  });

  it("lints only what the state has not applied: nothing pending, nothing to say", async () => {
    const all = { ...inputs("prod") };
    const r = await schemaProvider.check(all, inputs("prod"));
    expect(r.failures).toEqual([]);
    expect((r.inputs as { lintWarnings?: string[] }).lintWarnings).toBeUndefined();
    // a first deployment (no state) lints every file
    expect((await schemaProvider.check({}, inputs("prod"))).failures).toHaveLength(1);
  });

  it("skips the lint while inputs are unknown (first preview) and never throws", async () => {
    for (const unknown of [{ sqlDir: UNKNOWN }, { migrations: UNKNOWN }, { placeholders: { region: UNKNOWN } }, { environment: UNKNOWN }]) {
      const r = await schemaProvider.check({}, inputs("prod", unknown));
      expect(r.failures).toEqual([]);
    }
  });
});

// ---- the engine's way: serialized provider text in a fresh process ----

const SCHEMA_TYPE = "pulumi-nodejs:dynamic/phi-db:DatabaseSchema";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") return plain(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

async function mockedRun(environment: string): Promise<Record<string, unknown>> {
  const captured: Array<{ type: string; inputs: Record<string, unknown> }> = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        captured.push({ type: args.type, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "phi-db",
    environment,
    false,
  );
  let DatabaseSchema: typeof import("../../components/schema").DatabaseSchema;
  jest.isolateModules(() => {
    ({ DatabaseSchema } = require("../../components/schema"));
  });
  const schema = new DatabaseSchema!("schema", {
    environment,
    sqlDir: fx.root,
    connection: { host: "db.invalid", port: 5432, database: "phi", user: "phi_migrator", password: "not-used" },
    rules: { allowOutOfOrder: false, allowRollback: false, lockTimeout: "3s", statementTimeout: "1min", lockWaitSeconds: 10 },
    checks: { managedSchemas: ["app"], requiredExtensions: [], requestRoles: [] },
  });
  await new Promise<void>((resolve) => schema.urn.apply(() => resolve()));
  await new Promise((r) => setTimeout(r, 200));
  const found = captured.find((c) => c.type === SCHEMA_TYPE);
  if (!found) throw new Error("the schema resource was not registered");
  return found.inputs;
}

/** Calls `check(olds, news)` on the provider text exactly as the SDK's dynamic-provider host loads it. */
function checkInFreshProcess(providerText: string, olds: unknown, news: unknown): { inputs: Record<string, unknown>; failures: Array<{ property: string; reason: string }> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-lint-provider-"));
  const textFile = path.join(dir, "provider.js");
  const argsFile = path.join(dir, "args.json");
  fs.writeFileSync(textFile, providerText);
  fs.writeFileSync(argsFile, JSON.stringify([olds, news]));
  const driver = `
    const requireFromString = require(${JSON.stringify(require.resolve("require-from-string"))});
    const fs = require("fs");
    const provider = requireFromString(fs.readFileSync(${JSON.stringify(textFile)}, "utf8")).handler();
    provider.check(...JSON.parse(fs.readFileSync(${JSON.stringify(argsFile)}, "utf8")))
      .then((r) => process.stdout.write(JSON.stringify(r)))
      .catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
  try {
    return JSON.parse(execFileSync(process.execPath, ["-e", driver], { cwd: REPO, encoding: "utf8" }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("check, serialized as the engine runs it", () => {
  it("fails a prod preview and only warns in dev", async () => {
    const prod = await mockedRun("prod");
    const text = prod.__provider as string;
    // nothing of this machine is captured: squawk is resolved from the package where the provider runs
    expect(text).not.toContain(REPO);
    expect(text).toContain('require.resolve("squawk-cli/package.json")');
    const news = plain({ ...prod }) as Record<string, unknown>;
    delete news.__provider;
    const applied1 = { ...news, migrations: { "20260101001_items": (news.migrations as Record<string, string>)["20260101001_items"] } };
    const p = checkInFreshProcess(text, applied1, news);
    expect(p.failures).toEqual([{ property: "", reason: expect.stringContaining("20260101002_drop.sql:2: phi-db/destructive: DROP TABLE app.items") }]);

    const dev = await mockedRun("dev");
    const devNews = plain({ ...dev }) as Record<string, unknown>;
    delete devNews.__provider;
    const d = checkInFreshProcess(dev.__provider as string, { ...devNews, migrations: applied1.migrations }, devNews);
    expect(d.failures).toEqual([]);
    expect(d.inputs.lintWarnings).toEqual([expect.stringContaining("20260101002_drop.sql:2: phi-db/destructive")]);
  }, 60000);
});
