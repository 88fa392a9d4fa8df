/**
 * phi-db HIPAA policy pack: one policy per rule of issue 8, named after the AWS Config managed rule
 * (and Security Hub control) it mirrors where one exists. Every policy is a plain exported object so
 * tests can call `validateResource` / `validateStack` directly; `policy/index.ts` hands the list to
 * `new PolicyPack(...)`.
 *
 * Enforcement is NOT decided here: every policy leaves `enforcementLevel` unset, the pack defaults
 * to mandatory, and the pack configuration (`policy/prod.json`, `policy/dev.json`, given with
 * `--policy-pack-config`) sets `all` to mandatory (prod) or advisory (dev). Minimums (backup
 * retention, log retention, object lock) are per-policy config properties whose defaults are the
 * production values, so a pack run without configuration is as strict as prod.
 *
 * Bucket rules are stack policies: S3 settings live in separate resources
 * (`BucketServerSideEncryptionConfiguration`, `BucketPublicAccessBlock`, `BucketPolicy`,
 * `BucketVersioning`, `BucketLogging`, `BucketObjectLockConfiguration`, V2 variants too) or inline on
 * the bucket, and a bucket without the separate resource is exactly the violation a per-resource
 * check cannot see. A setting resource belongs to a bucket when its `bucket` input depends on that
 * bucket (works in a first preview, when names are unknown) or names it.
 *
 * Policies never throw on odd input (an exception fails the whole preview): unparseable documents
 * are reported as violations. Reading a value that is unknown during preview throws the SDK's
 * UnknownValueError on purpose: the engine then reports "can't run policy during preview" and
 * runs the policy again during `pulumi up`, when the value is known.
 */
import * as aws from "@pulumi/aws";
import {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
  validateResourceOfType,
} from "@pulumi/policy";
import * as path from "path";
import { loadProject, Migration } from "../migrator/files";
import { lintMigrations } from "../migrator/lint";

/** Where a policy comes from, for the README table and the report. */
export interface PolicyInfo {
  /** AWS Config managed rule the policy mirrors (its name is the policy name when one exists). */
  awsConfigRule?: string;
  /** AWS Security Hub control id (e.g. RDS.3). */
  securityHub?: string;
  /** A control that covers similar ground without being the same check (the policy is then not named after it). */
  related?: string;
  /** The rule only holds in prod (dev reports it, advisory). */
  prodOnly: boolean;
  /** One line: what a violation means for a reader who does not read the code. */
  summary: string;
}

export type PhiPolicy = (ResourceValidationPolicy | StackValidationPolicy) & { info: PolicyInfo };

// ------------------------------------------------------------------------------------------------
// Type tokens (strings, so V1/V2 variants and the dynamic resource are matched alike)
// ------------------------------------------------------------------------------------------------

export const TYPES = {
  instance: "aws:rds/instance:Instance",
  parameterGroup: "aws:rds/parameterGroup:ParameterGroup",
  backupsReplication: "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
  secret: "aws:secretsmanager/secret:Secret",
  secretRotation: "aws:secretsmanager/secretRotation:SecretRotation",
  key: "aws:kms/key:Key",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  vault: "aws:backup/vault:Vault",
  vaultLock: "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
  restoreTestingSelection: "aws:backup/restoreTestingSelection:RestoreTestingSelection",
  buckets: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
  sse: [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  ],
  publicAccessBlock: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
  bucketPolicy: ["aws:s3/bucketPolicy:BucketPolicy"],
  versioning: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
  logging: ["aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"],
  objectLock: [
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
  ],
  schema: "pulumi-nodejs:dynamic/phi-db:DatabaseSchema",
} as const;

// ------------------------------------------------------------------------------------------------
// Small helpers
// ------------------------------------------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Props = Record<string, any>;

/** Config of a policy with its defaults filled in (the engine may or may not apply schema defaults). */
function configOf<T extends object>(args: { getConfig<C extends object>(): C }, defaults: T): T {
  return { ...defaults, ...(args.getConfig<Partial<T>>() ?? {}) };
}

/** A customer-managed key reference: set, and not an AWS-managed `alias/aws/...` key. */
export function isCustomerManagedKey(v: unknown): boolean {
  return typeof v === "string" && v.trim() !== "" && !/(^|:)alias\/aws\//.test(v);
}

/** Runs `f`, returning undefined when it throws (used only to *relate* resources, never to judge). */
function known<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

const asArray = <T>(v: T | T[] | undefined | null): T[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

function ofTypes(resources: PolicyResource[], types: readonly string[] | string): PolicyResource[] {
  const set = new Set(asArray(types as string | string[]));
  return resources.filter((r) => set.has(r.type));
}

/** Name a bucket is known by (its `bucket` output, or the `id`), when known. */
function bucketNameOf(b: PolicyResource): string | undefined {
  return known(() => b.props.bucket as string) ?? known(() => b.props.id as string);
}

/**
 * Setting resources that belong to `target` through property `prop`: the property depends on the
 * target resource (known even in a first preview), or its value equals one of the target's names.
 */
function attachedTo(target: PolicyResource, candidates: PolicyResource[], prop: string, targetNames: Array<string | undefined>): PolicyResource[] {
  const names = targetNames.filter((n): n is string => typeof n === "string" && n !== "");
  return candidates.filter((c) => {
    const deps = c.propertyDependencies?.[prop] ?? [];
    if (deps.some((d) => d.urn === target.urn)) return true;
    const v = known(() => c.props[prop]);
    return typeof v === "string" && names.includes(v);
  });
}

/** `describe` of a resource in messages. */
const label = (r: { type: string; name: string }) => `${r.name} (${r.type.split(":").pop()})`;

function parsePolicyDocument(doc: unknown): { Statement?: Props[] | Props } | undefined {
  if (doc === undefined || doc === null || doc === "") return undefined;
  if (typeof doc === "string") {
    try {
      return JSON.parse(doc);
    } catch {
      return undefined;
    }
  }
  return doc as { Statement?: Props[] };
}

// ------------------------------------------------------------------------------------------------
// RDS
// ------------------------------------------------------------------------------------------------

export const rdsStorageEncrypted: PhiPolicy = {
  name: "rds-storage-encrypted",
  description: "RDS storage is encrypted with a customer-managed KMS key.",
  severity: "critical",
  info: { awsConfigRule: "rds-storage-encrypted", securityHub: "RDS.3", prodOnly: false, summary: "database storage, snapshots and backups are encrypted under our own KMS key" },
  remediationSteps: "Set storageEncrypted: true and kmsKeyId to the database CMK (never the AWS-managed alias/aws/rds key).",
  validateResource: validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
    if (db.storageEncrypted !== true) report("storageEncrypted must be true: PHI at rest must be encrypted.");
    if (!isCustomerManagedKey(db.kmsKeyId)) report(`kmsKeyId must name a customer-managed KMS key (got ${JSON.stringify(db.kmsKeyId ?? null)}); the AWS-managed key cannot be restricted or audited by key policy.`);
  }),
};

export const rdsInstancePublicAccessCheck: PhiPolicy = {
  name: "rds-instance-public-access-check",
  description: "RDS instances are not publicly accessible.",
  severity: "critical",
  info: { awsConfigRule: "rds-instance-public-access-check", securityHub: "RDS.2", prodOnly: false, summary: "the database has no public address" },
  validateResource: validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
    if (db.publiclyAccessible === true) report("publiclyAccessible must be false: the database is reachable only from inside the VPC.");
  }),
};

export interface BackupRetentionConfig {
  minimumRetentionDays: number;
}
export const BACKUP_RETENTION_DEFAULTS: BackupRetentionConfig = { minimumRetentionDays: 35 };

export const dbInstanceBackupEnabled: PhiPolicy = {
  name: "db-instance-backup-enabled",
  description: "RDS automated backups (point-in-time recovery) are kept at least the environment's minimum (prod: 35 days).",
  severity: "high",
  info: { awsConfigRule: "db-instance-backup-enabled", securityHub: "RDS.11", prodOnly: false, summary: "point-in-time recovery is on and kept at least the environment's minimum number of days" },
  configSchema: {
    properties: {
      minimumRetentionDays: { type: "integer", minimum: 1, maximum: 35, default: BACKUP_RETENTION_DEFAULTS.minimumRetentionDays, description: "Fewest days of automated backups (PITR) allowed." },
    },
  },
  validateResource: validateResourceOfType(aws.rds.Instance, (db, args, report) => {
    const { minimumRetentionDays } = configOf(args, BACKUP_RETENTION_DEFAULTS);
    const days = db.backupRetentionPeriod;
    if (typeof days !== "number" || days < minimumRetentionDays) {
      report(`backupRetentionPeriod must be at least ${minimumRetentionDays} days in this environment, got ${JSON.stringify(days ?? null)}.`);
    }
  }),
};

export const rdsInstanceDeletionProtectionEnabled: PhiPolicy = {
  name: "rds-instance-deletion-protection-enabled",
  description: "RDS deletion protection is on (prod).",
  severity: "high",
  info: { awsConfigRule: "rds-instance-deletion-protection-enabled", securityHub: "RDS.8", prodOnly: true, summary: "the database cannot be deleted by accident" },
  validateResource: validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
    if (db.deletionProtection !== true) report("deletionProtection must be true in prod.");
  }),
};

export const rdsMultiAzSupport: PhiPolicy = {
  name: "rds-multi-az-support",
  description: "RDS runs Multi-AZ with a synchronous standby (prod).",
  severity: "high",
  info: { awsConfigRule: "rds-multi-az-support", securityHub: "RDS.5", prodOnly: true, summary: "a standby in a second availability zone takes over on failure" },
  validateResource: validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
    if (db.multiAz !== true) report("multiAz must be true in prod.");
  }),
};

export const rdsInstanceIamAuthenticationEnabled: PhiPolicy = {
  name: "rds-instance-iam-authentication-enabled",
  description: "IAM database authentication is enabled.",
  severity: "medium",
  info: { awsConfigRule: "rds-instance-iam-authentication-enabled", securityHub: "RDS.10", prodOnly: false, summary: "applications can log in with short-lived IAM tokens instead of passwords" },
  validateResource: validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
    if (db.iamDatabaseAuthenticationEnabled !== true) report("iamDatabaseAuthenticationEnabled must be true.");
  }),
};

export interface LoggingConfig {
  requiredLogTypes: string[];
}
export const LOGGING_DEFAULTS: LoggingConfig = { requiredLogTypes: ["postgresql", "upgrade"] };

export const rdsLoggingEnabled: PhiPolicy = {
  name: "rds-logging-enabled",
  description: "RDS PostgreSQL exports its postgresql and upgrade logs to CloudWatch Logs.",
  severity: "medium",
  info: { awsConfigRule: "rds-logging-enabled", securityHub: "RDS.9", prodOnly: false, summary: "database and upgrade logs leave the instance for CloudWatch Logs" },
  configSchema: {
    properties: {
      requiredLogTypes: { type: "array", items: { type: "string" }, default: LOGGING_DEFAULTS.requiredLogTypes, description: "Log types that must be exported." },
    },
  },
  validateResource: validateResourceOfType(aws.rds.Instance, (db, args, report) => {
    const { requiredLogTypes } = configOf(args, LOGGING_DEFAULTS);
    const exported = asArray(db.enabledCloudwatchLogsExports as string[] | undefined);
    const missing = requiredLogTypes.filter((t) => !exported.includes(t));
    if (missing.length) report(`enabledCloudwatchLogsExports must include ${missing.join(", ")} (has ${exported.length ? exported.join(", ") : "none"}).`);
  }),
};

export const rdsPerformanceInsightsEncryptedCmk: PhiPolicy = {
  name: "rds-performance-insights-encrypted-cmk",
  description: "Performance Insights data (which holds query text) is encrypted with a customer-managed KMS key.",
  severity: "high",
  info: { prodOnly: false, summary: "Performance Insights (query texts) is encrypted under our own KMS key" },
  validateResource: validateResourceOfType(aws.rds.Instance, (db, args, report) => {
    if (db.performanceInsightsEnabled !== true) args.notApplicable("Performance Insights is off");
    if (!isCustomerManagedKey(db.performanceInsightsKmsKeyId)) {
      report(`performanceInsightsKmsKeyId must name a customer-managed KMS key (got ${JSON.stringify(db.performanceInsightsKmsKeyId ?? null)}).`);
    }
  }),
};

const MONITORING_INTERVALS = [1, 5, 10, 15, 30, 60];

export const rdsEnhancedMonitoringEnabled: PhiPolicy = {
  name: "rds-enhanced-monitoring-enabled",
  description: "RDS Enhanced Monitoring is on (with its monitoring role).",
  severity: "low",
  info: { awsConfigRule: "rds-enhanced-monitoring-enabled", securityHub: "RDS.6", prodOnly: false, summary: "operating-system metrics of the database host are collected" },
  validateResource: validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
    if (typeof db.monitoringInterval !== "number" || !MONITORING_INTERVALS.includes(db.monitoringInterval)) {
      report(`monitoringInterval must be one of ${MONITORING_INTERVALS.join(", ")} seconds (0 or unset turns Enhanced Monitoring off), got ${JSON.stringify(db.monitoringInterval ?? null)}.`);
    }
    if (typeof db.monitoringRoleArn !== "string" || db.monitoringRoleArn === "") report("monitoringRoleArn must be set (Enhanced Monitoring needs its role).");
  }),
};

export const rdsAutomaticMinorVersionUpgradeEnabled: PhiPolicy = {
  name: "rds-automatic-minor-version-upgrade-enabled",
  description: "RDS applies minor version upgrades (security fixes) automatically.",
  severity: "medium",
  info: { awsConfigRule: "rds-automatic-minor-version-upgrade-enabled", securityHub: "RDS.13", prodOnly: false, summary: "security patches of PostgreSQL are applied in the maintenance window" },
  validateResource: validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
    // Unset means the AWS default, which is true.
    if (db.autoMinorVersionUpgrade === false) report("autoMinorVersionUpgrade must not be false.");
  }),
};

/** Parameters the RDS parameter group must carry (pure; exported for the report). */
export function parameterGroupProblems(parameters: Array<{ name?: string; value?: string }> | undefined): string[] {
  const p = new Map(asArray(parameters).map((x) => [String(x.name), String(x.value)]));
  const problems: string[] = [];
  if (p.get("rds.force_ssl") !== "1") problems.push(`rds.force_ssl must be 1 (TLS only), got ${JSON.stringify(p.get("rds.force_ssl") ?? null)}`);
  const preload = (p.get("shared_preload_libraries") ?? "").split(",").map((s) => s.trim());
  if (!preload.includes("pgaudit")) problems.push("shared_preload_libraries must include pgaudit");
  const classes = (p.get("pgaudit.log") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (classes.length === 0 || classes.includes("none")) problems.push(`pgaudit.log must name audit classes (e.g. ddl,role,write), got ${JSON.stringify(p.get("pgaudit.log") ?? null)}`);
  return problems;
}

/** Restore metadata overrides with their keys lower-cased (AWS Backup reads the keys case-insensitively). */
export function restoreOverrides(overrides: unknown): Record<string, string> {
  if (!overrides || typeof overrides !== "object") return {};
  return Object.fromEntries(Object.entries(overrides as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), String(v)]));
}

export const rdsPostgresqlForceSslAndPgaudit: PhiPolicy = {
  name: "rds-postgresql-force-ssl-pgaudit",
  description:
    "The PostgreSQL parameter group forces TLS (rds.force_ssl=1) and loads pgaudit with session audit classes; instances use a custom parameter group, and so do the copies AWS Backup restore tests bring up (restore metadata override dbParameterGroupName).",
  severity: "high",
  info: { prodOnly: false, summary: "connections without TLS are refused and pgaudit writes audit lines" },
  validateResource: [
    validateResourceOfType(aws.rds.ParameterGroup, (pg, args, report) => {
      if (typeof pg.family === "string" && !pg.family.startsWith("postgres")) args.notApplicable("not a PostgreSQL parameter group");
      for (const problem of parameterGroupProblems(pg.parameters as Array<{ name?: string; value?: string }> | undefined)) report(`${problem}.`);
    }),
    validateResourceOfType(aws.rds.Instance, (db, args, report) => {
      if (db.engine !== "postgres") args.notApplicable("not a PostgreSQL instance");
      const name = db.parameterGroupName;
      if (typeof name !== "string" || name === "" || name.startsWith("default.")) {
        report(`parameterGroupName must name the stack's parameter group (TLS only + pgaudit), got ${JSON.stringify(name ?? null)}; the default group allows plain-text connections and loads no pgaudit.`);
      }
    }),
    // A restore test brings up a full copy of the PHI; without the override it runs on the default group.
    validateResourceOfType(aws.backup.RestoreTestingSelection, (sel, args, report) => {
      if (sel.protectedResourceType !== "RDS") args.notApplicable("not an RDS instance restore test");
      const name = restoreOverrides(sel.restoreMetadataOverrides)["dbparametergroupname"];
      if (name === undefined || name === "" || name.startsWith("default.")) {
        report(
          `restoreMetadataOverrides must set dbParameterGroupName to the stack's parameter group, got ${JSON.stringify(name ?? null)}: a restored test copy of the database otherwise comes up with the default group (no pgaudit, none of the logging settings).`,
        );
      }
    }),
  ],
};

export const rdsAutomatedBackupsReplicated: PhiPolicy = {
  name: "rds-automated-backups-replicated",
  description: "Every RDS instance replicates its automated backups (PITR) to another region under a customer-managed key (prod).",
  severity: "high",
  info: { prodOnly: true, summary: "point-in-time recovery also works from a second region" },
  validateStack: (args, report) => {
    const replications = ofTypes(args.resources, TYPES.backupsReplication);
    for (const db of ofTypes(args.resources, TYPES.instance)) {
      const mine = attachedTo(db, replications, "sourceDbInstanceArn", [known(() => db.props.arn as string)]);
      if (mine.length === 0) {
        report(`${label(db)} has no InstanceAutomatedBackupsReplication: its automated backups exist in one region only.`, db.urn);
        continue;
      }
      for (const rep of mine) {
        if (!isCustomerManagedKey(rep.props.kmsKeyId)) report(`${label(rep)}: kmsKeyId must name a customer-managed key in the destination region.`, rep.urn);
        const from = known(() => db.provider?.props.region as string);
        const to = known(() => rep.provider?.props.region as string);
        if (from && to && from === to) report(`${label(rep)} replicates into ${to}, the instance's own region; use the DR region.`, rep.urn);
      }
    }
  },
};

// ------------------------------------------------------------------------------------------------
// Secrets Manager, KMS, CloudWatch Logs, AWS Backup
// ------------------------------------------------------------------------------------------------

export const secretsmanagerUsingCmk: PhiPolicy = {
  name: "secretsmanager-using-cmk",
  description: "Secrets Manager secrets (and their replicas), and the master secrets RDS manages for instances, are encrypted with customer-managed KMS keys.",
  severity: "high",
  info: { awsConfigRule: "secretsmanager-using-cmk", prodOnly: false, summary: "database passwords are encrypted under our own KMS key" },
  validateResource: [
    validateResourceOfType(aws.secretsmanager.Secret, (secret, _args, report) => {
      if (!isCustomerManagedKey(secret.kmsKeyId)) report(`kmsKeyId must name a customer-managed KMS key (got ${JSON.stringify(secret.kmsKeyId ?? null)}; unset means aws/secretsmanager).`);
      for (const [i, r] of asArray(secret.replicas as Array<{ region?: string; kmsKeyId?: string }> | undefined).entries()) {
        if (!isCustomerManagedKey(r.kmsKeyId)) report(`replicas[${i}] (${r.region ?? "?"}) must set kmsKeyId to a customer-managed key in that region.`);
      }
    }),
    // The RDS-managed master secret is no Secret resource of the stack: its key is the instance's.
    validateResourceOfType(aws.rds.Instance, (db, args, report) => {
      if (db.manageMasterUserPassword !== true) args.notApplicable("the master password is not RDS-managed");
      if (!isCustomerManagedKey(db.masterUserSecretKmsKeyId)) {
        report(`masterUserSecretKmsKeyId must name a customer-managed KMS key (got ${JSON.stringify(db.masterUserSecretKmsKeyId ?? null)}; unset means aws/secretsmanager).`);
      }
    }),
  ],
};

export interface RotationConfig {
  /** Most days allowed between two rotations (AWS Config: maximumAllowedRotationFrequency). */
  maximumAllowedRotationFrequency: number;
}
export const ROTATION_DEFAULTS: RotationConfig = { maximumAllowedRotationFrequency: 30 };

/** Days between rotations a rotation schedule means: automaticallyAfterDays, or a rate(N days|hours) expression; undefined for cron(). */
export function rotationIntervalDays(rules: { automaticallyAfterDays?: number; scheduleExpression?: string } | undefined): number | undefined {
  if (typeof rules?.automaticallyAfterDays === "number") return rules.automaticallyAfterDays;
  const m = /^rate\((\d+) (day|days|hour|hours)\)$/.exec(rules?.scheduleExpression ?? "");
  if (!m) return undefined;
  return m[2].startsWith("hour") ? Number(m[1]) / 24 : Number(m[1]);
}

/** A rotation schedule's problem (switched off, no schedule, too slow), or undefined when it is fine; a cron() schedule is not judged. */
export function rotationScheduleProblem(rotation: Props, maximumDays: number): string | undefined {
  // rotationEnabled is also an output (unknown in a first preview, then true when a schedule is set).
  if (known(() => rotation.rotationEnabled) === false) return "rotationEnabled must not be false: it switches the secret's rotation off.";
  const rules = rotation.rotationRules as { automaticallyAfterDays?: number; scheduleExpression?: string } | undefined;
  const days = rotationIntervalDays(rules);
  if (days === undefined && /^cron\(/.test(rules?.scheduleExpression ?? "")) return undefined;
  if (days === undefined) return "rotationRules must set automaticallyAfterDays (or a rate() scheduleExpression).";
  if (days > maximumDays) return `the secret must rotate at least every ${maximumDays} days, got every ${days}.`;
  return undefined;
}

export const secretsmanagerRotationEnabledCheck: PhiPolicy = {
  name: "secretsmanager-rotation-enabled-check",
  description:
    "Every secret rotates, as AWS Config's rule checks every secret: every RDS instance lets RDS manage (and rotate) its master password, with no static password in the stack; every Secrets Manager secret of the stack has a SecretRotation with a rotation Lambda; and every rotation schedule is on and rotates at least every maximumAllowedRotationFrequency days.",
  severity: "high",
  info: {
    awsConfigRule: "secretsmanager-rotation-enabled-check",
    prodOnly: false,
    summary: "every database password (the master's and each login's) is changed automatically on a schedule, never a fixed password",
  },
  configSchema: {
    properties: {
      maximumAllowedRotationFrequency: {
        type: "integer",
        minimum: 1,
        maximum: 365,
        default: ROTATION_DEFAULTS.maximumAllowedRotationFrequency,
        description: "Most days allowed between two rotations.",
      },
    },
  },
  // A stack policy: whether a secret has a rotation is a relation between two resources.
  validateStack: (args, report) => {
    const { maximumAllowedRotationFrequency } = configOf(args, ROTATION_DEFAULTS);
    for (const db of ofTypes(args.resources, TYPES.instance)) {
      if (db.props.manageMasterUserPassword !== true) report(`${label(db)}: manageMasterUserPassword must be true: RDS then keeps the master password in Secrets Manager and rotates it (managed rotation).`, db.urn);
      if (typeof db.props.password === "string" && db.props.password !== "") report(`${label(db)}: password must not be set: a master password written in the stack never rotates.`, db.urn);
    }
    const rotations = ofTypes(args.resources, TYPES.secretRotation);
    for (const r of rotations) {
      const problem = rotationScheduleProblem(r.props, maximumAllowedRotationFrequency);
      if (problem) report(`${label(r)}: ${problem}`, r.urn);
    }
    for (const secret of ofTypes(args.resources, TYPES.secret)) {
      const mine = attachedTo(secret, rotations, "secretId", [known(() => secret.props.arn as string), known(() => secret.props.id as string), known(() => secret.props.name as string)]);
      if (mine.length === 0) {
        report(`${label(secret)} has no SecretRotation: its password never changes (AWS Config's rule checks every secret).`, secret.urn);
        continue;
      }
      // Only a secret an AWS service manages (the RDS master secret) rotates without a Lambda; the
      // Lambda's ARN is unknown in a first preview but then comes from another resource.
      for (const r of mine) {
        const lambda = known(() => r.props.rotationLambdaArn as string);
        const fromResource = (r.propertyDependencies?.rotationLambdaArn ?? []).length > 0;
        if (!fromResource && (typeof lambda !== "string" || lambda === "")) report(`${label(r)} rotates ${label(secret)} without rotationLambdaArn: a secret of the stack needs a rotation function.`, r.urn);
      }
    }
  },
};

export const cmkBackingKeyRotationEnabled: PhiPolicy = {
  name: "cmk-backing-key-rotation-enabled",
  description: "Customer-managed symmetric KMS keys rotate automatically.",
  severity: "medium",
  info: { awsConfigRule: "cmk-backing-key-rotation-enabled", securityHub: "KMS.4", prodOnly: false, summary: "every encryption key rotates its key material automatically" },
  validateResource: validateResourceOfType(aws.kms.Key, (key, args, report) => {
    const spec = key.customerMasterKeySpec ?? key.keyUsage;
    if (spec !== undefined && spec !== "SYMMETRIC_DEFAULT" && spec !== "ENCRYPT_DECRYPT") args.notApplicable("automatic rotation applies to symmetric encryption keys only");
    if (key.enableKeyRotation !== true) report("enableKeyRotation must be true.");
  }),
};

export interface KeyDeletionConfig {
  minimumDeletionWindowDays: number;
}
export const KEY_DELETION_DEFAULTS: KeyDeletionConfig = { minimumDeletionWindowDays: 30 };

export const kmsKeyDeletionWindow: PhiPolicy = {
  name: "kms-key-deletion-window",
  description: "KMS keys have a deletion waiting period of at least 30 days.",
  severity: "medium",
  info: {
    related: "Security Hub KMS.3 / AWS Config kms-cmk-not-scheduled-for-deletion (keys are not deleted unintentionally)",
    prodOnly: false,
    summary: "a key scheduled for deletion can be rescued for at least 30 days (data under it would be lost)",
  },
  configSchema: {
    properties: {
      minimumDeletionWindowDays: { type: "integer", minimum: 7, maximum: 30, default: KEY_DELETION_DEFAULTS.minimumDeletionWindowDays, description: "Shortest deletion window allowed." },
    },
  },
  validateResource: validateResourceOfType(aws.kms.Key, (key, args, report) => {
    const { minimumDeletionWindowDays } = configOf(args, KEY_DELETION_DEFAULTS);
    // Unset means the AWS default, 30 days.
    const days = key.deletionWindowInDays ?? 30;
    if (days < minimumDeletionWindowDays) report(`deletionWindowInDays must be at least ${minimumDeletionWindowDays}, got ${days}.`);
  }),
};

export const cloudwatchLogGroupEncrypted: PhiPolicy = {
  name: "cloudwatch-log-group-encrypted",
  description: "CloudWatch log groups are encrypted with a customer-managed KMS key.",
  severity: "high",
  info: { awsConfigRule: "cloudwatch-log-group-encrypted", prodOnly: false, summary: "database logs (which may hold statement text) are encrypted under our own KMS key" },
  validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (group, _args, report) => {
    if (!isCustomerManagedKey(group.kmsKeyId)) report(`kmsKeyId must name a customer-managed KMS key, got ${JSON.stringify(group.kmsKeyId ?? null)}.`);
  }),
};

export interface LogRetentionConfig {
  minimumRetentionDays: number;
}
export const LOG_RETENTION_DEFAULTS: LogRetentionConfig = { minimumRetentionDays: 2192 };

export const cwLoggroupRetentionPeriodCheck: PhiPolicy = {
  name: "cw-loggroup-retention-period-check",
  description: "CloudWatch log groups set a retention of at least the environment's minimum (prod: 2192 days = 6 years).",
  severity: "medium",
  info: { awsConfigRule: "cw-loggroup-retention-period-check", securityHub: "CloudWatch.16", prodOnly: false, summary: "logs are kept for the required period, and no longer than chosen" },
  configSchema: {
    properties: {
      minimumRetentionDays: { type: "integer", minimum: 1, default: LOG_RETENTION_DEFAULTS.minimumRetentionDays, description: "Fewest days a log group must keep events." },
    },
  },
  validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (group, args, report) => {
    const { minimumRetentionDays } = configOf(args, LOG_RETENTION_DEFAULTS);
    const days = group.retentionInDays;
    // Unset/0 means "never expire": refused, the stack must choose a retention (PHI is kept no longer than needed).
    if (typeof days !== "number" || days <= 0) report(`retentionInDays must be set (at least ${minimumRetentionDays}); unset keeps PHI-bearing logs forever.`);
    else if (days < minimumRetentionDays) report(`retentionInDays must be at least ${minimumRetentionDays}, got ${days}.`);
  }),
};

export const backupVaultEncryptedCmk: PhiPolicy = {
  name: "backup-vault-encrypted-cmk",
  description: "AWS Backup vaults encrypt recovery points with a customer-managed KMS key.",
  severity: "high",
  info: {
    related: "AWS Config backup-recovery-point-encrypted / Security Hub Backup.1 check the recovery points; this checks the vault key that encrypts them",
    prodOnly: false,
    summary: "backup copies are encrypted under our own KMS key",
  },
  validateResource: validateResourceOfType(aws.backup.Vault, (vault, _args, report) => {
    if (!isCustomerManagedKey(vault.kmsKeyArn)) report(`kmsKeyArn must name a customer-managed KMS key, got ${JSON.stringify(vault.kmsKeyArn ?? null)} (unset means aws/backup).`);
  }),
};

export const backupVaultLockEnabled: PhiPolicy = {
  name: "backup-vault-lock-enabled",
  description: "Every AWS Backup vault has a compliance-mode Vault Lock (prod).",
  severity: "high",
  info: {
    related: "AWS Config rds-resources-protected-by-backup-plan with backupVaultLockCheck=True",
    prodOnly: true,
    summary: "nobody, administrators included, can delete backups before they expire",
  },
  validateStack: (args, report) => {
    const locks = ofTypes(args.resources, TYPES.vaultLock);
    for (const vault of ofTypes(args.resources, TYPES.vault)) {
      const mine = attachedTo(vault, locks, "backupVaultName", [known(() => vault.props.name as string), known(() => vault.props.id as string)]);
      if (mine.length === 0) {
        report(`${label(vault)} has no VaultLockConfiguration: recovery points can be deleted early.`, vault.urn);
        continue;
      }
      for (const lock of mine) {
        // changeableForDays set = compliance mode (immutable after the grace period); unset = governance.
        if (typeof lock.props.changeableForDays !== "number") report(`${label(lock)} is a governance-mode lock (changeableForDays unset); prod needs compliance mode.`, lock.urn);
        if (typeof lock.props.minRetentionDays !== "number" || lock.props.minRetentionDays < 1) report(`${label(lock)} must set minRetentionDays.`, lock.urn);
      }
    }
  },
};

// ------------------------------------------------------------------------------------------------
// S3 (stack policies: the settings live in separate resources, or inline on the bucket)
// ------------------------------------------------------------------------------------------------

/** Each bucket of the stack with the setting resources attached to it. */
function forEachBucket(args: StackValidationArgs, settingTypes: readonly string[], f: (bucket: PolicyResource, settings: PolicyResource[]) => void): void {
  const candidates = ofTypes(args.resources, settingTypes);
  for (const bucket of ofTypes(args.resources, TYPES.buckets)) {
    f(bucket, attachedTo(bucket, candidates, "bucket", [bucketNameOf(bucket)]));
  }
}

/** Problems of one SSE rule (inline or separate resource share the shape). */
function sseRuleProblems(rule: Props | undefined): string[] {
  const d = rule?.applyServerSideEncryptionByDefault as Props | undefined;
  const out: string[] = [];
  if (!d || (d.sseAlgorithm !== "aws:kms" && d.sseAlgorithm !== "aws:kms:dsse")) out.push(`default encryption must be SSE-KMS (sseAlgorithm aws:kms), got ${JSON.stringify(d?.sseAlgorithm ?? null)}`);
  else if (!isCustomerManagedKey(d.kmsMasterKeyId)) out.push("kmsMasterKeyId must name a customer-managed KMS key (unset means aws/s3)");
  if (rule?.bucketKeyEnabled !== true) out.push("bucketKeyEnabled must be true (S3 Bucket Keys)");
  return out;
}

export const s3DefaultEncryptionKms: PhiPolicy = {
  name: "s3-default-encryption-kms",
  description: "Every S3 bucket encrypts by default with SSE-KMS under a customer-managed key, with S3 Bucket Keys (separate configuration resource or inline).",
  severity: "critical",
  info: { awsConfigRule: "s3-default-encryption-kms", securityHub: "S3.17", prodOnly: false, summary: "every stored file is encrypted under our own KMS key" },
  validateStack: (args, report) =>
    forEachBucket(args, TYPES.sse, (bucket, settings) => {
      const inline = bucket.props.serverSideEncryptionConfiguration as Props | undefined;
      const rules: Props[] = [];
      if (inline?.rule) rules.push(inline.rule);
      for (const s of settings) rules.push(...asArray(s.props.rules as Props[] | undefined));
      if (rules.length === 0) {
        report(`${label(bucket)} has no default encryption configuration (no BucketServerSideEncryptionConfiguration resource and nothing inline).`, bucket.urn);
        return;
      }
      for (const rule of rules) for (const p of sseRuleProblems(rule)) report(`${label(bucket)}: ${p}.`, bucket.urn);
    }),
};

const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

export const s3BucketLevelPublicAccessProhibited: PhiPolicy = {
  name: "s3-bucket-level-public-access-prohibited",
  description: "Every S3 bucket has a public access block with all four settings on.",
  severity: "critical",
  info: { awsConfigRule: "s3-bucket-level-public-access-prohibited", securityHub: "S3.8", prodOnly: false, summary: "no bucket can be made public, by ACL or by policy" },
  validateStack: (args, report) =>
    forEachBucket(args, TYPES.publicAccessBlock, (bucket, settings) => {
      if (settings.length === 0) {
        report(`${label(bucket)} has no BucketPublicAccessBlock.`, bucket.urn);
        return;
      }
      for (const s of settings) {
        const off = PAB_FLAGS.filter((f) => s.props[f] !== true);
        if (off.length) report(`${label(bucket)}: ${off.join(", ")} must be true.`, s.urn);
      }
    }),
};

/** Whether a bucket policy document denies every request not made over TLS, on the bucket and its objects. */
export function deniesInsecureTransport(doc: unknown, bucketName?: string): boolean {
  const parsed = parsePolicyDocument(doc);
  if (!parsed) return false;
  const statements = asArray(parsed.Statement as Props[] | Props | undefined);
  return statements.some((s) => {
    if (s.Effect !== "Deny") return false;
    const principal = s.Principal;
    const everyone = principal === "*" || (principal && typeof principal === "object" && asArray(principal.AWS).includes("*"));
    if (!everyone) return false;
    const actions = asArray(s.Action as string | string[]);
    if (!actions.includes("s3:*") && !actions.includes("*")) return false;
    const secure = s.Condition?.Bool?.["aws:SecureTransport"];
    if (!(secure === "false" || secure === false || (Array.isArray(secure) && secure.map(String).includes("false")))) return false;
    const resources = asArray(s.Resource as string | string[]);
    if (resources.includes("*")) return true;
    const prefix = bucketName ? new RegExp(`^arn:aws[a-z-]*:s3:::${bucketName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`) : /^arn:aws[a-z-]*:s3:::[^/]+/;
    const bucketLevel = resources.some((r) => prefix.test(r) && !r.includes("/"));
    const objectLevel = resources.some((r) => prefix.test(r) && r.endsWith("/*"));
    return bucketLevel && objectLevel;
  });
}

export const s3BucketSslRequestsOnly: PhiPolicy = {
  name: "s3-bucket-ssl-requests-only",
  description: "Every S3 bucket policy denies requests that do not use TLS (aws:SecureTransport=false), on the bucket and its objects.",
  severity: "high",
  info: { awsConfigRule: "s3-bucket-ssl-requests-only", securityHub: "S3.5", prodOnly: false, summary: "files can only be read or written over encrypted connections" },
  validateStack: (args, report) =>
    forEachBucket(args, TYPES.bucketPolicy, (bucket, settings) => {
      const name = bucketNameOf(bucket);
      const docs = [bucket.props.policy, ...settings.map((s) => s.props.policy)].filter((d) => d !== undefined && d !== null && d !== "");
      if (docs.length === 0) {
        report(`${label(bucket)} has no bucket policy, so plain-HTTP requests are not denied.`, bucket.urn);
        return;
      }
      if (!docs.some((d) => deniesInsecureTransport(d, name))) {
        report(`${label(bucket)}: no policy statement denies s3:* to everyone when aws:SecureTransport is false on both the bucket and its objects.`, bucket.urn);
      }
    }),
};

export const s3BucketVersioningEnabled: PhiPolicy = {
  name: "s3-bucket-versioning-enabled",
  description: "Every S3 bucket has versioning enabled.",
  severity: "medium",
  info: { awsConfigRule: "s3-bucket-versioning-enabled", securityHub: "S3.14", prodOnly: false, summary: "overwritten or deleted files keep their earlier versions" },
  validateStack: (args, report) =>
    forEachBucket(args, TYPES.versioning, (bucket, settings) => {
      const inline = (bucket.props.versioning as Props | undefined)?.enabled === true;
      const separate = settings.some((s) => (s.props.versioningConfiguration as Props | undefined)?.status === "Enabled");
      if (!inline && !separate) report(`${label(bucket)} does not have versioning enabled (no BucketVersioning with status Enabled).`, bucket.urn);
    }),
};

export const s3BucketLoggingEnabled: PhiPolicy = {
  name: "s3-bucket-logging-enabled",
  description: "Every S3 bucket writes server access logs to another bucket; a bucket that receives access logs is exempt (logging it into itself would loop).",
  severity: "medium",
  info: { awsConfigRule: "s3-bucket-logging-enabled", securityHub: "S3.9", prodOnly: false, summary: "every request to a bucket is recorded in an access-log bucket" },
  validateStack: (args, report) => {
    const loggings = ofTypes(args.resources, TYPES.logging);
    const buckets = ofTypes(args.resources, TYPES.buckets);
    // Log sinks: buckets some logging configuration (separate or inline) targets.
    const isSink = (b: PolicyResource) => {
      const name = bucketNameOf(b);
      const inlineTargets = buckets.map((x) => known(() => (x.props.logging as Props | undefined)?.targetBucket as string));
      return (
        loggings.some((l) => (l.propertyDependencies?.targetBucket ?? []).some((d) => d.urn === b.urn) || (name !== undefined && known(() => l.props.targetBucket) === name)) ||
        (name !== undefined && inlineTargets.includes(name))
      );
    };
    forEachBucket(args, TYPES.logging, (bucket, settings) => {
      const inline = known(() => (bucket.props.logging as Props | undefined)?.targetBucket as string);
      if (!inline && settings.length === 0) {
        if (isSink(bucket)) return;
        report(`${label(bucket)} has no server access logging (no BucketLogging resource and nothing inline).`, bucket.urn);
        return;
      }
      const name = bucketNameOf(bucket);
      for (const s of settings) {
        const target = known(() => s.props.targetBucket as string);
        const selfTarget = (s.propertyDependencies?.targetBucket ?? []).some((d) => d.urn === bucket.urn) || (name !== undefined && target === name);
        if (selfTarget) report(`${label(bucket)} logs into itself; send access logs to the access-log bucket.`, s.urn);
      }
    });
  },
};

export interface ObjectLockConfig {
  /** Buckets whose physical or logical name contains this text are audit-export buckets. */
  bucketNamePattern: string;
  allowedModes: string[];
  minimumRetentionDays: number;
}
export const OBJECT_LOCK_DEFAULTS: ObjectLockConfig = { bucketNamePattern: "audit-exports", allowedModes: ["COMPLIANCE"], minimumRetentionDays: 2192 };

export const s3BucketDefaultLockEnabled: PhiPolicy = {
  name: "s3-bucket-default-lock-enabled",
  description: "Audit-export buckets have S3 Object Lock with a default retention (prod: COMPLIANCE, 2192 days).",
  severity: "high",
  info: { awsConfigRule: "s3-bucket-default-lock-enabled", securityHub: "S3.15", prodOnly: false, summary: "exported audit evidence cannot be altered or deleted during its retention" },
  configSchema: {
    properties: {
      bucketNamePattern: { type: "string", default: OBJECT_LOCK_DEFAULTS.bucketNamePattern, description: "Text in the bucket's name (physical or logical) marking an audit-export bucket." },
      allowedModes: { type: "array", items: { type: "string", enum: ["COMPLIANCE", "GOVERNANCE"] }, default: OBJECT_LOCK_DEFAULTS.allowedModes, description: "Default retention modes allowed." },
      minimumRetentionDays: { type: "integer", minimum: 1, default: OBJECT_LOCK_DEFAULTS.minimumRetentionDays, description: "Shortest default retention allowed." },
    },
  },
  validateStack: (args, report) => {
    const cfg = configOf(args, OBJECT_LOCK_DEFAULTS);
    let audited = 0;
    forEachBucket(args, TYPES.objectLock, (bucket, settings) => {
      const names = [bucket.name, bucketNameOf(bucket), known(() => bucket.props.bucketPrefix as string)].filter((n): n is string => typeof n === "string");
      if (!names.some((n) => n.includes(cfg.bucketNamePattern))) return;
      audited++;
      const lockOn = bucket.props.objectLockEnabled === true || (bucket.props.objectLockConfiguration as Props | undefined)?.objectLockEnabled === "Enabled";
      if (!lockOn) report(`${label(bucket)}: objectLockEnabled must be true (it can only be set when the bucket is created).`, bucket.urn);
      const retentions: Props[] = [];
      const inlineRule = (bucket.props.objectLockConfiguration as Props | undefined)?.rule as Props | undefined;
      if (inlineRule?.defaultRetention) retentions.push(inlineRule.defaultRetention);
      for (const s of settings) {
        const r = (s.props.rule as Props | undefined)?.defaultRetention as Props | undefined;
        if (r) retentions.push(r);
      }
      if (retentions.length === 0) {
        report(`${label(bucket)} has no default Object Lock retention (no BucketObjectLockConfiguration rule).`, bucket.urn);
        return;
      }
      for (const r of retentions) {
        if (!cfg.allowedModes.includes(r.mode)) report(`${label(bucket)}: default retention mode must be ${cfg.allowedModes.join(" or ")}, got ${JSON.stringify(r.mode ?? null)}.`, bucket.urn);
        const days = typeof r.days === "number" ? r.days : typeof r.years === "number" ? r.years * 365 : 0;
        if (days < cfg.minimumRetentionDays) report(`${label(bucket)}: default retention must be at least ${cfg.minimumRetentionDays} days, got ${days}.`, bucket.urn);
      }
    });
    if (audited === 0 && ofTypes(args.resources, TYPES.buckets).length > 0) {
      report(`no bucket's name contains "${cfg.bucketNamePattern}": the audit-export bucket is missing (or config bucketNamePattern is wrong).`);
    }
  },
};

// ------------------------------------------------------------------------------------------------
// The schema resource: no pending migration with a blocking lint error
// ------------------------------------------------------------------------------------------------

export interface SchemaLintConfig {
  /** The Pulumi program's directory (its `sqlDir` input is relative to it), relative to the policy pack directory. */
  projectDir: string;
  /**
   * Newest version already applied to this stack (`pulumi stack output schemaVersion`); migrations up
   * to it are not pending and are not linted. Empty: every migration in the inputs is treated as
   * pending (a policy cannot read the stack's state).
   */
  appliedThroughVersion: string;
}
export const SCHEMA_LINT_DEFAULTS: SchemaLintConfig = { projectDir: "..", appliedThroughVersion: "" };

/**
 * The pending migrations of a schema resource's inputs: every `migrations` key newer than
 * `appliedThroughVersion`, read from `<programDir>/<sqlDir>` and rendered for the environment
 * exactly as the program rendered them; plus the keys the inputs name that are not on disk.
 */
export function pendingMigrations(programDir: string, props: Props, appliedThroughVersion: string): { pending: Migration[]; missing: string[]; problems: string[] } {
  const project = loadProject(path.resolve(programDir, String(props.sqlDir ?? "sql")), {
    environment: String(props.environment),
    placeholders: (props.placeholders as Record<string, string> | undefined) ?? {},
    includeSeeds: false,
  });
  const wanted = Object.keys((props.migrations as Record<string, string> | undefined) ?? {});
  const onDisk = new Map(project.migrations.map((m) => [m.key, m]));
  return {
    pending: wanted
      .filter((k) => onDisk.has(k) && (appliedThroughVersion === "" || k.slice(0, 11) > appliedThroughVersion))
      .map((k) => onDisk.get(k)!)
      .sort((a, b) => a.version.localeCompare(b.version)),
    missing: wanted.filter((k) => !onDisk.has(k)),
    problems: project.problems.map((p) => `${p.file}: ${p.message}`),
  };
}

export const phiDbSchemaMigrationLint: PhiPolicy = {
  name: "phi-db-schema-migration-lint",
  description:
    "No pending migration of the schema resource has a blocking lint error (destructive statement without its marker, new table without forced RLS, PHI column without its COMMENT, secret-looking literal, squawk errors).",
  severity: "high",
  info: { prodOnly: false, summary: "no pending migration carries a dangerous change that was not explicitly acknowledged" },
  configSchema: {
    properties: {
      projectDir: { type: "string", default: SCHEMA_LINT_DEFAULTS.projectDir, description: "The program's directory relative to the policy pack directory." },
      appliedThroughVersion: {
        type: "string",
        pattern: "^([0-9]{11})?$",
        default: SCHEMA_LINT_DEFAULTS.appliedThroughVersion,
        description: "Newest version already applied (pulumi stack output schemaVersion); it and older migrations are not linted.",
      },
    },
  },
  validateResource: async (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== TYPES.schema) args.notApplicable(`Policy only applies to resources of type '${TYPES.schema}'`);
    const cfg = configOf(args, SCHEMA_LINT_DEFAULTS);
    let found;
    try {
      found = pendingMigrations(path.resolve(__dirname, cfg.projectDir), args.props, cfg.appliedThroughVersion);
    } catch (e) {
      report(`cannot read the migrations the schema resource names: ${(e as Error).message}`);
      return;
    }
    for (const p of found.problems) report(`SQL file problem: ${p}`);
    for (const k of found.missing) report(`migration ${k} is in the resource's inputs but not on disk (run the pack from the program's checkout).`);
    if (found.pending.length === 0) return;
    const managedSchemas = ((args.props.checks as Props | undefined)?.managedSchemas as string[] | undefined) ?? [];
    const findings = await lintMigrations(found.pending, { managedSchemas });
    for (const f of findings.filter((x) => x.severity === "error")) report(`${f.file}:${f.line}: [${f.rule}] ${f.message}`);
  },
};

// ------------------------------------------------------------------------------------------------
// The pack's policies
// ------------------------------------------------------------------------------------------------

export const policies: PhiPolicy[] = [
  rdsStorageEncrypted,
  rdsInstancePublicAccessCheck,
  dbInstanceBackupEnabled,
  rdsInstanceDeletionProtectionEnabled,
  rdsMultiAzSupport,
  rdsInstanceIamAuthenticationEnabled,
  rdsLoggingEnabled,
  rdsPerformanceInsightsEncryptedCmk,
  rdsEnhancedMonitoringEnabled,
  rdsAutomaticMinorVersionUpgradeEnabled,
  rdsPostgresqlForceSslAndPgaudit,
  rdsAutomatedBackupsReplicated,
  secretsmanagerUsingCmk,
  secretsmanagerRotationEnabledCheck,
  cmkBackingKeyRotationEnabled,
  kmsKeyDeletionWindow,
  cloudwatchLogGroupEncrypted,
  cwLoggroupRetentionPeriodCheck,
  backupVaultEncryptedCmk,
  backupVaultLockEnabled,
  s3DefaultEncryptionKms,
  s3BucketLevelPublicAccessProhibited,
  s3BucketSslRequestsOnly,
  s3BucketVersioningEnabled,
  s3BucketLoggingEnabled,
  s3BucketDefaultLockEnabled,
  phiDbSchemaMigrationLint,
];

/** Names of the rules that hold only in prod (reported, advisory, in dev). */
export const PROD_ONLY = policies.filter((p) => p.info.prodOnly).map((p) => p.name);
