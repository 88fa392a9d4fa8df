/**
 * `phi-db report` against a real database carrying the whole platform (access model, every
 * migration, repeatables, checks): every section is written, the ledger section equals the
 * repository's files (versions and checksums), every PHI column the migrations comment is listed,
 * the audit hash chain is verified (and a tampered chain reported broken), the infrastructure
 * posture comes from the stack's configuration or its outputs, and whatever cannot be read (no
 * database, no privilege) says "not verified" instead of disappearing.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { main } from "../../cli/main";
import type { AuditReport, ChainData, GrantData, LedgerData, MatrixRow, PhiColumn, PostureData, RoleData } from "../../cli/report";
import type { PolicyPackReport } from "../../policy/report-result";
import { loadProject } from "../../migrator/files";
import { createDatabase, TestDatabase } from "../support/db";
import { runProgram } from "../support/mocks";
import { applyPlatform, REPO_ROOT } from "../support/platform";

const SECTIONS = [
  "Infrastructure posture",
  "HIPAA policy pack",
  "Database server",
  "Roles and members",
  "Grants",
  "Row-level security: table × role",
  "PHI columns",
  "Extensions",
  "Migration ledger",
  "Database checks",
  "Audit trail integrity",
];
const ORG = "e3000000-0000-4000-8000-000000000001";

let db: TestDatabase;
const outDirs: string[] = [];

beforeAll(async () => {
  db = await createDatabase("report");
  await applyPlatform(db.url);
  // Something audited: the organisation insert and update write two entries to the org's chain.
  await db.client.query("insert into tenant.organizations (id, name, slug) values ($1, 'Report Org', 'report-org')", [ORG]);
  await db.client.query("update tenant.organizations set name = 'Report Org Renamed' where id = $1", [ORG]);
}, 240000);

afterAll(async () => {
  for (const d of outDirs) fs.rmSync(d, { recursive: true, force: true });
  await db?.drop();
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

async function report(args: string[], url = db.url): Promise<{ md: string; json: AuditReport; out: string[]; err: string[]; code: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-report-"));
  outDirs.push(dir);
  const env = args[args.indexOf("--env") + 1];
  const c = capture();
  const code = await main(["report", "--database-url", url, "--out", dir, "--dir", REPO_ROOT, ...args], c.io);
  if (code !== 0) throw new Error(`report exited ${code}: ${c.err.join("\n")}`);
  return {
    md: fs.readFileSync(path.join(dir, `phi-db-report-${env}.md`), "utf8"),
    json: JSON.parse(fs.readFileSync(path.join(dir, `phi-db-report-${env}.json`), "utf8")),
    out: c.out,
    err: c.err,
    code,
  };
}

const section = <T>(r: AuditReport, id: string) => {
  const s = r.sections.find((x) => x.id === id);
  if (!s) throw new Error(`no section ${id}`);
  return s as { id: string; title: string; notVerified: string[]; data: T | null };
};

/** Every `comment on column s.t.c is 'PHI: ...'` in the repository's migrations. */
function phiCommentsInMigrations(): string[] {
  const dir = path.join(REPO_ROOT, "sql", "migrations");
  const out = new Set<string>();
  for (const f of fs.readdirSync(dir).filter((x) => /^\d{11}_[a-z0-9_]+\.sql$/.test(x))) {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    for (const m of text.matchAll(/comment\s+on\s+column\s+([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s+is\s+'PHI:/gi)) out.add(`${m[1]}.${m[2]}.${m[3]}`.toLowerCase());
  }
  return [...out].sort();
}

describe("the local report", () => {
  let r: Awaited<ReturnType<typeof report>>;
  beforeAll(async () => {
    r = await report(["--env", "local"]);
  }, 120000);

  test("writes phi-db-report-local.md and .json with every section, a summary and the list of what was not verified", () => {
    for (const title of SECTIONS) expect(r.md).toContain(`\n## ${title}\n`);
    expect(r.md).toContain("\n## Summary\n");
    expect(r.md).toContain("\n## What this report could not verify\n");
    expect(r.json.sections.map((s) => s.title)).toEqual(SECTIONS);
    expect(r.out.join("\n")).toMatch(/wrote .*phi-db-report-local\.md and .*phi-db-report-local\.json/);
    // the database's password never appears
    expect(r.md).not.toMatch(/postgres:[^*@/]+@/);
  });

  test("read as the superuser, every database fact is verified: the only unverified facts are the ones local cannot have", () => {
    const unverified = r.json.sections.flatMap((s) => s.notVerified.map((n) => `${s.id}: ${n}`));
    expect(unverified).toEqual([
      expect.stringMatching(/^infrastructure: not verified: encryption at rest, backups and point-in-time recovery/),
      expect.stringMatching(/^policy-pack: not verified: the HIPAA policy pack's result \(environment local has no AWS resources/),
    ]);
  });

  test("the ledger section lists exactly the repository's migrations, versions and checksums, each matching its file", () => {
    const files = loadProject(path.join(REPO_ROOT, "sql"), { environment: "local" }).migrations;
    const ledger = section<LedgerData>(r.json, "ledger");
    expect(ledger.notVerified).toEqual([]);
    expect(ledger.data!.applied.map((a) => [a.version, a.name, a.checksum])).toEqual(files.map((f) => [f.version, f.name, f.checksum]));
    for (const a of ledger.data!.applied) {
      expect(a.file).toBe("matches");
      expect(a.appliedBy).not.toBe("");
      expect(Date.parse(a.appliedAt)).not.toBeNaN();
      expect(r.md).toContain(`| ${a.version} | ${a.name} | ${a.checksum} |`);
    }
    expect(ledger.data!.pending).toEqual([]);
    expect(r.json.summary.join("\n")).toContain(`Migrations: ${files.length} applied, every one matches its file in the repository; 0 pending.`);
  });

  test("every PHI column the migrations comment is listed, with who may read it (never anon)", () => {
    const phi = section<PhiColumn[]>(r.json, "phi-columns").data!;
    const listed = phi.map((p) => `${p.table}.${p.column}`);
    const commented = phiCommentsInMigrations();
    expect(commented.length).toBeGreaterThan(20);
    for (const c of commented) expect([c, listed.includes(c)]).toEqual([c, true]);
    const mrn = phi.find((p) => p.table === "app.patients" && p.column === "mrn")!;
    expect(mrn.holds).toBe("medical record number.");
    expect(mrn.rowRulesForced).toBe(true);
    for (const p of phi) expect(p.readableBy).not.toContain("anon");
    expect(r.md).toMatch(/\| app\.patients \| mrn \| medical record number\. \|/);
  });

  test("the audit chain is verified and reported intact", () => {
    const chain = section<ChainData>(r.json, "audit-chain").data!;
    expect(chain.intact).toBe(true);
    const org = chain.chains.find((c) => c.chain === `org:${ORG}`)!;
    expect(org).toEqual(expect.objectContaining({ entries: 2, intact: true, brokenAt: null }));
    expect(r.json.summary[0]).toMatch(/^Audit trail: intact — \d+ chain\(s\), \d+ entr(y|ies) verified\.$/);
  });

  test("the RLS matrix: every table of the managed schemas is on and forced; anon reaches no table; checks pass", () => {
    const matrix = section<MatrixRow[]>(r.json, "rls-matrix").data!;
    const managed = ["tenant", "app", "storage_meta", "cache", "logs", "audit", "analytics"];
    const tables = matrix.filter((m) => managed.includes(m.table.split(".")[0]));
    expect(tables.length).toBeGreaterThan(20);
    for (const t of tables) {
      expect([t.table, t.rlsEnabled, t.rlsForced, t.policies > 0]).toEqual([t.table, true, true, true]);
      expect([t.table, t.roles.anon.privileges]).toEqual([t.table, []]);
    }
    expect(Object.keys(matrix[0].roles).sort()).toEqual(["analytics_reader", "anon", "auditor", "authenticated", "service_role"]);
    // service_role never touches user health data (schema app)
    for (const t of tables.filter((x) => x.table.startsWith("app."))) expect([t.table, t.roles.service_role.privileges]).toEqual([t.table, []]);
    const checks = section<Array<{ ok: boolean }>>(r.json, "checks").data!;
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((c) => c.ok)).toBe(true);
  });

  test("roles: the model's roles are there and flagged as declared; none but the superuser bypasses row rules", () => {
    const roles = section<RoleData[]>(r.json, "roles").data!;
    for (const name of ["phi_owner", "phi_migrator", "authenticator", "anon", "authenticated", "service_role", "auditor", "analytics_reader"]) {
      const role = roles.find((x) => x.name === name)!;
      expect([name, role.inAccessModel, role.bypassesRowSecurity, role.superuser]).toEqual([name, true, false, false]);
    }
    expect(roles.find((x) => x.name === "authenticator")!.memberOf).toEqual(["anon", "authenticated", "service_role"]);
  });

  test("grants: per schema and role as stored; PUBLIC holds nothing in the PHI schemas; the auditor only reads audit and the ledger", async () => {
    const grants = section<GrantData[]>(r.json, "grants");
    expect(grants.notVerified).toEqual([]);
    const g = (schema: string, role: string) => grants.data!.find((x) => x.schema === schema && x.role === role);
    const app = g("app", "authenticated")!;
    expect(app.onSchema).toEqual(["USAGE"]);
    expect(app.tables.SELECT).toBeGreaterThan(10);
    for (const schema of ["app", "tenant", "audit", "phi_ledger"]) expect([schema, g(schema, "PUBLIC")]).toEqual([schema, undefined]);
    // the auditor reads every audit table but audit.hash_salts (with a salt the month's IP and device
    // hashes could be reversed: sql/policies/080_audit.sql), and the report counts exactly those
    const readable = (
      await db.client.query(
        `select c.relname, pg_catalog.has_table_privilege('auditor', c.oid, 'select') as ok from pg_catalog.pg_class c
          where c.relnamespace = 'audit'::regnamespace and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition order by 1`,
      )
    ).rows as Array<{ relname: string; ok: boolean }>;
    expect(readable.filter((t) => !t.ok).map((t) => t.relname)).toEqual(["hash_salts"]);
    expect(g("audit", "auditor")!.tables).toEqual({ SELECT: readable.filter((t) => t.ok).length });
    expect(Object.keys(g("phi_ledger", "auditor")!.tables)).toEqual(["SELECT"]);
    const auditorSchemas = grants.data!.filter((x) => x.role === "auditor").map((x) => x.schema);
    expect(auditorSchemas.sort()).toEqual(["audit", "phi_ledger"]);
    expect(g("app", "service_role")).toBeUndefined();
    expect(r.md).toMatch(/\| app \| authenticated \| USAGE \| [^|]*SELECT \d+\/\d+/);
  });

  test("local has no AWS: the posture says so plainly", () => {
    const infra = section<PostureData>(r.json, "infrastructure");
    expect(infra.data!.facts).toEqual([]);
    expect(r.md).toContain("Environment local has no AWS infrastructure");
    expect(infra.notVerified.join("\n")).toMatch(/^not verified: encryption at rest, backups and point-in-time recovery/);
  });

  test("the report is read-only: the ledger has no new event", async () => {
    const before = (await db.client.query("select count(*)::int as n from phi_ledger.schema_events")).rows[0].n;
    await report(["--env", "local"]);
    expect((await db.client.query("select count(*)::int as n from phi_ledger.schema_events")).rows[0].n).toBe(before);
  }, 120000);
});

describe("the prod report", () => {
  test("without stack outputs: the posture is the configuration's, and says it is not verified against a deployment or AWS", async () => {
    const r = await report(["--env", "prod"]);
    const infra = section<PostureData>(r.json, "infrastructure");
    const fact = (f: string) => infra.data!.facts.find((x) => x.fact === f)!;
    expect(fact("Point-in-time recovery kept for")).toEqual(expect.objectContaining({ value: "35 days", source: "configuration" }));
    expect(fact("Standby in a second availability zone").value).toBe("yes");
    expect(fact("Audit exports cannot be altered or deleted for").value).toBe("2192 days (S3 Object Lock, COMPLIANCE mode)");
    const nv = infra.notVerified.join("\n");
    expect(nv).toContain("not verified: that the stack is deployed with these settings");
    expect(r.md).toContain("> **Not verified: that AWS still holds these settings");
    // without --policy-result: the pack is evaluated here over the prod program (mocks), and says so
    const pack = section<PolicyPackReport>(r.json, "policy-pack");
    expect(pack.data!.kind).toBe("local evaluation");
    expect(pack.data!.source).toMatch(/^local evaluation: phi-db-hipaa@\d+\.\d+\.\d+ over the Pulumi program for stack prod under Pulumi mocks \(\d+ resources\), configuration policy\/prod\.json$/);
    expect(pack.data!.violations).toEqual([]);
    expect(pack.data!.policies.length).toBe(27);
    for (const p of pack.data!.policies) expect([p.name, p.enforcement, p.outcome]).toEqual([p.name, "mandatory", "passed"]);
    expect(pack.notVerified).toEqual([expect.stringMatching(/^not verified: that stack prod passed the pack when it was last previewed or deployed \(this is the pack run over this checkout's program under Pulumi mocks.*--policy-result/)]);
    expect(r.json.summary).toContain("HIPAA policy pack: no violations — 27 policies passed (evaluated here over the program, not the deployed stack).");
    expect(r.md).toMatch(/\| rds-storage-encrypted \| mandatory \| passed \| 0 \|/);
    expect(r.md).toContain("Violations: none.");
    // extensions the prod stack requires but this (local) server lacks are called out
    expect(r.md).toMatch(/\| pgaudit \| — \| — \| MISSING \(required in this environment\) \|/);
  }, 120000);

  test("dev, evaluated here: the prod-only rules are reported as advisory violations with the resources' urns", async () => {
    const r = await report(["--env", "dev"]);
    const pack = section<PolicyPackReport>(r.json, "policy-pack");
    expect(pack.data!.source).toContain("configuration policy/dev.json");
    expect(pack.data!.violations.map((v) => [v.policy, v.enforcement, v.urn]).sort()).toEqual(
      [
        ["backup-vault-lock-enabled", "advisory", "urn:pulumi:dev::phi-db::phi-db:backups:Backups$aws:backup/vault:Vault::backups-vault"],
        ["rds-automated-backups-replicated", "advisory", "urn:pulumi:dev::phi-db::phi-db:database:Database$aws:rds/instance:Instance::database-instance"],
        ["rds-instance-deletion-protection-enabled", "advisory", "urn:pulumi:dev::phi-db::phi-db:database:Database$aws:rds/instance:Instance::database-instance"],
        ["rds-multi-az-support", "advisory", "urn:pulumi:dev::phi-db::phi-db:database:Database$aws:rds/instance:Instance::database-instance"],
      ].sort(),
    );
    expect(r.json.summary.find((l) => l.startsWith("HIPAA policy pack:"))).toMatch(/^HIPAA policy pack: 4 VIOLATION\(S\), 0 mandatory — /);
    expect(r.md).toContain("| rds-multi-az-support | advisory | urn:pulumi:dev::phi-db::phi-db:database:Database$aws:rds/instance:Instance::database-instance | multiAz must be true in prod. |");
  }, 120000);

  test("with the stack's outputs (from the mocked prod program): key ARNs, bucket names and backup facts come from them", async () => {
    const run = await runProgram("prod");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-outputs-")), "prod-outputs.json");
    outDirs.push(path.dirname(file));
    fs.writeFileSync(file, JSON.stringify(run.outputs));
    const r = await report(["--env", "prod", "--stack-outputs", file]);
    const infra = section<PostureData>(r.json, "infrastructure");
    const keys = infra.data!.facts.filter((f) => f.area === "Encryption keys" && f.fact.includes("key (customer-managed KMS)"));
    expect(keys.map((k) => [k.value, k.source])).toEqual(["database", "secrets", "buckets", "backups", "monitoring", "dr"].map((p) => [run.outputs.kmsKeyArns[p], "stack outputs"]));
    const docs = infra.data!.facts.find((f) => f.fact === "Documents (PHI files)")!;
    expect(docs).toEqual(expect.objectContaining({ value: run.outputs.bucketNames.documents, source: "stack outputs" }));
    expect(infra.data!.facts.find((f) => f.fact === "Backup vault")!.value).toBe(run.outputs.backup.vaultName);
    expect(infra.data!.source).toMatch(/^stack outputs \(prod-outputs\.json\)/);
    expect(infra.notVerified.join("\n")).not.toContain("no --stack-outputs file was given");
  }, 120000);
});

/** Engine events as `pulumi preview --event-log` writes them (one JSON object per line). */
function eventLog(events: object[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-events-")), "events.ndjson");
  outDirs.push(path.dirname(file));
  fs.writeFileSync(file, events.map((e, i) => JSON.stringify({ sequence: i, timestamp: 1760000000 + i, ...e })).join("\n") + "\n");
  return file;
}
const INSTANCE_URN = "urn:pulumi:prod::phi-db::phi-db:database:Database$aws:rds/instance:Instance::database-instance";
const BUCKET_URN = "urn:pulumi:prod::phi-db::phi-db:buckets:Buckets$aws:s3/bucket:Bucket::buckets-documents";
const PACK = { policyPackName: "phi-db-hipaa", policyPackVersion: "0.1.0", policyPackVersionTag: "0.1.0" };
const RDS_POLICIES = ["rds-storage-encrypted", "rds-instance-public-access-check", "rds-multi-az-support"];
const cleanRun = (): object[] => [
  { preludeEvent: { config: { "phi-db:environment": "prod" } } },
  { policyAnalyzeSummaryEvent: { resourceUrn: INSTANCE_URN, ...PACK, passed: RDS_POLICIES } },
  { policyAnalyzeStackSummaryEvent: { ...PACK, passed: ["s3-bucket-versioning-enabled", "s3-bucket-ssl-requests-only"] } },
  { summaryEvent: { maybeCorrupt: false, durationSeconds: 41, resourceChanges: { same: 199 }, PolicyPacks: { "phi-db-hipaa": "v0.1.0" }, isPreview: true } },
];

describe("the policy pack's result from a saved engine event log (--policy-result)", () => {
  test("a clean run: every policy that ran, passed; the summary and the section say where the result comes from", async () => {
    const r = await report(["--env", "prod", "--policy-result", eventLog(cleanRun())]);
    const pack = section<PolicyPackReport>(r.json, "policy-pack");
    expect(pack.notVerified).toEqual([]);
    expect(pack.data).toEqual(
      expect.objectContaining({ kind: "event log", stack: "prod", packs: ["phi-db-hipaa@0.1.0"], violations: [], source: "pulumi preview of stack prod, engine event log events.ndjson" }),
    );
    expect(pack.data!.policies.map((p) => [p.name, p.outcome])).toEqual(
      [...RDS_POLICIES, "s3-bucket-versioning-enabled", "s3-bucket-ssl-requests-only"].sort().map((n) => [n, "passed"]),
    );
    expect(r.json.summary).toContain("HIPAA policy pack: no violations — 5 policies passed (from pulumi preview of stack prod, engine event log events.ndjson).");
    expect(r.md).toContain("Violations: none.");
  }, 120000);

  test("a run with violations: policy name, enforcement (the engine's 'warning' is advisory), message and resource urn, in the JSON and the Markdown", async () => {
    const events = cleanRun();
    events.splice(
      1,
      1,
      { policyAnalyzeSummaryEvent: { resourceUrn: INSTANCE_URN, ...PACK, passed: ["rds-storage-encrypted", "rds-instance-public-access-check"], failed: ["rds-multi-az-support"] } },
      { policyEvent: { resourceUrn: INSTANCE_URN, message: "multiAz must be true in prod.\n", color: "never", policyName: "rds-multi-az-support", ...PACK, enforcementLevel: "mandatory" } },
      { policyEvent: { resourceUrn: BUCKET_URN, message: "buckets-documents (Bucket) has no server access logging.", color: "never", policyName: "s3-bucket-logging-enabled", ...PACK, enforcementLevel: "warning" } },
    );
    const r = await report(["--env", "prod", "--policy-result", eventLog(events)]);
    const pack = section<PolicyPackReport>(r.json, "policy-pack");
    expect(pack.data!.violations).toEqual([
      { policy: "rds-multi-az-support", enforcement: "mandatory", message: "multiAz must be true in prod.", urn: INSTANCE_URN, pack: "phi-db-hipaa@0.1.0" },
      { policy: "s3-bucket-logging-enabled", enforcement: "advisory", message: "buckets-documents (Bucket) has no server access logging.", urn: BUCKET_URN, pack: "phi-db-hipaa@0.1.0" },
    ]);
    expect(pack.data!.policies.find((p) => p.name === "rds-multi-az-support")).toEqual({ name: "rds-multi-az-support", enforcement: "mandatory", outcome: "violated", violations: 1 });
    expect(r.json.summary).toContain(
      "HIPAA policy pack: 2 VIOLATION(S), 1 mandatory — rds-multi-az-support, s3-bucket-logging-enabled (from pulumi preview of stack prod, engine event log events.ndjson).",
    );
    expect(r.md).toContain(`| rds-multi-az-support | mandatory | ${INSTANCE_URN} | multiAz must be true in prod. |`);
    expect(r.md).toContain(`| s3-bucket-logging-enabled | advisory | ${BUCKET_URN} | buckets-documents (Bucket) has no server access logging. |`);
    expect(r.md).toMatch(/\| rds-multi-az-support \| mandatory \| VIOLATED \| 1 \|/);
  }, 120000);

  test("what the file cannot show is said: another stack, no summary, a `pulumi preview --json` document, no pack at all", async () => {
    const dev = cleanRun().map((e) => JSON.parse(JSON.stringify(e).replace(/urn:pulumi:prod::/g, "urn:pulumi:dev::")));
    const other = section<PolicyPackReport>((await report(["--env", "prod", "--policy-result", eventLog(dev.slice(0, -1))])).json, "policy-pack");
    expect(other.notVerified).toEqual([expect.stringMatching(/^not verified: that the run completed/), expect.stringMatching(/^not verified: that this is the result for stack prod \(events\.ndjson is about stack dev\)/)]);

    const previewJson = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-preview-")), "preview.json");
    outDirs.push(path.dirname(previewJson));
    fs.writeFileSync(previewJson, JSON.stringify({ steps: [], diagnostics: [], changeSummary: { same: 199 } }));
    const pj = await report(["--env", "prod", "--policy-result", previewJson]);
    expect(section(pj.json, "policy-pack").data).toBeNull();
    expect(section(pj.json, "policy-pack").notVerified).toEqual([expect.stringMatching(/^not verified: the HIPAA policy pack's result \(preview\.json is the output of `pulumi preview --json`, which does not carry policy results/)]);
    expect(pj.json.summary).toContain("HIPAA policy pack: not verified (see the section below).");

    const noPack = section((await report(["--env", "prod", "--policy-result", eventLog([{ summaryEvent: { resourceChanges: {}, PolicyPacks: {}, isPreview: true } }])])).json, "policy-pack");
    expect(noPack.notVerified).toEqual([expect.stringMatching(/no policy pack ran in this run/)]);
  }, 120000);
});

describe("what cannot be read is said, not dropped", () => {
  test("no database: every database section says 'not verified: ... cannot connect', and the files are still written", async () => {
    const r = await report(["--env", "local"], "postgres://nobody:secret@127.0.0.1:1/none");
    for (const id of ["server", "roles", "grants", "rls-matrix", "phi-columns", "extensions", "ledger", "checks", "audit-chain"]) {
      const s = section(r.json, id);
      expect([id, s.data]).toEqual([id, null]);
      expect(s.notVerified[0]).toMatch(/^not verified: .*cannot connect to the database/);
    }
    expect(r.json.summary).toContain("Audit trail: not verified (see the section below).");
    expect(r.md).not.toContain("secret@");
  }, 60000);

  test("an auditor login: what it may not read is reported as not verified; the rest is read", async () => {
    const name = `report_auditor_${crypto.randomBytes(4).toString("hex")}`;
    const password = crypto.randomBytes(12).toString("hex");
    await db.client.query(`create role ${name} login password '${password}' in role auditor`);
    try {
      const u = new URL(db.url);
      u.username = name;
      u.password = password;
      const r = await report(["--env", "local"], u.toString());
      expect(section(r.json, "roles").data).not.toBeNull();
      expect(section(r.json, "ledger").data).not.toBeNull(); // auditor reads phi_ledger
      // the auditor may run audit.verify_chain (sql/policies/080_audit.sql): the chain is verified, intact
      const chain = section<ChainData>(r.json, "audit-chain");
      expect(chain.notVerified).toEqual([]);
      expect(chain.data).not.toBeNull();
      expect(chain.data!.intact).toBe(true);
      expect(chain.data!.chains.find((c) => c.chain === `org:${ORG}`)).toEqual(expect.objectContaining({ entries: 2, intact: true, brokenAt: null }));
      expect(r.json.summary[0]).toMatch(/^Audit trail: intact — /);
      expect(r.md).not.toContain(password);
    } finally {
      await db.client.query(`drop role if exists ${name}`);
    }
  }, 120000);

  test("a tampered audit chain is reported BROKEN with the chain and the entry", async () => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query("begin");
      await c.query("set local session_replication_role = replica");
      await c.query("update audit.log set changed_fields = array['slug'] where chain_id = $1 and chain_seq = 2", [`org:${ORG}`]);
      await c.query("commit");
    } finally {
      await c.end();
    }
    const r = await report(["--env", "local"]);
    const chain = section<ChainData>(r.json, "audit-chain").data!;
    expect(chain.intact).toBe(false);
    expect(chain.chains.find((x) => x.chain === `org:${ORG}`)).toEqual(expect.objectContaining({ intact: false, brokenAt: 2, problem: expect.stringContaining("modified") }));
    expect(r.json.summary[0]).toMatch(new RegExp(`^Audit trail: BROKEN — chain org:${ORG} at entry 2: `));
    expect(r.md).toContain("Result: **BROKEN**");
  }, 120000);
});
