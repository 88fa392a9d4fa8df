/**
 * The dynamic provider tested the way the Pulumi engine runs it: the serialized `__provider` text
 * from a mocked program run is loaded with require-from-string in a fresh Node process, `handler()`
 * is called, and create -> diff -> (new migration) -> diff -> update run against real PostgreSQL; then a
 * change of the stack settings alone (modules / request guard) is an update, never a replacement,
 * that reaches app.on_schema_apply(settings) in the database.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { createDatabase, TestDatabase } from "../support/db";
import { FixtureProject } from "../support/project";

const SCHEMA_TYPE = "pulumi-nodejs:dynamic/phi-db:DatabaseSchema";

interface Captured {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** What the engine hands a dynamic provider: plain values (the host receives secrets unwrapped). */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") return plain(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** Runs a tiny program declaring the schema resource under Pulumi mocks; returns what was registered. */
async function mockedRun(sqlDir: string, password: string, settings?: import("../../migrator/engine").StackSettings): Promise<Captured[]> {
  const captured: Captured[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        captured.push({ type: args.type, name: args.name, inputs: args.inputs });
        secretConnection = (args.inputs.connection as Record<string, unknown>)?.[SECRET_SIG] !== undefined;
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "phi-db",
    "dev",
    false,
  );
  let DatabaseSchema: typeof import("../../components/schema").DatabaseSchema;
  jest.isolateModules(() => {
    ({ DatabaseSchema } = require("../../components/schema"));
  });
  const schema = new DatabaseSchema!("schema", {
    environment: "dev",
    sqlDir,
    connection: { connectionString: process.env.PROVIDER_TEST_URL!, password: pulumi.secret(password) as unknown as string },
    rules: { allowOutOfOrder: true, allowRollback: true, lockTimeout: "5s", statementTimeout: "1min", lockWaitSeconds: 30 },
    checks: { managedSchemas: ["app"], requiredExtensions: [], requestRoles: [] },
    settings,
  });
  await new Promise<void>((resolve) => schema.urn.apply(() => resolve()));
  // let the mock monitor receive the registration
  await new Promise((r) => setTimeout(r, 200));
  return captured;
}

/** Drives the provider in a fresh process exactly as the SDK's dynamic-provider host loads it. */
function inFreshProcess(providerText: string, steps: Array<{ op: string; args: unknown[] }>): unknown[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-provider-"));
  const textFile = path.join(dir, "provider.js");
  const stepsFile = path.join(dir, "steps.json");
  fs.writeFileSync(textFile, providerText);
  fs.writeFileSync(stepsFile, JSON.stringify(steps));
  const driver = `
    const requireFromString = require(${JSON.stringify(require.resolve("require-from-string"))});
    const fs = require("fs");
    const provider = requireFromString(fs.readFileSync(${JSON.stringify(textFile)}, "utf8")).handler();
    (async () => {
      const out = [];
      for (const s of JSON.parse(fs.readFileSync(${JSON.stringify(stepsFile)}, "utf8"))) out.push(await provider[s.op](...s.args) ?? null);
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
  try {
    return JSON.parse(execFileSync(process.execPath, ["-e", driver], { cwd: path.resolve(__dirname, "../.."), encoding: "utf8" }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let db: TestDatabase;
let fx: FixtureProject;
let secretConnection = false;
beforeAll(async () => {
  db = await createDatabase("prov");
  fx = new FixtureProject({
    "migrations/20260401001_app.sql":
      "create schema if not exists app;\ncreate table app.items (id bigint primary key, owner text not null default current_user);\nalter table app.items enable row level security;\nalter table app.items force row level security;\ncreate policy items_owner on app.items using (owner = current_user);\n",
  });
  const u = new URL(db.url);
  const password = decodeURIComponent(u.password);
  u.password = "";
  process.env.PROVIDER_TEST_URL = u.toString();
  process.env.PROVIDER_TEST_PASSWORD = password;
});
afterAll(async () => {
  fx.dispose();
  await db.drop();
});

it("runs create, diff, update from the serialized provider text in a fresh process", async () => {
  const password = process.env.PROVIDER_TEST_PASSWORD!;
  const all = await mockedRun(fx.root, password);
  const first = all.find((r) => r.type === SCHEMA_TYPE)!;
  expect(first).toBeDefined();
  const text = first.inputs.__provider as string;
  expect(typeof text).toBe("string");
  // no file contents, secrets or this machine's paths are captured in the closure
  expect(text).not.toContain(password);
  expect(text).not.toContain("create table app.items");
  expect(text).not.toContain(path.resolve(__dirname, "../.."));
  expect(first.inputs.migrations).toEqual({ "20260401001_app": expect.stringMatching(/^[0-9a-f]{64}$/) });
  // the connection (with its password) is a secret input, so state keeps it encrypted
  expect(secretConnection).toBe(true);

  const inputs1 = plain({ ...first.inputs }) as Record<string, unknown>;
  delete inputs1.__provider;
  const [created, same] = inProcessCreateDiff(text, inputs1);
  expect(created.id).toBe("phi-db-schema/dev");
  expect(created.outs.lastApplied).toEqual(["migrations/20260401001_app.sql"]);
  expect(same).toMatchObject({ changes: false, replaces: [] });
  expect((await db.client.query("select to_regclass('app.items') as t")).rows[0].t).toBe("app.items");

  fx.write({ "migrations/20260401002_more.sql": "alter table app.items add column label text;\n" });
  const second = (await mockedRun(fx.root, password)).find((r) => r.type === SCHEMA_TYPE)!;
  const inputs2 = plain({ ...second.inputs }) as Record<string, unknown>;
  delete inputs2.__provider;
  const [diff, updated, after] = inFreshProcess(second.inputs.__provider as string, [
    { op: "diff", args: ["phi-db-schema/dev", created.outs, inputs2] },
    { op: "update", args: ["phi-db-schema/dev", created.outs, inputs2] },
    { op: "read", args: ["phi-db-schema/dev", { ...inputs2, lastVersion: "", lastApplied: [] }] },
  ]) as [{ changes: boolean; replaces: string[] }, { outs: { lastApplied: string[]; lastVersion: string } }, { props: { migrations: Record<string, string> } }];
  expect(diff.changes).toBe(true);
  expect(diff.replaces).toEqual([]);
  expect(updated.outs.lastApplied).toEqual(["migrations/20260401002_more.sql"]);
  expect(updated.outs.lastVersion).toBe("20260401002");
  expect(after.props.migrations).toEqual(inputs2.migrations);
  const cols = await db.client.query("select column_name from information_schema.columns where table_schema = 'app' and table_name = 'items' order by 1");
  expect(cols.rows.map((c) => c.column_name)).toEqual(["id", "label", "owner"]);
  // No app.on_schema_apply in this project: the runs above called nothing and reported nothing.
  expect(updated.outs).toMatchObject({ lastOnApply: [] });

  // A settings-only change: the project gains an app.on_schema_apply(jsonb) probe that records what it
  // receives (outside the managed schema `app`'s tables), and the stack switches a module on.
  fx.write({
    "functions/100_on_apply.sql":
      "create schema if not exists probe;\ncreate table if not exists probe.calls (settings jsonb not null);\n" +
      "create or replace function app.on_schema_apply(p_settings jsonb default null) returns table (task text, result text) language sql set search_path = '' as $$\n" +
      "  insert into probe.calls values (coalesce(p_settings, 'null')) returning 'probe'::text, (settings -> 'modules')::text\n$$;\n",
  });
  const v1 = { modules: { ecommerce: false }, requestGuard: {} };
  const v2 = { modules: { ecommerce: true }, requestGuard: { ipAllowlist: ["10.20.0.0/16"] } };
  const third = (await mockedRun(fx.root, password, v1)).find((r) => r.type === SCHEMA_TYPE)!;
  const inputs3 = plain({ ...third.inputs }) as Record<string, unknown>;
  delete inputs3.__provider;
  expect(inputs3).toMatchObject(v1);
  const fourth = (await mockedRun(fx.root, password, v2)).find((r) => r.type === SCHEMA_TYPE)!;
  const inputs4 = plain({ ...fourth.inputs }) as Record<string, unknown>;
  delete inputs4.__provider;
  type Outs = { outs: Record<string, unknown> & { lastApplied: string[]; lastOnApply: string[] } };
  const [toV1, settingsDiff, v2Applied, sameAgain] = inFreshProcess(fourth.inputs.__provider as string, [
    { op: "update", args: ["phi-db-schema/dev", updated.outs, inputs3] },
    // v1 -> v2: the settings alone differ (same files, same connection)
    { op: "diff", args: ["phi-db-schema/dev", inputs3, inputs4] },
    { op: "update", args: ["phi-db-schema/dev", inputs3, inputs4] },
    { op: "diff", args: ["phi-db-schema/dev", inputs4, inputs4] },
  ]) as [Outs, { changes: boolean; replaces: string[]; stables: string[] }, Outs, { changes: boolean }];
  expect(toV1.outs.lastApplied).toEqual(["functions/100_on_apply.sql"]);
  expect(toV1.outs.lastOnApply).toEqual(['probe: {"ecommerce": false}']);
  expect(settingsDiff).toMatchObject({ changes: true, replaces: [] });
  expect(settingsDiff.stables).toEqual(expect.arrayContaining(["migrations", "repeatables", "connection"]));
  expect(settingsDiff.stables).not.toContain("modules");
  expect(settingsDiff.stables).not.toContain("requestGuard");
  expect(v2Applied.outs.lastApplied).toEqual([]); // nothing pending: the run is the settings alone
  expect(v2Applied.outs.lastOnApply).toEqual(['probe: {"ecommerce": true}']);
  expect(sameAgain.changes).toBe(false);
  const calls = await db.client.query("select settings from probe.calls");
  expect(calls.rows.map((r) => r.settings)).toEqual([v1, v2]);
}, 90000);

it("records a rotated login password with one test connection and runs nothing; a wrong one fails the update", async () => {
  const { schemaProvider } = await import("../../migrator/provider");
  const role = `phi_rotation_probe_${process.pid}`;
  await db.client.query(`create role ${role} login password 'first-password'`);
  try {
    const u = new URL(process.env.PROVIDER_TEST_URL!);
    u.username = role;
    const olds = {
      environment: "dev", stack: "dev", sqlDir: "sql", migrations: {}, repeatables: {},
      connection: { connectionString: u.toString(), password: "first-password" },
      lastVersion: "20260401002", lastApplied: ["migrations/20260401002_more.sql"], lastOnApply: [],
    };
    const news = { ...olds, connection: { ...olds.connection, password: "second-password" } };
    delete (news as Partial<typeof news>).lastVersion;
    await db.client.query(`alter role ${role} password 'second-password'`); // the rotation Lambda's step
    expect(await schemaProvider.diff("phi-db-schema/dev", olds, news)).toMatchObject({ changes: true, replaces: [] });
    const updated = await schemaProvider.update("phi-db-schema/dev", olds as never, news as never);
    expect(updated.outs).toEqual({ ...olds, connection: news.connection }); // nothing ran: the last run's results stay
    const wrong = { ...news, connection: { ...news.connection, password: "not-the-password" } };
    const e = await schemaProvider.update("phi-db-schema/dev", olds as never, wrong as never).then(() => undefined, (x: Error) => x);
    expect(e?.message).toMatch(/password authentication failed/);
    expect(e?.message).not.toContain("not-the-password");
  } finally {
    await db.client.query(`drop role if exists ${role}`);
  }
});

function inProcessCreateDiff(text: string, inputs: Record<string, unknown>) {
  return inFreshProcess(text, [
    { op: "create", args: [inputs] },
    { op: "diff", args: ["phi-db-schema/dev", inputs, inputs] },
  ]) as [{ id: string; outs: Record<string, unknown> & { lastApplied: string[] } }, { changes: boolean; replaces: string[] }];
}
