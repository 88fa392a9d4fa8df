/**
 * The phi-db CLI end to end: the main job (`up --local`: embedded server, access model, migrations,
 * repeatables, seeds, checks), plan/status JSON, verify, and the environments' rules.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../cli/main";
import { stopEmbedded, localServerDir } from "../../cli/embedded";
import { createDatabase, TestDatabase } from "../support/db";

const REPO = path.resolve(__dirname, "../..");

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

/** A copy of this project's SQL and stack files in a temp folder (so the test owns its local server). */
function projectCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-cli-"));
  fs.chmodSync(dir, 0o755);
  for (const f of ["Pulumi.yaml", "Pulumi.local.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"]) fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
  fs.cpSync(path.join(REPO, "sql"), path.join(dir, "sql"), { recursive: true });
  return dir;
}

describe("the main job: up --local", () => {
  let dir: string;
  beforeAll(() => {
    dir = projectCopy();
  });
  afterAll(() => {
    stopEmbedded(localServerDir(dir), "immediate");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("starts an embedded server, applies everything, verifies, and a second run has nothing to apply", async () => {
    const first = capture();
    const code = await main(["up", "--local", "--env", "local", "--dir", dir], first.io);
    if (code !== 0) throw new Error(first.err.join("\n"));
    const migrations = fs.readdirSync(path.join(dir, "sql", "migrations")).filter((f) => /^\d{11}_[a-z0-9_]+\.sql$/.test(f));
    expect(first.out.join("\n")).toContain(`applied ${migrations.length} migration(s)`);
    expect(first.out.join("\n")).toMatch(/checks: rls-forced ok, rls-has-policy ok, no-orphan-policy ok, extensions ok, definer-search-path ok, views-invoker ok/);
    expect(first.err.join("\n")).toContain("notice: extension pg_cron"); // optional locally: skipped visibly
    const url = first.out.find((l) => l.startsWith("database: "))!;
    expect(url).toContain("postgres://postgres:***@127.0.0.1:");
    expect(url).not.toContain(fs.readFileSync(path.join(localServerDir(dir), "password"), "utf8").trim());

    const second = capture();
    expect(await main(["up", "--local", "--env", "local", "--dir", dir], second.io)).toBe(0);
    expect(second.out[0]).toContain("nothing to apply");

    const status = capture();
    expect(await main(["status", "--local", "--env", "local", "--dir", dir, "--json"], status.io)).toBe(0);
    const json = JSON.parse(status.out.join("\n"));
    expect(json.applied.map((a: { version: string; name: string }) => `${a.version}_${a.name}.sql`)).toEqual(migrations.sort());
    expect(json.pending).toEqual([]);
    expect(json.changedRepeatables).toEqual([]);
    expect(json.applied[0]).toEqual(expect.objectContaining({ checksum: expect.stringMatching(/^[0-9a-f]{64}$/), appliedAt: expect.any(String) }));
  }, 120000);
});

describe("commands against a database URL", () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createDatabase("cli");
    dir = projectCopy();
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });

  it("plans, applies with --apply-access, verifies, and refuses rollback in prod", async () => {
    const dev = capture();
    expect(await main(["up", "--env", "dev", "--database-url", db.url, "--apply-access", "--dir", dir], dev.io)).toBe(1);
    expect(dev.err.join("\n")).toContain("required extension(s) not available on this server: pgaudit, pg_cron, pg_partman");

    const plan = capture();
    expect(await main(["plan", "--env", "dev", "--database-url", db.url, "--dir", dir, "--json"], plan.io)).toBe(0);
    const p = JSON.parse(plan.out.join("\n"));
    expect(p.applied).toEqual([]);
    expect(p.pending.length).toBeGreaterThan(0);

    // local rules: pgaudit/pg_cron/pg_partman are optional there (dev requires them: they exist on RDS only)
    const up = capture();
    expect(await main(["up", "--env", "local", "--database-url", db.url, "--apply-access", "--dir", dir], up.io)).toBe(0);
    const verify = capture();
    expect(await main(["verify", "--env", "local", "--database-url", db.url, "--dir", dir, "--json"], verify.io)).toBe(0);
    expect(JSON.parse(verify.out.join("\n")).checks.every((c: { ok: boolean }) => c.ok)).toBe(true);

    const rb = capture();
    expect(await main(["rollback", "--env", "prod", "--database-url", db.url, "--dir", dir], rb.io)).toBe(1);
    expect(rb.err.join("\n")).toContain("rollback is not allowed in environment prod");
  }, 120000);

  it("up with nothing pending still runs app.on_schema_apply: re-creates a dropped future partition, and makes modules and the request guard match the stack file", async () => {
    const up = async () => {
      const c = capture();
      const code = await main(["up", "--env", "local", "--database-url", db.url, "--dir", dir], c.io);
      if (code !== 0) throw new Error(c.err.join("\n"));
      return c.out;
    };
    const stackFile = (extra: string) =>
      fs.writeFileSync(path.join(dir, "Pulumi.local.yaml"), fs.readFileSync(path.join(REPO, "Pulumi.local.yaml"), "utf8").replace(/\n  phi-db:modules:[\s\S]*$/, "\n" + extra));
    const m = new Date();
    const ahead = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 18, 1));
    const far = `app.appointments_p${ahead.getUTCFullYear()}_${String(ahead.getUTCMonth() + 1).padStart(2, "0")}`;
    await db.client.query(`drop table ${far}`);

    // The repository's local stack: e-commerce on (already on from the seed), no guard.
    const first = await up();
    expect(first[0]).toContain("nothing to apply");
    expect(first).toEqual(
      expect.arrayContaining([
        "after apply (app.on_schema_apply):",
        expect.stringMatching(/^  partitions app\.appointments: 1 created, 0 skipped, 20 monthly partitions, newest /),
        expect.stringMatching(/^  partitions audit\.log: 0 created/),
        "  module ecommerce: active (unchanged)",
        "  setting security.ip_allowlist: off (unchanged)",
        "  setting security.business_hours: off (unchanged)",
      ]),
    );
    expect(first.indexOf("after apply (app.on_schema_apply):")).toBeLessThan(first.findIndex((l) => l.startsWith("checks: ")));
    expect((await db.client.query("select to_regclass($1) as r", [far])).rows[0].r).toBe(far);
    const product = (sku: string) =>
      db.client.query("insert into app.products (organization_id, name, sku, price) values ('d0000000-0000-4000-8000-000000000001', 'CLI kit', $1, 1)", [sku]);
    await product("CLI-1");

    // modules left out: switched off, writes refused.
    stackFile("  phi-db:modules: []\n  phi-db:requestGuard:\n    ipAllowlist: [10.20.0.0/16]\n    businessHours: {timezone: Europe/Berlin, days: [1, 2, 3, 4, 5], start: \"08:00\", end: \"18:00\"}\n");
    const off = await up();
    expect(off).toEqual(
      expect.arrayContaining([
        "  module ecommerce: deactivated",
        '  setting security.ip_allowlist: set ["10.20.0.0/16"]',
        expect.stringMatching(/^  setting security\.business_hours: set \{.*"Europe\/Berlin"/),
      ]),
    );
    const refused = await product("CLI-2").then(() => null, (e) => e);
    expect(refused?.code).toBe("PHM01");
    const rows = await db.client.query("select setting_key, setting_value from tenant.instance_settings where setting_key like 'security.%' order by 1");
    expect(rows.rows).toEqual([
      { setting_key: "security.business_hours", setting_value: { timezone: "Europe/Berlin", days: [1, 2, 3, 4, 5], start: "08:00", end: "18:00" } },
      { setting_key: "security.ip_allowlist", setting_value: ["10.20.0.0/16"] },
    ]);

    // Back to the repository's file: module on again, guard rows deleted.
    fs.copyFileSync(path.join(REPO, "Pulumi.local.yaml"), path.join(dir, "Pulumi.local.yaml"));
    const back = await up();
    expect(back).toEqual(expect.arrayContaining(["  module ecommerce: activated", "  setting security.ip_allowlist: removed", "  setting security.business_hours: removed"]));
    await product("CLI-3");
    expect((await db.client.query("select count(*)::int as n from tenant.instance_settings where setting_key like 'security.%'")).rows[0].n).toBe(0);

    // A bad value in the stack file is a named config error; nothing runs.
    stackFile("  phi-db:modules: [shop]\n");
    const bad = capture();
    expect(await main(["up", "--env", "local", "--database-url", db.url, "--dir", dir], bad.io)).toBe(2);
    expect(bad.err.join("\n")).toContain("Pulumi.local.yaml: config phi-db:modules: expected a list of distinct optional modules from: ecommerce");
    fs.copyFileSync(path.join(REPO, "Pulumi.local.yaml"), path.join(dir, "Pulumi.local.yaml"));
  }, 120000);

  it("exits non-zero with a named error on bad usage and bad stack config", async () => {
    const c = capture();
    expect(await main(["frobnicate", "--env", "dev", "--database-url", db.url, "--dir", dir], c.io)).toBe(2);
    expect(c.err.join("\n")).toContain("unknown command 'frobnicate'");
    fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), "config:\n  phi-db:environment: prod\n  phi-db:allowRollback: true\n");
    const b = capture();
    expect(await main(["plan", "--env", "bad", "--database-url", db.url, "--dir", dir], b.io)).toBe(2);
    expect(b.err.join("\n")).toContain("Pulumi.bad.yaml: config phi-db:allowRollback: must be false in prod");
    const n = capture();
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    expect(await main(["plan", "--env", "dev", "--dir", dir], n.io)).toBe(2);
    if (saved !== undefined) process.env.DATABASE_URL = saved;
    expect(n.err.join("\n")).toContain("no database: pass --local, --database-url <url>, or set DATABASE_URL");
  });
});
