/**
 * The HIPAA policy pack over the mocked program (Pulumi.prod.yaml / Pulumi.dev.yaml under Pulumi
 * mocks): prod passes every policy (with policy/prod.json and with no configuration at all), dev
 * reports exactly the prod-only rules and only as advisory, and every policy is shown to bite: for
 * each one a mutated resource (or a removed settings resource) must produce a violation.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runProgram } from "../test/support/mocks";
import { fromProgramRun, HarnessResource, PackConfig, runPolicies, validatePackConfig } from "./harness";
import { deniesInsecureTransport, parameterGroupProblems, PhiPolicy, policies, PROD_ONLY, rotationIntervalDays, TYPES } from "./policies";

const readConfig = (f: string) => JSON.parse(fs.readFileSync(path.join(__dirname, f), "utf8")) as PackConfig;
const PROD = readConfig("prod.json");
const DEV = readConfig("dev.json");

let prod: HarnessResource[];
let dev: HarnessResource[];

beforeAll(async () => {
  prod = fromProgramRun(await runProgram("prod"));
  dev = fromProgramRun(await runProgram("dev"));
}, 120000);

/** Type tokens a policy's typed resource validations (validateResourceOfType) apply to. */
function typedValidations(p: PhiPolicy): string[] {
  const v = (p as { validateResource?: unknown }).validateResource;
  if (!v) return [];
  return (Array.isArray(v) ? v : [v]).map((f: { __pulumiType?: string }) => f.__pulumiType).filter((t): t is string => typeof t === "string");
}

const byName = (name: string) => {
  const p = policies.find((x) => x.name === name);
  if (!p) throw new Error(`no policy ${name}`);
  return p;
};

describe("the pack", () => {
  test("index.ts registers exactly the exported policies under the name phi-db-hipaa, mandatory by default", async () => {
    const calls: unknown[][] = [];
    await jest.isolateModulesAsync(async () => {
      jest.doMock("@pulumi/policy", () => ({
        ...jest.requireActual("@pulumi/policy"),
        PolicyPack: jest.fn().mockImplementation((...a: unknown[]) => calls.push(a)),
      }));
      require("./index");
    });
    jest.dontMock("@pulumi/policy");
    expect(calls).toHaveLength(1);
    const [name, args] = calls[0] as [string, { policies: Array<{ name: string }>; enforcementLevel: string }];
    expect(name).toBe("phi-db-hipaa");
    expect(args.enforcementLevel).toBe("mandatory");
    expect(args.policies.map((p) => p.name)).toEqual(policies.map((p) => p.name));
    // no policy fixes its own level: enforcement comes from the pack configuration
    for (const p of args.policies) expect(p).not.toHaveProperty("enforcementLevel");
  });

  test("policy names are unique, lower-case, never the reserved 'all'; each has a description and a summary", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const p of policies) {
      expect(p.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(p.name).not.toBe("all");
      expect(p.description.length).toBeGreaterThan(20);
      expect(p.info.summary.length).toBeGreaterThan(10);
      // named after the AWS Config rule it mirrors, when it mirrors one by name
      if (p.info.awsConfigRule) expect(p.name).toBe(p.info.awsConfigRule);
    }
    expect(PROD_ONLY.sort()).toEqual(["backup-vault-lock-enabled", "rds-automated-backups-replicated", "rds-instance-deletion-protection-enabled", "rds-multi-az-support"]);
  });

  test("prod.json and dev.json are valid against the config schemas; a bad configuration is refused", () => {
    expect(validatePackConfig(policies, PROD)).toEqual([]);
    expect(validatePackConfig(policies, DEV)).toEqual([]);
    expect(PROD.all).toBe("mandatory");
    expect(DEV.all).toBe("advisory");
    expect(validatePackConfig(policies, { "db-instance-backup-enabled": { minimumRetentionDays: 40 } })).toEqual([expect.stringContaining("above maximum 35")]);
    expect(validatePackConfig(policies, { "db-instance-backup-enabled": { minRetention: 7 } })).toEqual([expect.stringContaining("not a config property")]);
    expect(validatePackConfig(policies, { "no-such-policy": "advisory" })).toEqual([expect.stringContaining("no such policy")]);
    expect(validatePackConfig(policies, { all: "loud" as never })).toEqual([expect.stringContaining("not one of")]);
  });

  test("the configuration's defaults are the production values (a pack run without configuration is as strict as prod)", () => {
    for (const [name, raw] of Object.entries(PROD)) {
      if (name === "all" || typeof raw === "string") continue;
      const schema = byName(name).configSchema!.properties;
      for (const [k, v] of Object.entries(raw)) expect([name, k, schema[k].default]).toEqual([name, k, v]);
    }
  });
});

describe("the mocked prod stack", () => {
  test("passes every policy with policy/prod.json, every policy mandatory and evaluated", async () => {
    const r = await runPolicies(policies, prod, PROD);
    expect(r.violations).toEqual([]);
    expect(r.unknown).toEqual([]);
    for (const p of policies) expect([p.name, r.evaluated[p.name] > 0]).toEqual([p.name, true]);
    // a typed resource validation judges exactly the resources of its type, no other
    for (const p of policies) {
      const types = typedValidations(p);
      if (types.length === 0) continue;
      expect([p.name, r.evaluated[p.name]]).toEqual([p.name, prod.filter((x) => types.includes(x.type)).length]);
    }
    expect(r.evaluated["cmk-backing-key-rotation-enabled"]).toBe(6);
    // a stack policy: the instance, every SecretRotation (the master's and one per login) and every secret
    const rotationScope = prod.filter((x) => [TYPES.instance, TYPES.secretRotation, TYPES.secret].includes(x.type as never));
    expect(rotationScope.filter((x) => x.type === TYPES.secret).length).toBeGreaterThanOrEqual(2);
    expect(r.evaluated["secretsmanager-rotation-enabled-check"]).toBe(rotationScope.length);
    expect(r.evaluated["rds-postgresql-force-ssl-pgaudit"]).toBe(4); // parameter groups (primary and DR region), instance, restore-test selection
  });

  test("a policy that finds nothing of its kind evaluated nothing (resources of other types are not counted)", async () => {
    const judged = new Set(policies.flatMap(typedValidations));
    const unrelated = prod.filter((x) => !judged.has(x.type) && ![...Object.values(TYPES)].flat().includes(x.type as never));
    expect(unrelated.length).toBeGreaterThan(20);
    const r = await runPolicies(policies, unrelated, PROD);
    expect(r.violations).toEqual([]);
    for (const p of policies) expect([p.name, r.evaluated[p.name]]).toEqual([p.name, 0]);
    // and with no resources at all
    const none = await runPolicies(policies, [], PROD);
    for (const p of policies) expect([p.name, none.evaluated[p.name]]).toEqual([p.name, 0]);
  });

  test("passes with no configuration at all (pack defaults)", async () => {
    const r = await runPolicies(policies, prod, {});
    expect(r.violations).toEqual([]);
  });
});

describe("the mocked dev stack", () => {
  test("with policy/dev.json reports exactly the prod-only rules, all advisory", async () => {
    const r = await runPolicies(policies, dev, DEV);
    expect([...new Set(r.violations.map((v) => v.policy))].sort()).toEqual([...PROD_ONLY].sort());
    for (const v of r.violations) expect(v.enforcementLevel).toBe("advisory");
    const messages = r.violations.map((v) => `${v.policy}: ${v.message}`).join("\n");
    expect(messages).toMatch(/deletionProtection must be true/);
    expect(messages).toMatch(/multiAz must be true/);
    expect(messages).toMatch(/no InstanceAutomatedBackupsReplication/);
    expect(messages).toMatch(/no VaultLockConfiguration/);
  });

  test("under prod.json its relaxed settings block (mandatory): retention 7 days, 30-day logs, 1-day GOVERNANCE lock", async () => {
    const r = await runPolicies(policies, dev, PROD);
    const violated = new Set(r.violations.map((v) => v.policy));
    for (const p of [...PROD_ONLY, "db-instance-backup-enabled", "cw-loggroup-retention-period-check", "s3-bucket-default-lock-enabled"]) expect([p, violated.has(p)]).toEqual([p, true]);
    for (const v of r.violations) expect(v.enforcementLevel).toBe("mandatory");
  });
});

// ------------------------------------------------------------------------------------------------
// Every policy bites: a mutated copy of the prod stack must violate it
// ------------------------------------------------------------------------------------------------

type Mutate = (rs: HarnessResource[]) => HarnessResource[] | void;
/**
 * `dev`: what the mutation does under policy/dev.json. By default the same mutation must violate, as
 * advisory, with the same message; `{ mutate, expect }` uses a stronger mutation where dev.json's
 * minimum is lower; `{ allowed }` states that dev.json deliberately accepts the mutated value (then no
 * dev violation is asserted, and the reason is kept here).
 */
type Mutation = { what: string; mutate: Mutate; expect: RegExp; dev?: { mutate: Mutate; expect: RegExp } | { allowed: string } };

const clone = (rs: HarnessResource[]) => JSON.parse(JSON.stringify(rs)) as HarnessResource[];
function one(rs: HarnessResource[], type: string, name: string | RegExp): HarnessResource {
  const hits = rs.filter((r) => r.type === type && (typeof name === "string" ? r.name === name : name.test(r.name)));
  if (hits.length !== 1) throw new Error(`expected one ${type} ${String(name)}, found ${hits.map((h) => h.name).join(", ") || "none"}`);
  return hits[0];
}
/** Sets properties on both the inputs and the outputs (resource and stack policies see either). */
function set(r: HarnessResource, patch: Record<string, unknown>) {
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) {
      delete r.inputs[k];
      delete r.outputs[k];
    } else {
      r.inputs[k] = v;
      r.outputs[k] = v;
    }
  }
}
const without = (rs: HarnessResource[], type: string, name: string | RegExp) => {
  const gone = one(rs, type, name);
  return rs.filter((r) => r !== gone);
};
const instance = (rs: HarnessResource[]) => one(rs, TYPES.instance, "database-instance");
const sseOf = (rs: HarnessResource[], name: string) => one(rs, TYPES.sse[0], name);

/** A throw-away sql/ folder with one dangerous pending migration. */
function dangerousSqlDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-policy-sql-"));
  fs.mkdirSync(path.join(dir, "migrations"));
  fs.writeFileSync(path.join(dir, "migrations", "20991231001_drop_patients.sql"), "-- drops PHI without saying why\ndrop table app.patients;\n");
  return dir;
}

const MUTATIONS: Record<string, Mutation[]> = {
  "rds-storage-encrypted": [
    { what: "AWS-managed key", mutate: (rs) => set(instance(rs), { kmsKeyId: "alias/aws/rds" }), expect: /customer-managed/ },
    { what: "storage not encrypted", mutate: (rs) => set(instance(rs), { storageEncrypted: false }), expect: /storageEncrypted must be true/ },
  ],
  "rds-instance-public-access-check": [{ what: "public", mutate: (rs) => set(instance(rs), { publiclyAccessible: true }), expect: /publiclyAccessible must be false/ }],
  "db-instance-backup-enabled": [
    {
      what: "34 days",
      mutate: (rs) => set(instance(rs), { backupRetentionPeriod: 34 }),
      expect: /at least 35 days/,
      dev: { mutate: (rs) => set(instance(rs), { backupRetentionPeriod: 6 }), expect: /at least 7 days in this environment, got 6/ },
    },
    {
      what: "backups off",
      mutate: (rs) => set(instance(rs), { backupRetentionPeriod: undefined }),
      expect: /at least 35 days/,
      dev: { mutate: (rs) => set(instance(rs), { backupRetentionPeriod: undefined }), expect: /at least 7 days in this environment, got null/ },
    },
  ],
  "rds-instance-deletion-protection-enabled": [{ what: "off", mutate: (rs) => set(instance(rs), { deletionProtection: false }), expect: /deletionProtection/ }],
  "rds-multi-az-support": [{ what: "single AZ", mutate: (rs) => set(instance(rs), { multiAz: false }), expect: /multiAz/ }],
  "rds-instance-iam-authentication-enabled": [{ what: "off", mutate: (rs) => set(instance(rs), { iamDatabaseAuthenticationEnabled: false }), expect: /iamDatabaseAuthenticationEnabled/ }],
  "rds-logging-enabled": [{ what: "no upgrade log", mutate: (rs) => set(instance(rs), { enabledCloudwatchLogsExports: ["postgresql"] }), expect: /must include upgrade/ }],
  "rds-performance-insights-encrypted-cmk": [{ what: "default key", mutate: (rs) => set(instance(rs), { performanceInsightsKmsKeyId: undefined }), expect: /performanceInsightsKmsKeyId/ }],
  "rds-enhanced-monitoring-enabled": [
    { what: "interval 0", mutate: (rs) => set(instance(rs), { monitoringInterval: 0 }), expect: /monitoringInterval/ },
    { what: "no role", mutate: (rs) => set(instance(rs), { monitoringRoleArn: undefined }), expect: /monitoringRoleArn/ },
  ],
  "rds-automatic-minor-version-upgrade-enabled": [{ what: "off", mutate: (rs) => set(instance(rs), { autoMinorVersionUpgrade: false }), expect: /autoMinorVersionUpgrade/ }],
  "rds-postgresql-force-ssl-pgaudit": [
    {
      what: "force_ssl 0",
      mutate: (rs) => {
        const pg = one(rs, TYPES.parameterGroup, "database-params");
        set(pg, { parameters: (pg.inputs.parameters as Array<{ name: string; value: string }>).map((p) => (p.name === "rds.force_ssl" ? { ...p, value: "0" } : p)) });
      },
      expect: /rds\.force_ssl must be 1/,
    },
    {
      what: "pgaudit not preloaded",
      mutate: (rs) => {
        const pg = one(rs, TYPES.parameterGroup, "database-params");
        set(pg, { parameters: (pg.inputs.parameters as Array<{ name: string; value: string }>).map((p) => (p.name === "shared_preload_libraries" ? { ...p, value: "pg_stat_statements,pg_cron" } : p)) });
      },
      expect: /must include pgaudit/,
    },
    { what: "default parameter group", mutate: (rs) => set(instance(rs), { parameterGroupName: "default.postgres17" }), expect: /default group allows plain-text/ },
    {
      what: "restore tests on the default parameter group",
      mutate: (rs) => {
        const sel = one(rs, TYPES.restoreTestingSelection, "backups-restore-testing-rds");
        const { dbparametergroupname: _dropped, ...rest } = sel.inputs.restoreMetadataOverrides as Record<string, string>;
        set(sel, { restoreMetadataOverrides: rest });
      },
      expect: /restoreMetadataOverrides must set dbParameterGroupName/,
    },
    {
      what: "restore tests naming a default group (any key case)",
      mutate: (rs) => {
        const sel = one(rs, TYPES.restoreTestingSelection, "backups-restore-testing-rds");
        const { dbparametergroupname: _dropped, ...rest } = sel.inputs.restoreMetadataOverrides as Record<string, string>;
        set(sel, { restoreMetadataOverrides: { ...rest, DBParameterGroupName: "default.postgres17" } });
      },
      expect: /got "default\.postgres17"/,
    },
  ],
  "rds-automated-backups-replicated": [
    { what: "no replication", mutate: (rs) => without(rs, TYPES.backupsReplication, "backups-dr-pitr"), expect: /no InstanceAutomatedBackupsReplication/ },
    { what: "AWS-managed key", mutate: (rs) => set(one(rs, TYPES.backupsReplication, "backups-dr-pitr"), { kmsKeyId: undefined }), expect: /kmsKeyId must name a customer-managed key/ },
    {
      what: "same region",
      mutate: (rs) => {
        const rep = one(rs, TYPES.backupsReplication, "backups-dr-pitr");
        rep.provider = instance(rs).provider;
      },
      expect: /the instance's own region/,
    },
  ],
  "secretsmanager-using-cmk": [
    { what: "aws/secretsmanager", mutate: (rs) => set(one(rs, TYPES.secret, "access-phi_migrator-secret"), { kmsKeyId: undefined }), expect: /kmsKeyId must name a customer-managed/ },
    {
      what: "replica without key",
      mutate: (rs) => {
        const s = one(rs, TYPES.secret, "access-phi_migrator-secret");
        set(s, { replicas: [{ region: "us-west-2" }] });
      },
      expect: /replicas\[0\]/,
    },
    { what: "RDS-managed master secret under aws/secretsmanager", mutate: (rs) => set(instance(rs), { masterUserSecretKmsKeyId: undefined }), expect: /masterUserSecretKmsKeyId must name a customer-managed KMS key \(got null/ },
    { what: "RDS-managed master secret under the AWS-managed alias", mutate: (rs) => set(instance(rs), { masterUserSecretKmsKeyId: "alias/aws/secretsmanager" }), expect: /masterUserSecretKmsKeyId must name a customer-managed/ },
  ],
  "secretsmanager-rotation-enabled-check": [
    {
      what: "a static master password in the stack",
      mutate: (rs) => set(instance(rs), { manageMasterUserPassword: undefined, masterUserSecretKmsKeyId: undefined, password: "static-password-in-state" }),
      expect: /manageMasterUserPassword must be true[\s\S]*password must not be set/,
    },
    { what: "rotation switched off", mutate: (rs) => set(one(rs, TYPES.secretRotation, "database-master-rotation"), { rotationEnabled: false, rotationRules: undefined }), expect: /rotationEnabled must not be false/ },
    {
      what: "every 45 days",
      mutate: (rs) => set(one(rs, TYPES.secretRotation, "database-master-rotation"), { rotationRules: { automaticallyAfterDays: 45 } }),
      expect: /at least every 30 days, got every 45/,
      dev: { mutate: (rs) => set(one(rs, TYPES.secretRotation, "database-master-rotation"), { rotationRules: { automaticallyAfterDays: 120 } }), expect: /at least every 90 days, got every 120/ },
    },
    {
      what: "a rate() schedule too slow",
      mutate: (rs) => set(one(rs, TYPES.secretRotation, "database-master-rotation"), { rotationRules: { scheduleExpression: "rate(100 days)" } }),
      expect: /at least every \d+ days, got every 100\./,
    },
    { what: "no schedule", mutate: (rs) => set(one(rs, TYPES.secretRotation, "database-master-rotation"), { rotationRules: {} }), expect: /rotationRules must set automaticallyAfterDays/ },
    { what: "a login secret without rotation", mutate: (rs) => without(rs, TYPES.secretRotation, "login-rotation-phi_migrator"), expect: /access-phi_migrator-secret \(Secret\) has no SecretRotation/ },
    {
      what: "a login rotation without a Lambda",
      mutate: (rs) => {
        const r = one(rs, TYPES.secretRotation, "login-rotation-authenticator");
        set(r, { rotationLambdaArn: undefined });
        r.propertyDependencies = { ...r.propertyDependencies, rotationLambdaArn: [] };
      },
      expect: /login-rotation-authenticator \(SecretRotation\) rotates access-authenticator-secret \(Secret\) without rotationLambdaArn/,
    },
    {
      what: "a login rotation every 45 days",
      mutate: (rs) => set(one(rs, TYPES.secretRotation, "login-rotation-phi_migrator"), { rotationRules: { automaticallyAfterDays: 45 } }),
      expect: /login-rotation-phi_migrator \(SecretRotation\): the secret must rotate at least every 30 days, got every 45/,
      dev: { allowed: "dev.json allows up to 90 days" },
    },
  ],
  "cmk-backing-key-rotation-enabled": [{ what: "no rotation", mutate: (rs) => set(one(rs, TYPES.key, "keys-buckets"), { enableKeyRotation: false }), expect: /enableKeyRotation/ }],
  "kms-key-deletion-window": [{ what: "7 days", mutate: (rs) => set(one(rs, TYPES.key, "keys-database"), { deletionWindowInDays: 7 }), expect: /at least 30/ }],
  "cloudwatch-log-group-encrypted": [{ what: "no key", mutate: (rs) => set(one(rs, TYPES.logGroup, "database-log-postgresql"), { kmsKeyId: undefined }), expect: /kmsKeyId/ }],
  "cw-loggroup-retention-period-check": [
    {
      what: "1 year",
      mutate: (rs) => set(one(rs, TYPES.logGroup, "database-log-upgrade"), { retentionInDays: 365 }),
      expect: /at least 2192, got 365/,
      dev: { mutate: (rs) => set(one(rs, TYPES.logGroup, "database-log-upgrade"), { retentionInDays: 14 }), expect: /at least 30, got 14/ },
    },
    { what: "never expires", mutate: (rs) => set(one(rs, TYPES.logGroup, "database-log-upgrade"), { retentionInDays: undefined }), expect: /must be set/ },
  ],
  "backup-vault-encrypted-cmk": [{ what: "aws/backup", mutate: (rs) => set(one(rs, TYPES.vault, "backups-vault"), { kmsKeyArn: undefined }), expect: /kmsKeyArn/ }],
  "backup-vault-lock-enabled": [
    { what: "no lock", mutate: (rs) => without(rs, TYPES.vaultLock, "backups-vault-lock"), expect: /backups-vault .*no VaultLockConfiguration/ },
    { what: "governance lock", mutate: (rs) => set(one(rs, TYPES.vaultLock, "backups-dr-vault-lock"), { changeableForDays: undefined }), expect: /governance-mode/ },
  ],
  "s3-default-encryption-kms": [
    { what: "no SSE resource", mutate: (rs) => without(rs, TYPES.sse[0], "buckets-documents"), expect: /buckets-documents .*no default encryption/ },
    { what: "AES256", mutate: (rs) => set(sseOf(rs, "buckets-documents"), { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] }), expect: /must be SSE-KMS/ },
    {
      what: "aws/s3 key",
      mutate: (rs) => set(sseOf(rs, "buckets-dr-documents"), { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }] }),
      expect: /kmsMasterKeyId must name a customer-managed/,
    },
    {
      what: "no bucket key",
      mutate: (rs) => {
        const s = sseOf(rs, "buckets-access-logs");
        set(s, { rules: (s.inputs.rules as Array<Record<string, unknown>>).map((r) => ({ ...r, bucketKeyEnabled: false })) });
      },
      expect: /bucketKeyEnabled must be true/,
    },
  ],
  "s3-bucket-level-public-access-prohibited": [
    { what: "no PAB", mutate: (rs) => without(rs, TYPES.publicAccessBlock[0], "buckets-audit-exports"), expect: /no BucketPublicAccessBlock/ },
    { what: "one flag off", mutate: (rs) => set(one(rs, TYPES.publicAccessBlock[0], "buckets-documents"), { restrictPublicBuckets: false }), expect: /restrictPublicBuckets must be true/ },
  ],
  "s3-bucket-ssl-requests-only": [
    { what: "no bucket policy", mutate: (rs) => without(rs, TYPES.bucketPolicy[0], "buckets-documents"), expect: /no bucket policy/ },
    {
      what: "policy without the TLS deny",
      mutate: (rs) => {
        const p = one(rs, TYPES.bucketPolicy[0], "buckets-documents");
        const doc = JSON.parse(p.outputs.policy as string);
        doc.Statement = doc.Statement.filter((s: { Sid: string }) => s.Sid !== "DenyInsecureTransport");
        set(p, { policy: JSON.stringify(doc) });
      },
      expect: /aws:SecureTransport/,
    },
  ],
  "s3-bucket-versioning-enabled": [
    { what: "suspended", mutate: (rs) => set(one(rs, TYPES.versioning[0], "buckets-documents"), { versioningConfiguration: { status: "Suspended" } }), expect: /does not have versioning/ },
    { what: "no versioning resource", mutate: (rs) => without(rs, TYPES.versioning[0], "buckets-access-logs"), expect: /buckets-access-logs .*versioning/ },
  ],
  "s3-bucket-logging-enabled": [
    { what: "no logging", mutate: (rs) => without(rs, TYPES.logging[0], "buckets-documents"), expect: /buckets-documents .*no server access logging/ },
    {
      what: "logs into itself",
      mutate: (rs) => {
        const docs = one(rs, TYPES.buckets[0], "buckets-documents");
        set(one(rs, TYPES.logging[0], "buckets-documents"), { targetBucket: docs.outputs.bucket });
      },
      expect: /logs into itself/,
    },
  ],
  "s3-bucket-default-lock-enabled": [
    { what: "no default retention", mutate: (rs) => without(rs, TYPES.objectLock[0], "buckets-audit-exports"), expect: /no default Object Lock retention/ },
    {
      what: "governance",
      mutate: (rs) => set(one(rs, TYPES.objectLock[0], "buckets-dr-audit-exports"), { rule: { defaultRetention: { mode: "GOVERNANCE", days: 2192 } } }),
      expect: /mode must be COMPLIANCE/,
      dev: { allowed: "dev.json allows GOVERNANCE (dev audit exports can be cleaned up)" },
    },
    {
      what: "1 day",
      mutate: (rs) => set(one(rs, TYPES.objectLock[0], "buckets-audit-exports"), { rule: { defaultRetention: { mode: "COMPLIANCE", days: 1 } } }),
      expect: /at least 2192 days, got 1/,
      dev: { allowed: "dev.json's minimum retention is 1 day" },
    },
    { what: "lock not enabled on the bucket", mutate: (rs) => set(one(rs, TYPES.buckets[0], "buckets-audit-exports"), { objectLockEnabled: undefined }), expect: /objectLockEnabled must be true/ },
  ],
  "phi-db-schema-migration-lint": [
    {
      what: "a pending DROP TABLE without its marker",
      mutate: (rs) => {
        const s = one(rs, TYPES.schema, "schema");
        const dir = dangerousSqlDir();
        set(s, { sqlDir: dir, migrations: { "20991231001_drop_patients": "0".repeat(64) } });
      },
      expect: /20991231001_drop_patients\.sql/,
    },
  ],
};

describe("every policy bites", () => {
  test("every policy has at least one mutation below", () => {
    expect(Object.keys(MUTATIONS).sort()).toEqual(policies.map((p) => p.name).sort());
  });

  const cases = policies.flatMap((p) => (MUTATIONS[p.name] ?? []).map((m) => [p.name, m.what, m] as const));
  test.each(cases)("%s: %s", async (name, _what, m) => {
    const rs = clone(prod);
    const mutated = m.mutate(rs) ?? rs;
    const policy = byName(name) as PhiPolicy;
    const r = await runPolicies([policy], mutated, PROD);
    expect(r.violations.length).toBeGreaterThan(0);
    for (const v of r.violations) expect(v.enforcementLevel).toBe("mandatory");
    expect(r.violations.map((v) => v.message).join("\n")).toMatch(m.expect);
    // under the dev configuration the same rule still reports, and only as advisory
    if (m.dev && "allowed" in m.dev) {
      expect((await runPolicies([policy], mutated, DEV)).violations).toEqual([]);
      return;
    }
    const devRs = clone(prod);
    const devMutated = (m.dev ? m.dev.mutate(devRs) : m.mutate(devRs)) ?? devRs;
    const d = await runPolicies([policy], devMutated, DEV);
    expect(d.violations.length).toBeGreaterThan(0);
    for (const v of d.violations) expect(v.enforcementLevel).toBe("advisory");
    expect(d.violations.map((v) => v.message).join("\n")).toMatch(m.dev ? m.dev.expect : m.expect);
  });

  test("every policy has a mutation that dev.json reports (advisory)", () => {
    for (const p of policies) expect([p.name, (MUTATIONS[p.name] ?? []).some((m) => !(m.dev && "allowed" in m.dev))]).toEqual([p.name, true]);
  });

  test("the unmutated prod stack violates none of them (so each case above is caused by its mutation)", async () => {
    expect((await runPolicies(policies, clone(prod), PROD)).violations).toEqual([]);
  });
});

describe("details", () => {
  test("a settings resource is tied to its bucket through its dependency even when the bucket name is not known yet (first preview)", async () => {
    const rs = clone(prod);
    const bucket = one(rs, TYPES.buckets[0], "buckets-documents");
    const sse = sseOf(rs, "buckets-documents");
    // the program's own registration carries the dependency
    expect(sse.propertyDependencies?.bucket).toEqual([bucket.urn]);
    set(sse, { bucket: "<unknown during preview>" });
    sse.propertyDependencies = {};
    const policy = byName("s3-default-encryption-kms");
    expect((await runPolicies([policy], rs, PROD)).violations.map((v) => v.message)).toEqual([expect.stringMatching(/buckets-documents .*no default encryption/)]);
    sse.propertyDependencies = { bucket: [bucket.urn] };
    expect((await runPolicies([policy], rs, PROD)).violations).toEqual([]);
  });

  test("inline bucket settings count as well as separate resources", async () => {
    const rs = clone(prod);
    const docs = one(rs, TYPES.buckets[0], "buckets-documents");
    const sse = sseOf(rs, "buckets-documents");
    const rule = (sse.inputs.rules as unknown[])[0];
    const withInline = without(rs, TYPES.sse[0], "buckets-documents");
    set(docs, { serverSideEncryptionConfiguration: { rule } });
    expect((await runPolicies([byName("s3-default-encryption-kms")], withInline, PROD)).violations).toEqual([]);
  });

  test("deniesInsecureTransport needs the deny on the bucket and its objects, for everyone", () => {
    const stmt = (over: Record<string, unknown>) => ({
      Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], Condition: { Bool: { "aws:SecureTransport": "false" } }, ...over }],
    });
    expect(deniesInsecureTransport(JSON.stringify(stmt({})), "b")).toBe(true);
    expect(deniesInsecureTransport(stmt({ Resource: ["arn:aws:s3:::b/*"] }), "b")).toBe(false);
    expect(deniesInsecureTransport(stmt({ Principal: { AWS: "arn:aws:iam::1:root" } }), "b")).toBe(false);
    expect(deniesInsecureTransport(stmt({ Effect: "Allow" }), "b")).toBe(false);
    expect(deniesInsecureTransport(stmt({ Resource: ["arn:aws:s3:::other", "arn:aws:s3:::other/*"] }), "b")).toBe(false);
    expect(deniesInsecureTransport("{not json", "b")).toBe(false);
  });

  test("rotationIntervalDays reads automaticallyAfterDays or a rate() expression; a cron() schedule is not judged", async () => {
    expect(rotationIntervalDays({ automaticallyAfterDays: 7 })).toBe(7);
    expect(rotationIntervalDays({ scheduleExpression: "rate(10 days)" })).toBe(10);
    expect(rotationIntervalDays({ scheduleExpression: "rate(12 hours)" })).toBe(0.5);
    expect(rotationIntervalDays({ scheduleExpression: "cron(0 4 ? * SUN *)" })).toBeUndefined();
    expect(rotationIntervalDays(undefined)).toBeUndefined();
    const rs = clone(prod);
    set(one(rs, TYPES.secretRotation, "database-master-rotation"), { rotationRules: { scheduleExpression: "cron(0 4 ? * SUN *)" } });
    expect((await runPolicies([byName("secretsmanager-rotation-enabled-check")], rs, PROD)).violations).toEqual([]);
  });

  test("parameterGroupProblems names each missing setting", () => {
    expect(parameterGroupProblems([{ name: "rds.force_ssl", value: "1" }, { name: "shared_preload_libraries", value: "pgaudit" }, { name: "pgaudit.log", value: "ddl,write" }])).toEqual([]);
    expect(parameterGroupProblems([{ name: "pgaudit.log", value: "none" }])).toEqual([
      expect.stringContaining("rds.force_ssl"),
      expect.stringContaining("pgaudit"),
      expect.stringContaining("pgaudit.log"),
    ]);
  });

  test("schema lint: every migration of a first deploy is pending; appliedThroughVersion leaves older ones out; a dangerous file is named with its line", async () => {
    const rs = clone(prod);
    const schema = one(rs, TYPES.schema, "schema");
    const dir = dangerousSqlDir();
    fs.writeFileSync(path.join(dir, "migrations", "20991231002_add_note.sql"), "-- harmless\nselect 1;\n");
    set(schema, { sqlDir: dir, migrations: { "20991231001_drop_patients": "0".repeat(64), "20991231002_add_note": "0".repeat(64) } });
    const policy = byName("phi-db-schema-migration-lint");
    const all = await runPolicies([policy], rs, PROD);
    expect(all.violations.map((v) => v.message)).toEqual([expect.stringMatching(/^migrations\/20991231001_drop_patients\.sql:2: \[phi-db\/destructive\]/)]);
    const later = await runPolicies([policy], rs, { ...PROD, "phi-db-schema-migration-lint": { appliedThroughVersion: "20991231001" } });
    expect(later.violations).toEqual([]);
    // the allow marker acknowledges it
    fs.writeFileSync(path.join(dir, "migrations", "20991231001_drop_patients.sql"), "-- phi-db:allow-destructive replaced by app.patients_v2 (ticket 42)\ndrop table app.patients;\n");
    expect((await runPolicies([policy], rs, PROD)).violations).toEqual([]);
  });

  test("schema lint: a migration named in the inputs but missing on disk is a violation", async () => {
    const rs = clone(prod);
    const schema = one(rs, TYPES.schema, "schema");
    set(schema, { migrations: { ...(schema.inputs.migrations as Record<string, string>), "20991231009_not_here": "0".repeat(64) } });
    const r = await runPolicies([byName("phi-db-schema-migration-lint")], rs, { ...PROD, "phi-db-schema-migration-lint": { appliedThroughVersion: "20991231000" } });
    expect(r.violations.map((v) => v.message)).toEqual([expect.stringContaining("20991231009_not_here")]);
  });
});
