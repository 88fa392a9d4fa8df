/**
 * Customer-managed KMS keys, one per purpose, plus one in the DR region. Rotation on, a deletion
 * window, an alias each, and a key policy that grants only the account root (IAM delegation), the
 * named administrators (manage, never use) and the AWS services that use the key (through
 * `kms:ViaService` from this account, or a service principal scoped by condition).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { dnsSuffixOf, infraDefault, partitionOf } from "./config";

/** Purposes of the primary-region keys. */
export const KEY_PURPOSES = ["database", "secrets", "buckets", "backups", "monitoring"] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number] | "dr";

/** Actions a key administrator may take: manage the key, never encrypt/decrypt with it. */
export const KEY_ADMIN_ACTIONS = [
  "kms:CancelKeyDeletion",
  "kms:Create*",
  "kms:Delete*",
  "kms:Describe*",
  "kms:Disable*",
  "kms:Enable*",
  "kms:Get*",
  "kms:List*",
  "kms:Put*",
  "kms:Revoke*",
  "kms:RotateKeyOnDemand",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:Update*",
];

export const KEY_USE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"];
export const KEY_GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PolicyStatement = Record<string, any>;
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

export interface KeyPolicyArgs {
  accountId: string;
  /** Region of the key: the `kms:ViaService` endpoints are `<service>.<region>.amazonaws.com`. */
  region: string;
  administratorArns: string[];
  /** Services that use the key on behalf of principals of this account, e.g. ["rds", "backup"]. */
  viaServices: string[];
  /** Extra statements for service principals (CloudWatch Logs, S3 log delivery). */
  servicePrincipalStatements?: PolicyStatement[];
}

/** Renders a key policy (pure; snapshot-tested). */
export function keyPolicy(a: KeyPolicyArgs): PolicyDocument {
  const partition = partitionOf(a.region);
  const via = [...a.viaServices].sort().map((s) => `${s}.${a.region}.${dnsSuffixOf(a.region)}`);
  const statements: PolicyStatement[] = [
    {
      Sid: "AccountRootFullAccess",
      Effect: "Allow",
      Principal: { AWS: `arn:${partition}:iam::${a.accountId}:root` },
      Action: "kms:*",
      Resource: "*",
    },
  ];
  if (a.administratorArns.length > 0) {
    statements.push({
      Sid: "KeyAdministrators",
      Effect: "Allow",
      Principal: { AWS: [...a.administratorArns].sort() },
      Action: KEY_ADMIN_ACTIONS,
      Resource: "*",
    });
  }
  if (via.length > 0) {
    statements.push(
      {
        Sid: "UseThroughServices",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: KEY_USE_ACTIONS,
        Resource: "*",
        Condition: { StringEquals: { "kms:CallerAccount": a.accountId, "kms:ViaService": via } },
      },
      {
        Sid: "GrantsForServiceResources",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: KEY_GRANT_ACTIONS,
        Resource: "*",
        Condition: {
          StringEquals: { "kms:CallerAccount": a.accountId, "kms:ViaService": via },
          Bool: { "kms:GrantIsForAWSResource": "true" },
        },
      },
    );
  }
  statements.push(...(a.servicePrincipalStatements ?? []));
  return { Version: "2012-10-17", Statement: statements };
}

/** CloudWatch Logs may use the key only for log groups under `logGroupPrefix` in this account. */
export function logsServiceStatement(accountId: string, region: string, logGroupPrefix: string): PolicyStatement {
  const partition = partitionOf(region);
  return {
    Sid: "CloudWatchLogsForDatabaseLogGroups",
    Effect: "Allow",
    Principal: { Service: `logs.${region}.amazonaws.com` },
    Action: ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
    Resource: "*",
    Condition: {
      ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${partition}:logs:${region}:${accountId}:log-group:${logGroupPrefix}*` },
    },
  };
}

/** S3 server access log delivery may write log objects encrypted under the bucket key. */
export function s3LogDeliveryStatement(accountId: string): PolicyStatement {
  return {
    Sid: "S3ServerAccessLogDelivery",
    Effect: "Allow",
    Principal: { Service: "logging.s3.amazonaws.com" },
    Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
    Resource: "*",
    Condition: { StringEquals: { "aws:SourceAccount": accountId } },
  };
}

/** The alarm topic and the alarms publishing to it (names are fixed up front, so the key policy can name them). */
export interface AlarmTopicNames {
  /** Name of the SNS topic, e.g. `phi-db-prod-alarms`. */
  topicName: string;
  /** Prefix of every CloudWatch alarm name, e.g. `phi-db-prod-`. */
  alarmNamePrefix: string;
}

/**
 * CloudWatch alarms and RDS event notifications publish to an SSE-KMS topic only if their service
 * principal may use the topic's key (SNS calls KMS on their behalf). Both are bound to our topic by
 * SNS's encryption context; CloudWatch also to this account's alarms of the stack by `aws:SourceArn`.
 */
export function alarmPublisherStatements(accountId: string, region: string, names: AlarmTopicNames): PolicyStatement[] {
  const partition = partitionOf(region);
  const topicArn = `arn:${partition}:sns:${region}:${accountId}:${names.topicName}`;
  const onlyOurTopic = { "kms:EncryptionContext:aws:sns:topicArn": topicArn };
  return [
    {
      Sid: "CloudWatchAlarmsPublishToAlarmTopic",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Resource: "*",
      Condition: {
        StringEquals: { ...onlyOurTopic, "aws:SourceAccount": accountId },
        ArnLike: { "aws:SourceArn": `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${names.alarmNamePrefix}*` },
      },
    },
    {
      Sid: "RdsEventsPublishToAlarmTopic",
      Effect: "Allow",
      Principal: { Service: "events.rds.amazonaws.com" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Resource: "*",
      Condition: { StringEquals: onlyOurTopic },
    },
  ];
}

export interface KeysArgs {
  /** Environment name, used in descriptions and aliases (`alias/phi-db/<environment>/<purpose>`). */
  environment: string;
  accountId: string;
  region: string;
  drRegion: string;
  /** Provider for the DR region: the DR key is created through it. */
  drProvider: pulumi.ProviderResource;
  /** Log group name prefix the database key serves, e.g. `/aws/rds/instance/phi-db-prod/`. */
  databaseLogGroupPrefix: string;
  /** Log group name prefix the DR key serves (instances restored there), e.g. `/aws/rds/instance/phi-db-prod-`. */
  drDatabaseLogGroupPrefix: string;
  /** The alarm topic (and its alarms) the monitoring key serves. */
  alarmTopic: AlarmTopicNames;
  /** IAM principals that administer (not use) the keys. Defaults to none (account root only). */
  administratorArns?: string[];
  /** KMS deletion window in days. Defaults to the default of phi-db:keyDeletionWindowDays (30). */
  deletionWindowInDays?: number;
  /** Pulumi `protect` on every key. Defaults to false. */
  protect?: boolean;
}

/** The primary keys (database, secrets, buckets, backups) and the DR-region key. */
export class Keys extends pulumi.ComponentResource {
  /** Storage, Performance Insights, snapshots and the RDS log groups. */
  public readonly databaseKeyArn: pulumi.Output<string>;
  /** Secrets Manager: the RDS-managed master secret and the access model's login secrets. */
  public readonly secretsKeyArn: pulumi.Output<string>;
  /** SSE-KMS of the documents, audit-export and access-log buckets. */
  public readonly bucketsKeyArn: pulumi.Output<string>;
  /** The AWS Backup vault. */
  public readonly backupsKeyArn: pulumi.Output<string>;
  /** The alarm topic (SNS): CloudWatch alarms and RDS event notifications. */
  public readonly monitoringKeyArn: pulumi.Output<string>;
  /** DR region: replicated backups, DR vault, bucket replicas; an instance restored there (its master secret, its log groups). */
  public readonly drKeyArn: pulumi.Output<string>;
  public readonly keys: Record<KeyPurpose, aws.kms.Key>;
  public readonly aliases: Record<KeyPurpose, aws.kms.Alias>;

  constructor(name: string, args: KeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:keys:Keys", name, {}, opts);
    const admins = args.administratorArns ?? [];
    const deletionWindowInDays = args.deletionWindowInDays ?? infraDefault("keyDeletionWindowDays");
    const base = { accountId: args.accountId, administratorArns: admins };
    const policies: Record<KeyPurpose, PolicyDocument> = {
      database: keyPolicy({
        ...base,
        region: args.region,
        viaServices: ["rds", "backup"],
        servicePrincipalStatements: [logsServiceStatement(args.accountId, args.region, args.databaseLogGroupPrefix)],
      }),
      // Secrets Manager on behalf of this account's principals: the stack's deployer, RDS for the master
      // secret, and the login-password rotation Lambda, whose execution role the rotation application
      // creates without exposing its ARN (components/rotation.ts), so the key cannot name it; the
      // application's `kmsKeyArn` parameter puts the key into that role's own policy.
      secrets: keyPolicy({ ...base, region: args.region, viaServices: ["secretsmanager"] }),
      buckets: keyPolicy({ ...base, region: args.region, viaServices: ["s3"], servicePrincipalStatements: [s3LogDeliveryStatement(args.accountId)] }),
      backups: keyPolicy({ ...base, region: args.region, viaServices: ["backup"] }),
      monitoring: keyPolicy({ ...base, region: args.region, viaServices: ["sns"], servicePrincipalStatements: alarmPublisherStatements(args.accountId, args.region, args.alarmTopic) }),
      dr: keyPolicy({
        ...base,
        region: args.drRegion,
        viaServices: ["backup", "rds", "s3", "secretsmanager"],
        servicePrincipalStatements: [s3LogDeliveryStatement(args.accountId), logsServiceStatement(args.accountId, args.drRegion, args.drDatabaseLogGroupPrefix)],
      }),
    };
    const descriptions: Record<KeyPurpose, string> = {
      database: "RDS storage, snapshots, Performance Insights and RDS log groups",
      secrets: "Secrets Manager: database master credentials (RDS-managed) and login secrets",
      buckets: "S3 SSE-KMS: documents, audit exports, access logs",
      backups: "AWS Backup vault",
      monitoring: "SNS alarm topic: CloudWatch alarms and RDS event notifications",
      dr: `DR region ${args.drRegion}: replicated backups, DR vault, bucket replicas, restored instances and their secrets and logs`,
    };
    const keys = {} as Record<KeyPurpose, aws.kms.Key>;
    const aliases = {} as Record<KeyPurpose, aws.kms.Alias>;
    for (const purpose of [...KEY_PURPOSES, "dr"] as KeyPurpose[]) {
      const childOpts: pulumi.CustomResourceOptions = { parent: this, protect: args.protect ?? false, ...(purpose === "dr" ? { provider: args.drProvider } : {}) };
      keys[purpose] = new aws.kms.Key(
        `${name}-${purpose}`,
        {
          description: `phi-db ${args.environment}: ${descriptions[purpose]}`,
          keyUsage: "ENCRYPT_DECRYPT",
          customerMasterKeySpec: "SYMMETRIC_DEFAULT",
          enableKeyRotation: true,
          rotationPeriodInDays: 365,
          deletionWindowInDays,
          multiRegion: false,
          bypassPolicyLockoutSafetyCheck: false,
          policy: JSON.stringify(policies[purpose]),
          tags: { Purpose: purpose },
        },
        childOpts,
      );
      aliases[purpose] = new aws.kms.Alias(
        `${name}-${purpose}`,
        { name: `alias/phi-db/${args.environment}/${purpose}`, targetKeyId: keys[purpose].keyId },
        { parent: this, ...(purpose === "dr" ? { provider: args.drProvider } : {}) },
      );
    }
    this.keys = keys;
    this.aliases = aliases;
    this.databaseKeyArn = keys.database.arn;
    this.secretsKeyArn = keys.secrets.arn;
    this.bucketsKeyArn = keys.buckets.arn;
    this.backupsKeyArn = keys.backups.arn;
    this.monitoringKeyArn = keys.monitoring.arn;
    this.drKeyArn = keys.dr.arn;
    this.registerOutputs({
      databaseKeyArn: this.databaseKeyArn,
      secretsKeyArn: this.secretsKeyArn,
      bucketsKeyArn: this.bucketsKeyArn,
      backupsKeyArn: this.backupsKeyArn,
      monitoringKeyArn: this.monitoringKeyArn,
      drKeyArn: this.drKeyArn,
    });
  }
}
