/**
 * `phi-db report`: the audit report an auditor reads, as Markdown (`phi-db-report-<env>.md`) and
 * JSON (`phi-db-report-<env>.json`).
 *
 *  1. Infrastructure posture: from the stack's outputs (`--stack-outputs <file>`, the JSON of
 *     `pulumi stack output --json`) where they say something, otherwise from the program's
 *     configuration (`Pulumi.<env>.yaml` through `parseStackConfig`, defaults included): what the
 *     program deploys. Neither is AWS itself; the report says so.
 *  1b. The HIPAA policy pack's result: from `--policy-result <file>` (the engine event log of a
 *     `pulumi preview|up --event-log <file>` run with the pack, which CI saves), otherwise the pack
 *     evaluated here over the program under Pulumi mocks (policy/report-result.ts). Either way the
 *     section says which it is and what that does not prove.
 *  2. Database facts read live: roles and members, grants, a table x role row-level-security
 *     matrix, PHI columns (from their `PHI:` comments), extensions, the migration ledger against the
 *     repository's files, the post-apply checks, and the audit hash-chain verification.
 *
 * Every section that cannot be read (no privilege, object missing, no stack outputs) is still
 * written, with a plain "not verified: <why>" instead of its facts. Nothing here changes the
 * database: every query is a read, inside a READ ONLY transaction.
 */
import * as fs from "fs";
import * as path from "path";
import type { Client } from "pg";
import { parse as parseYaml } from "yaml";
import { InfraConfig, parseStackConfig, StackConfig } from "../components/config";
import { AccessModel, loadAccessModel } from "../migrator/access-model";
import { CheckOptions, declaredPolicies, runChecks } from "../migrator/checks";
import { connect, ConnectionParams, LEDGER_SCHEMA } from "../migrator/db";
import type { SqlProject } from "../migrator/files";
import { evaluateLocally, PolicyPackReport, readPolicyResult } from "../policy/report-result";

// ------------------------------------------------------------------------------------------------
// The report's shape
// ------------------------------------------------------------------------------------------------

export interface ReportSection<T = unknown> {
  id: string;
  title: string;
  /** What the section shows, in plain words. */
  intro: string;
  /** Sentences, each naming a fact that could not be verified and why. Empty: everything shown was read. */
  notVerified: string[];
  data: T | null;
}

export interface AuditReport {
  title: string;
  generatedAt: string;
  environment: string;
  /** The database, password masked. */
  database: string;
  summary: string[];
  sections: ReportSection[];
}

export interface ReportInput {
  /** Project root (Pulumi.<env>.yaml, sql/). */
  root: string;
  /** Stack/environment name (`--env`). */
  env: string;
  connection: ConnectionParams;
  /** How to show the database in the report (password masked). */
  display: string;
  /** The repository's SQL files rendered for the environment. */
  files: SqlProject;
  /** What the post-apply checks require. */
  checks: Omit<CheckOptions, "declaredPolicies">;
  /** `pulumi stack output --json` of the stack, when given. */
  stackOutputsFile?: string;
  /** Engine event log of a `pulumi preview|up --event-log` run with the policy pack, when given. */
  policyResultFile?: string;
  /** Without a result file: evaluate the pack over the program under mocks (`local`, the default) or not (`skip`). */
  policyEvaluation?: "local" | "skip";
  /** Clock (tests). */
  now?: Date;
}

const notVerified = (what: string, why: string) => `not verified: ${what} (${why})`;
const errText = (e: unknown) => ((e as Error)?.message ?? String(e)).split("\n")[0];

// ------------------------------------------------------------------------------------------------
// 1. Infrastructure posture (pure: config and/or outputs -> facts)
// ------------------------------------------------------------------------------------------------

export interface PostureFact {
  area: string;
  fact: string;
  value: string;
  /** Where the value comes from: `stack outputs`, `configuration` (Pulumi.<env>.yaml + defaults), `program` (fixed in the code). */
  source: "stack outputs" | "configuration" | "program";
}

export interface PostureData {
  source: string;
  facts: PostureFact[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Outputs = Record<string, any>;

/** Reads the `config:` map of Pulumi.<env>.yaml and parses it (errors are returned, not thrown). */
export function readStackFile(root: string, env: string): { config?: StackConfig; error?: string; file: string } {
  const file = path.join(root, `Pulumi.${env}.yaml`);
  try {
    const doc = parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    return { config: parseStackConfig(doc?.config ?? {}, env), file };
  } catch (e) {
    return { error: errText(e), file };
  }
}

const yes = (b: boolean) => (b ? "yes" : "no");
const days = (n: number | null | undefined) => (n === null || n === undefined ? "—" : `${n} day${n === 1 ? "" : "s"}`);

/**
 * The posture facts of one stack. `outputs` (the stack's outputs) win where they carry the fact;
 * everything else is what the configuration makes the program deploy.
 */
export function infrastructurePosture(env: string, stack: { config?: StackConfig; error?: string; file: string }, outputs?: Outputs, outputsFile?: string): ReportSection<PostureData> {
  const section: ReportSection<PostureData> = {
    id: "infrastructure",
    title: "Infrastructure posture",
    intro:
      "How the AWS side is set up: encryption keys, the database instance, backups and how far back it can be restored, and the file buckets. " +
      "Values marked 'configuration' are what this repository's program deploys for the stack; 'stack outputs' are what Pulumi recorded at the stack's last update. Neither is a live reading of AWS.",
    notVerified: [],
    data: null,
  };
  if (stack.error || !stack.config) {
    section.notVerified.push(notVerified("the infrastructure posture", `the stack configuration ${path.basename(stack.file)} could not be read: ${stack.error}`));
    return section;
  }
  const infra = stack.config.infra;
  if (!infra) {
    section.intro = `Environment ${env} has no AWS infrastructure: it is a local database (embedded PostgreSQL), so there are no KMS keys, backups or buckets to report.`;
    section.data = { source: `${path.basename(stack.file)} (environment ${stack.config.database.environment})`, facts: [] };
    section.notVerified.push(notVerified("encryption at rest, backups and point-in-time recovery", `environment ${env} is a local server with none of them`));
    return section;
  }
  const o = outputs ?? {};
  const fromOutputs = outputs !== undefined;
  const facts: PostureFact[] = [];
  const add = (area: string, fact: string, value: string, source: PostureFact["source"] = "configuration") => facts.push({ area, fact, value, source });
  const c: InfraConfig = infra;
  const keyArn = (purpose: string) => (o.kmsKeyArns && typeof o.kmsKeyArns[purpose] === "string" ? (o.kmsKeyArns[purpose] as string) : undefined);

  // Keys
  for (const purpose of ["database", "secrets", "buckets", "backups", "monitoring", "dr"]) {
    const arn = keyArn(purpose);
    const what: Record<string, string> = {
      database: "database storage, snapshots, Performance Insights, database log groups",
      secrets: "the database master password and the login passwords in Secrets Manager",
      buckets: "the document, audit-export and access-log buckets",
      backups: "the AWS Backup vault",
      monitoring: "the alarm topic (database alarms and events)",
      dr: `copies in the disaster-recovery region ${c.drRegion}`,
    };
    add("Encryption keys", `${purpose} key (customer-managed KMS) — used for ${what[purpose]}`, arn ?? `alias/phi-db/${env}/${purpose}`, arn ? "stack outputs" : "configuration");
  }
  add("Encryption keys", "Automatic key rotation", "yearly, on every key", "program");
  add("Encryption keys", "Waiting period before a key can be deleted", days(c.keyDeletionWindowDays));

  // Database instance
  add("Database", "Instance", o.dbInstanceIdentifier ?? `phi-db-${env}`, o.dbInstanceIdentifier ? "stack outputs" : "configuration");
  add("Database", "Engine", `PostgreSQL ${c.engineVersion} (${c.instanceClass})`);
  add("Database", "Storage encrypted", "yes, with the database key", "program");
  add("Database", "Reachable from the internet", "no (private subnets only; no public address)", "program");
  add("Database", "Connections without TLS", "refused (rds.force_ssl = 1, TLS 1.2 or newer)", "program");
  add("Database", "Server certificate authority", c.caCertIdentifier);
  add("Database", "Log-in with IAM tokens", "enabled", "program");
  add("Database", "Audit logging (pgaudit)", `classes ${c.pgauditLog}; object auditing through role ${c.pgauditRole}; no bind values in logs`);
  add("Database", "Database logs", `postgresql and upgrade logs in CloudWatch, encrypted with the database key, kept ${days(c.logRetentionDays)}`);
  add("Database", "Standby in a second availability zone", yes(c.multiAz));
  add("Database", "Deletion protection", yes(c.deletionProtection));
  add("Database", "Automatic minor version upgrades (security fixes)", yes(c.autoMinorVersionUpgrade));
  add("Database", "Master password", `generated and kept by RDS in Secrets Manager under the secrets key, rotated every ${days(c.masterPasswordRotationDays)}`);
  add("Database", "Login passwords (migrator, authenticator, ...)", `kept in Secrets Manager under the secrets key, rotated every ${days(c.loginPasswordRotationDays)} by AWS's rotation function for PostgreSQL`);

  // Backups and restore window
  const b = (o.backup ?? {}) as Outputs;
  const bsrc = (k: string): PostureFact["source"] => (b[k] !== undefined && b[k] !== null ? "stack outputs" : "configuration");
  const pitr = (b.pitrRetentionDays as number | undefined) ?? c.backupRetentionDays;
  add("Backups", "Point-in-time recovery kept for", days(pitr), bsrc("pitrRetentionDays"));
  add("Backups", "Restore window", `any second from ${days(pitr)} ago up to about 5 minutes ago (transaction logs are archived every 5 minutes)`, bsrc("pitrRetentionDays"));
  add("Backups", "Daily backup window (UTC)", (b.backupWindow as string | undefined) ?? c.backupWindow, bsrc("backupWindow"));
  add("Backups", "Daily snapshots (AWS Backup) kept for", days((b.snapshotRetentionDays as number | undefined) ?? c.backupSnapshotRetentionDays), bsrc("snapshotRetentionDays"));
  const drRegion = b.drRegion !== undefined ? (b.drRegion as string | null) : c.crossRegionBackupReplication ? c.drRegion : null;
  add("Backups", "Copy in a second region (disaster recovery)", drRegion ? `yes, ${drRegion}${b.drAutomatedBackupsArn ? ` (${b.drAutomatedBackupsArn})` : ""}` : "no", b.drRegion !== undefined ? "stack outputs" : "configuration");
  add("Backups", "Backup vault lock (backups cannot be deleted early)", String((b.vaultLockMode as string | undefined) ?? c.backupVaultLockMode), bsrc("vaultLockMode"));
  if (b.vaultName) add("Backups", "Backup vault", String(b.vaultName), "stack outputs");
  const rt = b.restoreTesting !== undefined ? Boolean(b.restoreTesting) : c.restoreTesting;
  add("Backups", "Scheduled test restores", rt ? `yes${c.restoreTesting ? `, ${c.restoreTestingSchedule}` : ""}` : "no", bsrc("restoreTesting"));

  // Buckets
  const names = (o.bucketNames ?? {}) as Record<string, string>;
  const bucket = (key: string, purpose: string) => names[key] ?? `phi-db-${env}-${purpose}-<suffix>`;
  add("Buckets", "Documents (PHI files)", bucket("documents", "documents"), names.documents ? "stack outputs" : "configuration");
  add("Buckets", "Audit exports", bucket("auditExports", "audit-exports"), names.auditExports ? "stack outputs" : "configuration");
  add("Buckets", "Access logs", bucket("accessLogs", "access-logs"), names.accessLogs ? "stack outputs" : "configuration");
  add("Buckets", "Encryption of every bucket", "SSE-KMS with S3 Bucket Keys under the buckets key; customer-provided keys blocked", "program");
  add("Buckets", "Public access", "blocked (all four public-access-block settings)", "program");
  add("Buckets", "Plain-HTTP requests", "denied by bucket policy (TLS 1.2 or newer only)", "program");
  add("Buckets", "Versioning and access logging", "on for every bucket (access logs go to the access-log bucket)", "program");
  add("Buckets", "Audit exports cannot be altered or deleted for", `${days(c.auditObjectLockDays)} (S3 Object Lock, ${c.auditObjectLockMode} mode)`);
  add("Buckets", "Copies in the disaster-recovery region", c.bucketReplication ? `yes (${c.drRegion})` : "no");
  add("Buckets", "Access logs kept for", days(c.logRetentionDays));

  section.data = {
    source: fromOutputs ? `stack outputs (${outputsFile ? path.basename(outputsFile) : "given"}) and ${path.basename(stack.file)}` : `${path.basename(stack.file)} and the program's defaults (no stack outputs given)`,
    facts,
  };
  if (!fromOutputs) {
    section.notVerified.push(notVerified("that the stack is deployed with these settings", "no --stack-outputs file was given: the values are what the program would deploy; pass the output of `pulumi stack output --json`"));
  }
  section.notVerified.push(
    notVerified(
      "that AWS still holds these settings",
      `this command does not call AWS; \`pulumi refresh --preview-only -s ${env}\` shows any difference between AWS and the stack`,
    ),
    notVerified(
      "the actual earliest and latest restorable times",
      `read them with \`aws rds describe-db-instance-automated-backups --db-instance-identifier ${o.dbInstanceIdentifier ?? `phi-db-${env}`}\``,
    ),
  );
  return section;
}

// ------------------------------------------------------------------------------------------------
// 1b. The HIPAA policy pack's result
// ------------------------------------------------------------------------------------------------

const PACK_INTRO =
  "The HIPAA policy pack (policy/) checks the infrastructure and pending migrations against the rules an auditor expects: encryption under our own keys, no public access, backups and their retention, logging, TLS only, and more. " +
  "Each policy is mandatory (it blocks a deployment) or advisory (it only warns). This section lists each policy's result and every violation with the resource it concerns.";

function packCommand(env: string): string {
  return `pulumi preview -s ${env} --policy-pack policy --policy-pack-config policy/${env}.json --event-log phi-db-policy-${env}.ndjson`;
}

/** The pack's result: from the given event log, else evaluated here (stacks with AWS infrastructure only). */
export async function policyPackSection(input: Pick<ReportInput, "env" | "root" | "policyResultFile" | "policyEvaluation">, stack: { config?: StackConfig }): Promise<ReportSection<PolicyPackReport>> {
  const s: ReportSection<PolicyPackReport> = { id: "policy-pack", title: "HIPAA policy pack", intro: PACK_INTRO, notVerified: [], data: null };
  const hint = `run \`${packCommand(input.env)}\` (CI saves this file for every deployment) and pass it with --policy-result`;
  if (input.policyResultFile) {
    try {
      s.data = readPolicyResult(input.policyResultFile, input.env);
      s.notVerified.push(...s.data.notVerified);
    } catch (e) {
      s.notVerified.push(notVerified("the HIPAA policy pack's result", errText(e)));
    }
    return s;
  }
  if (stack.config && !stack.config.infra) {
    s.notVerified.push(notVerified("the HIPAA policy pack's result", `environment ${input.env} has no AWS resources for the pack to judge; it applies to the AWS stacks (dev, prod)`));
    return s;
  }
  if (input.policyEvaluation === "skip") {
    s.notVerified.push(notVerified("the HIPAA policy pack's result", `no --policy-result file was given and the local evaluation was skipped; ${hint}`));
    return s;
  }
  try {
    s.data = await evaluateLocally(input.root, input.env);
    s.notVerified.push(...s.data.notVerified);
  } catch (e) {
    s.notVerified.push(notVerified("the HIPAA policy pack's result", `the pack could not be evaluated over the program here: ${errText(e)}; ${hint}`));
  }
  return s;
}

// ------------------------------------------------------------------------------------------------
// 2. Database facts (live, read only)
// ------------------------------------------------------------------------------------------------

const SYSTEM_SCHEMAS = ["pg_catalog", "information_schema", "pg_toast"];
const PRIVILEGE_WORDS: Record<string, string> = { SELECT: "read", INSERT: "add", UPDATE: "change", DELETE: "delete" };
const POLICY_CMD: Record<string, string> = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" };

async function section<T>(id: string, title: string, intro: string, read: (s: ReportSection<T>) => Promise<T>): Promise<ReportSection<T>> {
  const s: ReportSection<T> = { id, title, intro, notVerified: [], data: null };
  try {
    s.data = await read(s);
  } catch (e) {
    s.notVerified.unshift(notVerified(title.toLowerCase(), errText(e)));
    s.data = null;
  }
  return s;
}

export interface ServerData {
  version: string;
  database: string;
  connectedAs: string;
  tls: boolean | null;
  readAt: string;
}

export interface RoleData {
  name: string;
  canLogIn: boolean;
  superuser: boolean;
  bypassesRowSecurity: boolean;
  createsRoles: boolean;
  createsDatabases: boolean;
  canConnect: boolean;
  memberOf: string[];
  members: string[];
  inAccessModel: boolean;
  comment: string | null;
}

export interface GrantData {
  schema: string;
  role: string;
  onSchema: string[];
  tables: Record<string, number>;
  tableCount: number;
  sequences: string[];
  executableFunctions: number;
}

export interface MatrixCell {
  privileges: string[];
  /** Privileges no row rule (policy) lets through: the role reaches no row with them. */
  withoutRule: string[];
  policies: string[];
}
export interface MatrixRow {
  table: string;
  rlsEnabled: boolean;
  rlsForced: boolean;
  policies: number;
  partitions: number;
  roles: Record<string, MatrixCell>;
}

export interface PhiColumn {
  table: string;
  column: string;
  type: string;
  holds: string;
  readableBy: string[];
  rowRulesForced: boolean;
}

export interface ExtensionData {
  name: string;
  installed: string | null;
  schema: string | null;
  status: string;
}

export interface LedgerEntry {
  version: string;
  name: string;
  checksum: string;
  appliedBy: string;
  appliedAt: string;
  environment: string | null;
  stack: string | null;
  file: "matches" | "differs" | "missing";
}
export interface LedgerData {
  applied: LedgerEntry[];
  pending: Array<{ version: string; name: string; checksum: string }>;
  repeatables: Array<{ key: string; checksum: string; appliedAt: string; appliedBy: string; file: "matches" | "differs" | "missing" }>;
  events: Array<{ event: string; count: number; last: string }>;
  lastFailure: { key: string; at: string; actor: string; error: string | null } | null;
}

export interface ChainData {
  entries: number;
  chains: Array<{ chain: string; entries: number; firstSeq: number | null; lastSeq: number | null; intact: boolean; brokenAt: number | null; problem: string | null }>;
  intact: boolean;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? "" : String(v));

async function readServer(c: Client): Promise<ServerData> {
  const r = await c.query(
    `select pg_catalog.current_setting('server_version') as version, pg_catalog.current_database() as db, session_user::text as who,
            (select s.ssl from pg_catalog.pg_stat_ssl s where s.pid = pg_catalog.pg_backend_pid()) as ssl,
            pg_catalog.now() as at`,
  );
  const x = r.rows[0];
  return { version: x.version, database: x.db, connectedAs: x.who, tls: x.ssl ?? null, readAt: iso(x.at) };
}

async function readRoles(c: Client, model: AccessModel | undefined): Promise<RoleData[]> {
  const r = await c.query(
    `select r.rolname, r.rolcanlogin, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
            pg_catalog.has_database_privilege(r.oid, pg_catalog.current_database(), 'CONNECT') as can_connect,
            coalesce((select array_agg(g.rolname::text order by g.rolname) from pg_catalog.pg_auth_members m join pg_catalog.pg_roles g on g.oid = m.roleid where m.member = r.oid), '{}') as member_of,
            coalesce((select array_agg(u.rolname::text order by u.rolname) from pg_catalog.pg_auth_members m join pg_catalog.pg_roles u on u.oid = m.member where m.roleid = r.oid), '{}') as members,
            pg_catalog.shobj_description(r.oid, 'pg_authid') as comment
       from pg_catalog.pg_roles r
      where r.rolname !~ '^pg_'
      order by r.rolname`,
  );
  const declared = new Set(model?.roles.map((x) => x.name) ?? []);
  return r.rows.map((x) => ({
    name: x.rolname,
    canLogIn: x.rolcanlogin,
    superuser: x.rolsuper,
    bypassesRowSecurity: x.rolbypassrls,
    createsRoles: x.rolcreaterole,
    createsDatabases: x.rolcreatedb,
    canConnect: x.can_connect,
    memberOf: x.member_of,
    members: x.members,
    inAccessModel: declared.has(x.rolname),
    comment: x.comment,
  }));
}

async function readGrants(c: Client): Promise<GrantData[]> {
  // Grants as stored (or, where an object has never been granted anything, the built-in default,
  // e.g. EXECUTE for PUBLIC on a function), per schema and grantee.
  const r = await c.query(
    `with schemas as (
       select n.oid, n.nspname, n.nspowner, coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner)) as acl
         from pg_catalog.pg_namespace n
        where n.nspname <> all($1::text[]) and n.nspname !~ '^pg_'
     ),
     sch as (
       select s.nspname as schema, a.grantee, a.privilege_type as priv
         from schemas s, pg_catalog.aclexplode(s.acl) a
     ),
     tab as (
       select s.nspname as schema, a.grantee, a.privilege_type as priv, count(*)::int as n
         from schemas s
         join pg_catalog.pg_class c on c.relnamespace = s.oid and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition,
              pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) a
        group by 1, 2, 3
     ),
     seq as (
       select s.nspname as schema, a.grantee, a.privilege_type as priv
         from schemas s
         join pg_catalog.pg_class c on c.relnamespace = s.oid and c.relkind = 'S',
              pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault('s', c.relowner))) a
        group by 1, 2, 3
     ),
     fn as (
       select s.nspname as schema, a.grantee, count(*)::int as n
         from schemas s
         join pg_catalog.pg_proc p on p.pronamespace = s.oid,
              pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
        where a.privilege_type = 'EXECUTE'
        group by 1, 2
     ),
     tables as (
       select s.nspname as schema, count(c.oid)::int as n
         from schemas s left join pg_catalog.pg_class c on c.relnamespace = s.oid and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
        group by 1
     ),
     keys as (
       select schema, grantee from sch union select schema, grantee from tab union select schema, grantee from seq union select schema, grantee from fn
     )
     select k.schema, case when k.grantee = 0 then 'PUBLIC' else pg_catalog.pg_get_userbyid(k.grantee)::text end as role,
            coalesce((select array_agg(priv order by priv) from sch where sch.schema = k.schema and sch.grantee = k.grantee), '{}') as on_schema,
            coalesce((select json_object_agg(priv, n) from tab where tab.schema = k.schema and tab.grantee = k.grantee), '{}'::json) as tables,
            coalesce((select array_agg(priv order by priv) from seq where seq.schema = k.schema and seq.grantee = k.grantee), '{}') as sequences,
            coalesce((select n from fn where fn.schema = k.schema and fn.grantee = k.grantee), 0) as functions,
            (select n from tables t where t.schema = k.schema) as table_count
       from keys k
       join schemas s on s.nspname = k.schema
      where k.grantee <> s.nspowner
      order by 1, 2`,
    [SYSTEM_SCHEMAS],
  );
  return r.rows.map((x) => ({
    schema: x.schema,
    role: x.role,
    onSchema: x.on_schema,
    tables: x.tables,
    tableCount: x.table_count,
    sequences: x.sequences,
    executableFunctions: x.functions,
  }));
}

async function readMatrix(c: Client, roles: string[]): Promise<MatrixRow[]> {
  const r = await c.query(
    `with roles as (select r.oid, r.rolname from pg_catalog.pg_roles r where r.rolname = any($2::text[])),
     tbl as (
       select c.oid, n.nspname || '.' || c.relname as name, c.relrowsecurity, c.relforcerowsecurity,
              (select count(*) from pg_catalog.pg_inherits i where i.inhparent = c.oid)::int as partitions,
              (select count(*) from pg_catalog.pg_policy p where p.polrelid = c.oid)::int as policies
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition and n.nspname <> all($1::text[]) and n.nspname !~ '^pg_'
          and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
     )
     select t.name, t.relrowsecurity, t.relforcerowsecurity, t.partitions, t.policies, ro.rolname as role,
            array_remove(array[
              case when pg_catalog.has_table_privilege(ro.oid, t.oid, 'SELECT') then 'SELECT' end,
              case when pg_catalog.has_table_privilege(ro.oid, t.oid, 'INSERT') then 'INSERT' end,
              case when pg_catalog.has_table_privilege(ro.oid, t.oid, 'UPDATE') then 'UPDATE' end,
              case when pg_catalog.has_table_privilege(ro.oid, t.oid, 'DELETE') then 'DELETE' end], null) as privileges,
            coalesce((select array_agg(p.polname::text || ':' || p.polcmd::text || ':' || case when p.polpermissive then 'p' else 'r' end order by p.polname)
                        from pg_catalog.pg_policy p
                       where p.polrelid = t.oid
                         and (0::oid = any(p.polroles) or exists (select 1 from unnest(p.polroles) pr where pg_catalog.pg_has_role(ro.oid, pr, 'MEMBER')))), '{}') as policies_for_role
       from tbl t cross join roles ro
      order by t.name, ro.rolname`,
    [[...SYSTEM_SCHEMAS, LEDGER_SCHEMA], roles],
  );
  const rows = new Map<string, MatrixRow>();
  for (const x of r.rows) {
    let row = rows.get(x.name);
    if (!row) {
      row = { table: x.name, rlsEnabled: x.relrowsecurity, rlsForced: x.relforcerowsecurity, policies: x.policies, partitions: x.partitions, roles: {} };
      rows.set(x.name, row);
    }
    const pols = (x.policies_for_role as string[]).map((p) => {
      const [name, cmd, kind] = p.split(":");
      return { name, cmd: POLICY_CMD[cmd] ?? cmd, permissive: kind === "p" };
    });
    const privileges = x.privileges as string[];
    const withoutRule = row.rlsEnabled ? privileges.filter((priv) => !pols.some((p) => p.permissive && (p.cmd === "ALL" || p.cmd === priv))) : [];
    row.roles[x.role] = { privileges, withoutRule, policies: pols.map((p) => p.name) };
  }
  return [...rows.values()];
}

async function readPhiColumns(c: Client, roles: string[]): Promise<PhiColumn[]> {
  const r = await c.query(
    `select n.nspname || '.' || c.relname as tbl, a.attname as col, pg_catalog.format_type(a.atttypid, a.atttypmod) as type,
            pg_catalog.col_description(c.oid, a.attnum) as comment, c.relrowsecurity and c.relforcerowsecurity as forced,
            coalesce((select array_agg(ro.rolname::text order by ro.rolname) from pg_catalog.pg_roles ro
                       where ro.rolname = any($2::text[]) and pg_catalog.has_column_privilege(ro.oid, c.oid, a.attnum, 'SELECT')), '{}') as readers
       from pg_catalog.pg_attribute a
       join pg_catalog.pg_class c on c.oid = a.attrelid
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
        and n.nspname <> all($1::text[])
        and pg_catalog.col_description(c.oid, a.attnum) ~* '^\\s*PHI:'
      order by 1, a.attnum`,
    [SYSTEM_SCHEMAS, roles],
  );
  return r.rows.map((x) => ({
    table: x.tbl,
    column: x.col,
    type: x.type,
    holds: String(x.comment).replace(/^\s*PHI:\s*/i, ""),
    readableBy: x.readers,
    rowRulesForced: x.forced,
  }));
}

async function readExtensions(c: Client, model: AccessModel | undefined, required: string[]): Promise<ExtensionData[]> {
  const r = await c.query(
    `select e.extname, e.extversion, n.nspname from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace order by 1`,
  );
  const installed = new Map(r.rows.map((x) => [x.extname as string, x]));
  const declared = model?.extensions.map((e) => e.name) ?? [];
  const out: ExtensionData[] = [];
  for (const name of [...new Set([...declared, ...installed.keys()])].sort()) {
    const x = installed.get(name);
    const isRequired = required.includes(name);
    const status = x
      ? declared.includes(name) || name === "plpgsql"
        ? "installed"
        : "installed, but not declared in the access model"
      : isRequired
        ? "MISSING (required in this environment)"
        : "not installed (optional in this environment)";
    out.push({ name, installed: x?.extversion ?? null, schema: x?.nspname ?? null, status });
  }
  return out;
}

async function readLedger(c: Client, files: SqlProject): Promise<LedgerData> {
  const hist = await c.query(
    `select h.key, h.kind, h.version, h.name, h.checksum, h.applied_by, h.applied_at, h.environment, h.stack
       from ${LEDGER_SCHEMA}.schema_history h order by h.kind, h.key`,
  );
  const byKey = new Map(files.migrations.map((m) => [m.key, m]));
  const repByKey = new Map([...files.repeatables, ...files.seeds].map((r) => [r.key, r]));
  const applied: LedgerEntry[] = [];
  const repeatables: LedgerData["repeatables"] = [];
  for (const h of hist.rows) {
    if (h.kind === "versioned") {
      const f = byKey.get(h.key);
      applied.push({
        version: h.version,
        name: h.name,
        checksum: h.checksum,
        appliedBy: h.applied_by,
        appliedAt: iso(h.applied_at),
        environment: h.environment,
        stack: h.stack,
        file: !f ? "missing" : f.checksum === h.checksum ? "matches" : "differs",
      });
    } else {
      const f = repByKey.get(h.key);
      repeatables.push({ key: h.key, checksum: h.checksum, appliedAt: iso(h.applied_at), appliedBy: h.applied_by, file: !f ? "missing" : f.checksum === h.checksum ? "matches" : "differs" });
    }
  }
  applied.sort((a, b) => a.version.localeCompare(b.version));
  const done = new Set(applied.map((a) => `${a.version}_${a.name}`));
  const pending = files.migrations.filter((m) => !done.has(m.key)).map((m) => ({ version: m.version, name: m.name, checksum: m.checksum }));
  const ev = await c.query(`select event, count(*)::int as n, max(at) as last from ${LEDGER_SCHEMA}.schema_events group by event order by event`);
  const fail = await c.query(`select key, at, actor, error from ${LEDGER_SCHEMA}.schema_events where event = 'fail' order by at desc limit 1`);
  return {
    applied,
    pending,
    repeatables,
    events: ev.rows.map((x) => ({ event: x.event, count: x.n, last: iso(x.last) })),
    lastFailure: fail.rows[0] ? { key: fail.rows[0].key, at: iso(fail.rows[0].at), actor: fail.rows[0].actor, error: fail.rows[0].error } : null,
  };
}

async function readChain(c: Client): Promise<ChainData> {
  const fn = await c.query(`select pg_catalog.to_regprocedure('audit.verify_chain(text)') is not null as ok`);
  if (!fn.rows[0].ok) throw new Error("the function audit.verify_chain(text) does not exist in this database");
  const n = await c.query(`select count(*)::bigint as n from audit.log`);
  const r = await c.query(`select * from audit.verify_chain()`);
  const chains = r.rows.map((x) => ({
    chain: x.chain_id,
    entries: Number(x.entries),
    firstSeq: x.first_seq === null ? null : Number(x.first_seq),
    lastSeq: x.last_seq === null ? null : Number(x.last_seq),
    intact: x.valid,
    brokenAt: x.broken_at_seq === null ? null : Number(x.broken_at_seq),
    problem: x.problem,
  }));
  return { entries: Number(n.rows[0].n), chains, intact: chains.every((ch) => ch.intact) };
}

// ------------------------------------------------------------------------------------------------
// Putting it together
// ------------------------------------------------------------------------------------------------

function readOutputs(file: string | undefined): { outputs?: Outputs; error?: string } {
  if (!file) return {};
  try {
    const v = JSON.parse(fs.readFileSync(file, "utf8"));
    if (!v || typeof v !== "object" || Array.isArray(v)) return { error: `${file}: expected the JSON object printed by \`pulumi stack output --json\`` };
    return { outputs: v };
  } catch (e) {
    return { error: `${file}: ${errText(e)}` };
  }
}

export async function collectReport(input: ReportInput): Promise<AuditReport> {
  const now = input.now ?? new Date();
  const stack = readStackFile(input.root, input.env);
  const out = readOutputs(input.stackOutputsFile);
  const posture = infrastructurePosture(input.env, stack, out.outputs, input.stackOutputsFile);
  if (out.error) posture.notVerified.unshift(notVerified("the stack outputs", out.error));

  let model: AccessModel | undefined;
  let modelError: string | undefined;
  try {
    model = loadAccessModel(path.join(input.root, "sql", "access.json"));
  } catch (e) {
    modelError = errText(e);
  }
  const matrixRoles = model ? model.roles.filter((r) => r.name !== model!.owner && !r.login).map((r) => r.name) : input.checks.requestRoles;
  const sections: ReportSection[] = [posture, await policyPackSection(input, stack)];

  let client: Client | undefined;
  let connectError: string | undefined;
  try {
    client = await connect(input.connection, `phi-db report (${input.env})`);
    await client.query("begin transaction read only");
  } catch (e) {
    connectError = errText(e);
  }
  // Each section in its own savepoint: a section that fails (no privilege, missing object) leaves the
  // transaction usable for the next one.
  const db = async <T>(id: string, title: string, intro: string, read: (c: Client, s: ReportSection<T>) => Promise<T>) =>
    client
      ? section<T>(id, title, intro, async (s) => {
          await client!.query("savepoint report_section");
          try {
            const v = await read(client!, s);
            await client!.query("release savepoint report_section");
            return v;
          } catch (e) {
            await client!.query("rollback to savepoint report_section");
            throw e;
          }
        })
      : ({ id, title, intro, notVerified: [notVerified(title.toLowerCase(), `cannot connect to the database: ${connectError}`)], data: null } as ReportSection<T>);

  try {
    const server = await db<ServerData>("server", "Database server", "The server this report read, and how it was reached.", async (c) => readServer(c));
    sections.push(server);
    sections.push(
      await db<RoleData[]>(
        "roles",
        "Roles and members",
        "Every database role (user or group), what it may do on its own, which roles it belongs to (and so acts as), and whether the repository's access model declares it.",
        async (c, s) => {
          if (modelError) s.notVerified.push(notVerified("which roles the access model declares", modelError));
          return readRoles(c, model);
        },
      ),
    );
    sections.push(
      await db<GrantData[]>(
        "grants",
        "Grants",
        "What each role was explicitly granted, schema by schema (a schema is a folder of tables). Roles also get what the roles they belong to were granted.",
        async (c) => readGrants(c),
      ),
    );
    sections.push(
      await db<MatrixRow[]>(
        "rls-matrix",
        "Row-level security: table × role",
        "For every table, whether row-level security is on (each row is shown only to whom a row rule allows) and forced (applies to the table's owner too), and what each role that serves requests or reads data may do with it. " +
          "The migrator's own ledger (schema phi_ledger) is not row-protected by design and is left out; who may read it is under Grants.",
        async (c) => readMatrix(c, matrixRoles),
      ),
    );
    sections.push(
      await db<PhiColumn[]>(
        "phi-columns",
        "PHI columns",
        "Columns the schema marks as protected health information (their comment starts with 'PHI:'), and which roles may read them.",
        async (c) => readPhiColumns(c, matrixRoles),
      ),
    );
    sections.push(
      await db<ExtensionData[]>("extensions", "Extensions", "Database extensions installed, against those the access model declares for this environment.", async (c, s) => {
        if (modelError) s.notVerified.push(notVerified("which extensions the access model declares", modelError));
        return readExtensions(c, model, input.checks.requiredExtensions);
      }),
    );
    sections.push(
      await db<LedgerData>(
        "ledger",
        "Migration ledger",
        "Every schema change applied to this database (from the migrator's ledger), with its checksum (a fingerprint of the file's text), who applied it and when, compared with the files in this repository.",
        async (c, s) => {
          if (input.files.problems.length) s.notVerified.push(notVerified("that every repository file was read", input.files.problems.map((p) => `${p.file}: ${p.message}`).join("; ")));
          return readLedger(c, input.files);
        },
      ),
    );
    sections.push(
      await db<Array<{ name: string; ok: boolean; failures: string[] }>>(
        "checks",
        "Database checks",
        "The checks the migrator runs after every change: row-level security forced with rules on every table, no rule the repository does not declare, required extensions, safe functions and views.",
        async (c) => runChecks(c, { ...input.checks, declaredPolicies: await declaredPolicies(input.files) }),
      ),
    );
    sections.push(
      await db<ChainData>(
        "audit-chain",
        "Audit trail integrity",
        "The audit log is a hash chain: each entry carries a fingerprint of the previous one, so a changed, removed or re-ordered entry breaks the chain. audit.verify_chain() re-computes every chain.",
        async (c) => readChain(c),
      ),
    );
  } finally {
    if (client) {
      await client.query("rollback").catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }

  const report: AuditReport = {
    title: `phi-db audit report — ${input.env}`,
    generatedAt: now.toISOString(),
    environment: input.env,
    database: input.display,
    summary: [],
    sections,
  };
  report.summary = summarise(report);
  return report;
}

const get = <T>(r: AuditReport, id: string) => r.sections.find((s) => s.id === id) as ReportSection<T> | undefined;

function summarise(r: AuditReport): string[] {
  const out: string[] = [];
  const chain = get<ChainData>(r, "audit-chain");
  if (chain?.data) {
    const broken = chain.data.chains.filter((c) => !c.intact);
    out.push(
      broken.length === 0
        ? `Audit trail: intact — ${chain.data.chains.length} chain(s), ${chain.data.entries} entr${chain.data.entries === 1 ? "y" : "ies"} verified.`
        : `Audit trail: BROKEN — ${broken.map((c) => `chain ${c.chain} at entry ${c.brokenAt}: ${c.problem}`).join("; ")}.`,
    );
  } else out.push("Audit trail: not verified (see the section below).");
  const ledger = get<LedgerData>(r, "ledger");
  if (ledger?.data) {
    const bad = ledger.data.applied.filter((a) => a.file !== "matches");
    out.push(
      `Migrations: ${ledger.data.applied.length} applied` +
        (bad.length ? `, ${bad.length} NOT matching the repository (${bad.map((b) => `${b.version}_${b.name}: file ${b.file}`).join(", ")})` : ", every one matches its file in the repository") +
        `; ${ledger.data.pending.length} pending.`,
    );
  } else out.push("Migrations: not verified (see the section below).");
  const checks = get<Array<{ ok: boolean }>>(r, "checks");
  if (checks?.data) out.push(`Database checks: ${checks.data.filter((c) => c.ok).length} of ${checks.data.length} passed.`);
  else out.push("Database checks: not verified (see the section below).");
  const phi = get<PhiColumn[]>(r, "phi-columns");
  if (phi?.data) out.push(`PHI: ${phi.data.length} column(s) in ${new Set(phi.data.map((p) => p.table)).size} table(s) are marked as protected health information.`);
  const matrix = get<MatrixRow[]>(r, "rls-matrix");
  if (matrix?.data) {
    const open = matrix.data.filter((m) => !m.rlsEnabled || !m.rlsForced);
    out.push(`Row-level security: ${matrix.data.length - open.length} of ${matrix.data.length} tables have it on and forced${open.length ? ` (not: ${open.map((m) => m.table).join(", ")})` : ""}.`);
  }
  const posture = get<PostureData>(r, "infrastructure");
  out.push(`Infrastructure: ${posture?.data ? `from ${posture.data.source}` : "not verified"}.`);
  const pack = get<PolicyPackReport>(r, "policy-pack");
  if (pack?.data) {
    const v = pack.data.violations;
    const mandatory = v.filter((x) => x.enforcement === "mandatory").length;
    const from = pack.data.kind === "event log" ? `from ${pack.data.source}` : "evaluated here over the program, not the deployed stack";
    out.push(
      v.length === 0
        ? `HIPAA policy pack: no violations — ${pack.data.policies.filter((p) => p.outcome === "passed").length} polic${pack.data.policies.length === 1 ? "y" : "ies"} passed (${from}).`
        : `HIPAA policy pack: ${v.length} VIOLATION(S), ${mandatory} mandatory — ${[...new Set(v.map((x) => x.policy))].join(", ")} (${from}).`,
    );
  } else out.push("HIPAA policy pack: not verified (see the section below).");
  const nv = r.sections.reduce((n, s) => n + s.notVerified.length, 0);
  out.push(`${nv} fact(s) could not be verified; each is listed in its section and at the end.`);
  return out;
}

// ------------------------------------------------------------------------------------------------
// Markdown
// ------------------------------------------------------------------------------------------------

const cell = (s: unknown) => String(s ?? "").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
function table(headers: string[], rows: unknown[][]): string[] {
  return [`| ${headers.map(cell).join(" | ")} |`, `|${headers.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
}
const PRIVILEGE_ORDER = ["USAGE", "CREATE", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"];
const sortPrivileges = (ps: string[]) => [...ps].sort((a, b) => (PRIVILEGE_ORDER.indexOf(a) + 1 || 99) - (PRIVILEGE_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
const list = (xs: string[]) => (xs.length ? xs.join(", ") : "—");
const words = (privs: string[]) => privs.map((p) => PRIVILEGE_WORDS[p] ?? p.toLowerCase());

function renderSection(s: ReportSection): string[] {
  const lines = [`## ${s.title}`, "", s.intro, ""];
  for (const n of s.notVerified) lines.push(`> **${n.replace(/^not verified:/, "Not verified:")}**`, "");
  if (s.data === null) return lines;
  switch (s.id) {
    case "infrastructure": {
      const d = s.data as PostureData;
      lines.push(`Source: ${d.source}.`, "");
      if (d.facts.length) lines.push(...table(["Area", "What", "Value", "Source"], d.facts.map((f) => [f.area, f.fact, f.value, f.source])), "");
      break;
    }
    case "policy-pack": {
      const d = s.data as PolicyPackReport;
      lines.push(`Source: ${d.source}. Pack: ${d.packs.join(", ")}.`, "");
      const outcome = { passed: "passed", violated: "VIOLATED", "not applicable": "nothing to check" };
      if (d.policies.length) lines.push(...table(["Policy", "Enforcement", "Result", "Violations"], d.policies.map((p) => [p.name, p.enforcement ?? "—", outcome[p.outcome], p.violations])), "");
      if (d.violations.length) {
        lines.push("Violations:", "");
        lines.push(...table(["Policy", "Enforcement", "Resource (URN)", "Violation"], d.violations.map((v) => [v.policy, v.enforcement, v.urn ?? "the whole stack", v.message])), "");
      } else lines.push("Violations: none.", "");
      break;
    }
    case "server": {
      const d = s.data as ServerData;
      lines.push(
        ...table(
          ["What", "Value"],
          [
            ["PostgreSQL version", d.version],
            ["Database", d.database],
            ["Read as", d.connectedAs],
            ["This connection used TLS", d.tls === null ? "not verified: pg_stat_ssl is not readable" : yes(d.tls)],
            ["Read at (server time)", d.readAt],
          ],
        ),
        "",
      );
      break;
    }
    case "roles": {
      const d = s.data as RoleData[];
      lines.push(
        ...table(
          ["Role", "Can log in", "Can connect here", "Superuser", "Bypasses row rules", "Creates roles/databases", "Belongs to", "Members", "In access model"],
          d.map((r) => [r.name, yes(r.canLogIn), yes(r.canConnect), yes(r.superuser), yes(r.bypassesRowSecurity), yes(r.createsRoles || r.createsDatabases), list(r.memberOf), list(r.members), yes(r.inAccessModel)]),
        ),
        "",
      );
      const strong = d.filter((r) => r.superuser || r.bypassesRowSecurity);
      if (strong.length) lines.push(`Roles that see every row regardless of row rules (superuser or BYPASSRLS): ${strong.map((r) => r.name).join(", ")}.`, "");
      const undeclared = d.filter((r) => !r.inAccessModel && !r.superuser && !/^rds/.test(r.name));
      if (undeclared.length) lines.push(`Roles not declared in sql/access.json: ${undeclared.map((r) => r.name).join(", ")}.`, "");
      break;
    }
    case "grants": {
      const d = s.data as GrantData[];
      lines.push(
        "SELECT = read, INSERT = add, UPDATE = change, DELETE = delete rows; TRUNCATE empties a table; USAGE on a schema lets a role reach what is inside. `n/m`: on n of the schema's m tables and views.",
        "",
      );
      lines.push(
        ...table(
          ["Schema", "Role", "On the schema", "On its tables (count of tables)", "Sequences", "Functions it may run"],
          d.map((g) => [
            g.schema,
            g.role,
            list(sortPrivileges(g.onSchema)),
            Object.keys(g.tables).length ? sortPrivileges(Object.keys(g.tables)).map((p) => `${p} ${g.tables[p]}/${g.tableCount}`).join(", ") : "—",
            list(sortPrivileges(g.sequences)),
            g.executableFunctions || "—",
          ]),
        ),
        "",
      );
      break;
    }
    case "rls-matrix": {
      const d = s.data as MatrixRow[];
      const roles = d.length ? Object.keys(d[0].roles) : [];
      lines.push(
        "Each cell lists what the role may do with the table: read, add, change, delete. `—`: nothing. A `*` marks a privilege that no row rule lets through, so it reaches no rows. The number in brackets is how many row rules (policies) apply to the role.",
        "",
        ...table(
          ["Table", "Row rules on", "Forced", "Rules", ...roles],
          d.map((m) => [
            m.table + (m.partitions ? ` (${m.partitions} partitions)` : ""),
            yes(m.rlsEnabled),
            yes(m.rlsForced),
            m.policies,
            ...roles.map((role) => {
              const c = m.roles[role];
              if (!c || c.privileges.length === 0) return "—";
              return words(c.privileges).map((w, i) => (c.withoutRule.includes(c.privileges[i]) ? `${w}*` : w)).join(", ") + ` (${c.policies.length})`;
            }),
          ]),
        ),
        "",
      );
      break;
    }
    case "phi-columns": {
      const d = s.data as PhiColumn[];
      lines.push(...table(["Table", "Column", "Holds", "Type", "Readable by", "Row rules forced"], d.map((p) => [p.table, p.column, p.holds, p.type, list(p.readableBy), yes(p.rowRulesForced)])), "");
      break;
    }
    case "extensions": {
      const d = s.data as ExtensionData[];
      lines.push(...table(["Extension", "Version", "Schema", "Status"], d.map((e) => [e.name, e.installed ?? "—", e.schema ?? "—", e.status])), "");
      break;
    }
    case "ledger": {
      const d = s.data as LedgerData;
      const fileWord = { matches: "matches the file", differs: "DIFFERS from the file (edited after it was applied)", missing: "NO such file in the repository" };
      lines.push(
        ...table(
          ["Version", "Migration", "Checksum (sha256)", "Applied by", "Applied at (UTC)", "Environment / stack", "Repository file"],
          d.applied.map((a) => [a.version, a.name, a.checksum, a.appliedBy, a.appliedAt, `${a.environment ?? "?"} / ${a.stack ?? "?"}`, fileWord[a.file]]),
        ),
        "",
      );
      lines.push(d.pending.length ? `Pending (in the repository, not applied here): ${d.pending.map((p) => `${p.version}_${p.name}`).join(", ")}.` : "Pending: none — every migration in the repository is applied.", "");
      if (d.repeatables.length) {
        lines.push("Repeatable files (functions, views, rules; re-applied whenever they change):", "");
        lines.push(...table(["File", "Checksum (sha256)", "Applied by", "Applied at (UTC)", "Repository file"], d.repeatables.map((x) => [x.key, x.checksum, x.appliedBy, x.appliedAt, x.file === "differs" ? "changed since (applied on the next run)" : fileWord[x.file]])), "");
      }
      lines.push(`Ledger events: ${d.events.length ? d.events.map((e) => `${e.event} ${e.count} (last ${e.last})`).join(", ") : "none"}.`, "");
      if (d.lastFailure) lines.push(`Last failed run: ${d.lastFailure.key} at ${d.lastFailure.at} by ${d.lastFailure.actor}: ${d.lastFailure.error ?? "(no message)"}.`, "");
      break;
    }
    case "checks": {
      const d = s.data as Array<{ name: string; ok: boolean; failures: string[] }>;
      lines.push(...table(["Check", "Result", "Details"], d.map((c) => [c.name, c.ok ? "passed" : "FAILED", c.failures.join("; ") || "—"])), "");
      break;
    }
    case "audit-chain": {
      const d = s.data as ChainData;
      lines.push(d.intact ? `Result: **intact** — ${d.chains.length} chain(s), ${d.entries} entries in audit.log.` : `Result: **BROKEN** — see below.`, "");
      if (d.chains.length) lines.push(...table(["Chain", "Entries", "First / last entry", "Intact", "Breaks at", "Problem"], d.chains.map((c) => [c.chain, c.entries, `${c.firstSeq ?? "—"} / ${c.lastSeq ?? "—"}`, yes(c.intact), c.brokenAt ?? "—", c.problem ?? "—"])), "");
      else lines.push("The audit log has no chain yet (nothing audited has happened in this database).", "");
      break;
    }
  }
  return lines;
}

export function renderMarkdown(r: AuditReport): string {
  const lines = [
    `# ${r.title}`,
    "",
    `Generated ${r.generatedAt} by \`phi-db report --env ${r.environment}\` from database ${r.database}. Read-only: the report changed nothing.`,
    "",
    "## Summary",
    "",
    ...r.summary.map((s) => `- ${s}`),
    "",
  ];
  for (const s of r.sections) lines.push(...renderSection(s));
  const nv = r.sections.flatMap((s) => s.notVerified.map((n) => `${s.title}: ${n}`));
  lines.push("## What this report could not verify", "");
  lines.push(...(nv.length ? nv.map((n) => `- ${n}`) : ["- Nothing: every fact above was read."]), "");
  return lines.join("\n");
}

// ------------------------------------------------------------------------------------------------
// The command
// ------------------------------------------------------------------------------------------------

export interface ReportCommandOptions extends ReportInput {
  /** Folder the two files are written to. Defaults to the working directory. */
  outDir?: string;
}

/** Writes phi-db-report-<env>.md and .json; returns the exit code (0 even when facts are unverified). */
export async function reportCommand(opts: ReportCommandOptions, io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const report = await collectReport(opts);
  const dir = path.resolve(opts.outDir ?? process.cwd());
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `phi-db-report-${opts.env}`);
  fs.writeFileSync(`${base}.md`, renderMarkdown(report));
  fs.writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + "\n");
  for (const s of report.summary) io.out(s);
  io.out(`wrote ${base}.md and ${base}.json`);
  return 0;
}
