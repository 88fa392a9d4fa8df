/**
 * The S3 buckets: `documents` (PHI files), `audit-exports` (Object Lock), `access-logs` (server
 * access logs of the other two), and, when replication is on, their replicas in the DR region.
 *
 * Every bucket: SSE-KMS under a CMK with S3 Bucket Keys and SSE-C blocked, all four public-access
 * block flags, BucketOwnerEnforced ownership (no ACLs), versioning, a lifecycle (noncurrent
 * versions expire, old objects move to an archive class, stale multipart uploads are aborted) and a
 * policy denying non-TLS / TLS < 1.2 requests and uploads that ask for another encryption type,
 * another key, SSE-KMS without naming our key (S3 would use aws/s3) or customer-provided keys.
 * Uploads without encryption headers are allowed on purpose: they get the bucket default (SSE-KMS
 * under our CMK), S3 log delivery sends no headers, and requiring them would make every client
 * (presigned browser uploads included) send and sign two headers for the same result. So no object
 * can end up unencrypted or under a key other than ours; drift of the default encryption itself is
 * caught by the policy pack (s3-default-encryption-kms) on every preview and by `pulumi refresh`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { infraDefault, partitionOf } from "./config";
import type { PolicyDocument, PolicyStatement } from "./keys";

export const BUCKET_PURPOSES = ["documents", "auditExports", "accessLogs"] as const;
export type BucketPurpose = (typeof BUCKET_PURPOSES)[number];

export interface BucketPolicyArgs {
  bucketArn: string;
  kmsKeyArn: string;
  accountId: string;
  /** For a log bucket: the source buckets whose server access logs S3 may deliver here. */
  logSourceBucketArns?: string[];
}

/** Bucket policy (pure; snapshot-tested). */
export function bucketPolicy(a: BucketPolicyArgs): PolicyDocument {
  const objects = `${a.bucketArn}/*`;
  const statements: PolicyStatement[] = [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [a.bucketArn, objects],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
    {
      Sid: "DenyTlsOlderThan12",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [a.bucketArn, objects],
      Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
    },
    // The three upload statements deny a request whose encryption headers ask for anything but SSE-KMS
    // under our key. A request without encryption headers is NOT denied (each condition block also
    // requires the header to be present: `...IfExists` or a bare `StringNotEquals` would hold for an
    // absent header and deny it): it gets the bucket default, SSE-KMS under our CMK. S3 server access
    // log delivery and UploadPart requests carry no encryption header.
    {
      Sid: "DenyEncryptionOtherThanKms",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:PutObject",
      Resource: objects,
      Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" }, Null: { "s3:x-amz-server-side-encryption": "false" } },
    },
    {
      Sid: "DenyWrongKmsKey",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:PutObject",
      Resource: objects,
      Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": a.kmsKeyArn }, Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "false" } },
    },
    {
      // `x-amz-server-side-encryption: aws:kms` without a key id makes S3 use the AWS-managed aws/s3
      // key, not the bucket default.
      Sid: "DenyKmsWithoutOurKeyId",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:PutObject",
      Resource: objects,
      Condition: { StringEquals: { "s3:x-amz-server-side-encryption": "aws:kms" }, Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "true" } },
    },
    {
      Sid: "DenyCustomerProvidedKeys",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:PutObject",
      Resource: objects,
      Condition: { Null: { "s3:x-amz-server-side-encryption-customer-algorithm": "false" } },
    },
  ];
  if (a.logSourceBucketArns && a.logSourceBucketArns.length > 0) {
    statements.push({
      Sid: "AllowS3ServerAccessLogDelivery",
      Effect: "Allow",
      Principal: { Service: "logging.s3.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: objects,
      Condition: {
        ArnLike: { "aws:SourceArn": [...a.logSourceBucketArns].sort() },
        StringEquals: { "aws:SourceAccount": a.accountId },
      },
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

export interface ReplicationPolicyArgs {
  sourceBucketArns: string[];
  destinationBucketArns: string[];
  sourceKmsKeyArn: string;
  destinationKmsKeyArn: string;
  region: string;
  drRegion: string;
}

/** Permissions of the S3 replication role (pure; snapshot-tested). */
export function replicationPolicy(a: ReplicationPolicyArgs): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadReplicationConfiguration", Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: a.sourceBucketArns },
      {
        Sid: "ReadSourceVersions",
        Effect: "Allow",
        Action: ["s3:GetObjectLegalHold", "s3:GetObjectRetention", "s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging"],
        Resource: a.sourceBucketArns.map((b) => `${b}/*`),
      },
      {
        Sid: "WriteReplicas",
        Effect: "Allow",
        Action: ["s3:ObjectOwnerOverrideToBucketOwner", "s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"],
        Resource: a.destinationBucketArns.map((b) => `${b}/*`),
      },
      {
        Sid: "DecryptSource",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: a.sourceKmsKeyArn,
        Condition: { StringLike: { "kms:ViaService": `s3.${a.region}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": a.sourceBucketArns.map((b) => `${b}/*`) } },
      },
      {
        Sid: "EncryptReplicas",
        Effect: "Allow",
        Action: ["kms:Encrypt", "kms:GenerateDataKey"],
        Resource: a.destinationKmsKeyArn,
        Condition: { StringLike: { "kms:ViaService": `s3.${a.drRegion}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": a.destinationBucketArns.map((b) => `${b}/*`) } },
      },
    ],
  };
}

interface HardenedBucketArgs {
  kmsKeyArn: pulumi.Input<string>;
  accountId: string;
  forceDestroy: boolean;
  protect: boolean;
  /** Server access logs go to this bucket (same region). */
  logBucket?: aws.s3.Bucket;
  /** This is a log bucket for these sources. */
  logSources?: pulumi.Input<string>[];
  objectLock?: { mode: string; days: number };
  archiveAfterDays: number;
  archiveStorageClass: string;
  noncurrentVersionExpireDays: number;
  /** Expire current objects after this many days (log buckets). */
  expireAfterDays?: number;
  provider?: pulumi.ProviderResource;
}

export interface BucketsArgs {
  environment: string;
  accountId: string;
  region: string;
  /** Key of the primary buckets. */
  bucketsKeyArn: pulumi.Input<string>;
  /** Replicate documents and audit exports to the DR region. Defaults to no replication. */
  replication?: { region: string; provider: pulumi.ProviderResource; kmsKeyArn: pulumi.Input<string> };
  /** Let `pulumi destroy` empty the buckets. Defaults to false. */
  forceDestroy?: boolean;
  /** Days until objects move to the archive class. Defaults to the default of phi-db:bucketArchiveAfterDays (90). */
  archiveAfterDays?: number;
  /** Archive storage class. Defaults to the default of phi-db:bucketArchiveStorageClass ("GLACIER_IR"). */
  archiveStorageClass?: string;
  /** Days until noncurrent versions expire. Defaults to the default of phi-db:noncurrentVersionExpireDays (365). */
  noncurrentVersionExpireDays?: number;
  /** Days access logs are kept. Defaults to the default of phi-db:logRetentionDays (2192). */
  accessLogRetentionDays?: number;
  /** Object Lock mode of the audit-export bucket. Defaults to the default of phi-db:auditObjectLockMode ("COMPLIANCE"). */
  auditObjectLockMode?: string;
  /** Object Lock retention of the audit-export bucket. Defaults to the default of phi-db:auditObjectLockDays (2192). */
  auditObjectLockDays?: number;
  /** Pulumi `protect` on every bucket (access logs are audit evidence too). Defaults to false. */
  protect?: boolean;
}

export class Buckets extends pulumi.ComponentResource {
  public readonly documentsBucketName: pulumi.Output<string>;
  public readonly auditExportsBucketName: pulumi.Output<string>;
  public readonly accessLogsBucketName: pulumi.Output<string>;
  public readonly documentsReplicaBucketName?: pulumi.Output<string>;
  public readonly auditExportsReplicaBucketName?: pulumi.Output<string>;
  public readonly buckets: Record<BucketPurpose, aws.s3.Bucket>;

  constructor(name: string, args: BucketsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:buckets:Buckets", name, {}, opts);
    const common = {
      accountId: args.accountId,
      forceDestroy: args.forceDestroy ?? false,
      archiveAfterDays: args.archiveAfterDays ?? infraDefault("bucketArchiveAfterDays"),
      archiveStorageClass: args.archiveStorageClass ?? infraDefault("bucketArchiveStorageClass"),
      noncurrentVersionExpireDays: args.noncurrentVersionExpireDays ?? infraDefault("noncurrentVersionExpireDays"),
    };
    const objectLock = { mode: args.auditObjectLockMode ?? infraDefault("auditObjectLockMode"), days: args.auditObjectLockDays ?? infraDefault("auditObjectLockDays") };
    const logRetention = args.accessLogRetentionDays ?? infraDefault("logRetentionDays");

    // Physical names: `phi-db-<env>-<purpose>-<unique suffix>`; logical names: `<component>-<purpose>`.
    const physical = `phi-db-${args.environment}`;
    const arnPattern = (region: string, namePrefix: string) => `arn:${partitionOf(region)}:s3:::${namePrefix}-*`;
    // Log bucket first; its policy admits log delivery from this stack's buckets by ARN pattern.
    const accessLogs = this.hardenedBucket(`${name}-access-logs`, `${physical}-access-logs`, {
      ...common,
      kmsKeyArn: args.bucketsKeyArn,
      protect: args.protect ?? false,
      logSources: [arnPattern(args.region, physical)],
      expireAfterDays: logRetention,
    });
    const documents = this.hardenedBucket(`${name}-documents`, `${physical}-documents`, {
      ...common,
      kmsKeyArn: args.bucketsKeyArn,
      protect: args.protect ?? false,
      logBucket: accessLogs,
    });
    const auditExports = this.hardenedBucket(`${name}-audit-exports`, `${physical}-audit-exports`, {
      ...common,
      kmsKeyArn: args.bucketsKeyArn,
      protect: args.protect ?? false,
      logBucket: accessLogs,
      objectLock,
    });
    this.buckets = { documents, auditExports, accessLogs };

    if (args.replication) {
      const rep = args.replication;
      const drPhysical = `${physical}-dr`;
      const drLogs = this.hardenedBucket(`${name}-dr-access-logs`, `${drPhysical}-access-logs`, {
        ...common,
        kmsKeyArn: rep.kmsKeyArn,
        protect: args.protect ?? false,
        logSources: [arnPattern(rep.region, drPhysical)],
        expireAfterDays: logRetention,
        provider: rep.provider,
      });
      const documentsReplica = this.hardenedBucket(`${name}-dr-documents`, `${drPhysical}-documents`, {
        ...common,
        kmsKeyArn: rep.kmsKeyArn,
        protect: args.protect ?? false,
        logBucket: drLogs,
        provider: rep.provider,
      });
      const auditReplica = this.hardenedBucket(`${name}-dr-audit-exports`, `${drPhysical}-audit-exports`, {
        ...common,
        kmsKeyArn: rep.kmsKeyArn,
        protect: args.protect ?? false,
        logBucket: drLogs,
        objectLock,
        provider: rep.provider,
      });
      const role = new aws.iam.Role(
        `${name}-replication`,
        {
          description: `phi-db ${args.environment}: S3 replication to ${rep.region}`,
          assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "s3.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": args.accountId } },
              },
            ],
          }),
        },
        { parent: this },
      );
      const policy = new aws.iam.RolePolicy(
        `${name}-replication`,
        {
          role: role.id,
          policy: pulumi
            .all([documents.arn, auditExports.arn, documentsReplica.arn, auditReplica.arn, args.bucketsKeyArn, rep.kmsKeyArn])
            .apply(([d, a, dr, ar, k, drk]) =>
              JSON.stringify(replicationPolicy({ sourceBucketArns: [d, a], destinationBucketArns: [dr, ar], sourceKmsKeyArn: k, destinationKmsKeyArn: drk, region: args.region, drRegion: rep.region })),
            ),
        },
        { parent: this },
      );
      const replicate = (purpose: string, source: aws.s3.Bucket, destination: aws.s3.Bucket) =>
        new aws.s3.BucketReplicationConfig(
          `${name}-${purpose}-replication`,
          {
            bucket: source.id,
            role: role.arn,
            rules: [
              {
                id: `${purpose}-to-${rep.region}`,
                status: "Enabled",
                filter: {},
                // Deletes stay local: a delete marker in the primary never hides the DR copy.
                deleteMarkerReplication: { status: "Disabled" },
                sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
                destination: {
                  bucket: destination.arn,
                  storageClass: "STANDARD",
                  encryptionConfiguration: { replicaKmsKeyId: rep.kmsKeyArn },
                },
              },
            ],
          },
          { parent: this, dependsOn: [policy, ...this.versioningOf(source), ...this.versioningOf(destination)] },
        );
      replicate("documents", documents, documentsReplica);
      replicate("audit-exports", auditExports, auditReplica);
      this.documentsReplicaBucketName = documentsReplica.bucket;
      this.auditExportsReplicaBucketName = auditReplica.bucket;
    }

    this.documentsBucketName = documents.bucket;
    this.auditExportsBucketName = auditExports.bucket;
    this.accessLogsBucketName = accessLogs.bucket;
    this.registerOutputs({
      documentsBucketName: this.documentsBucketName,
      auditExportsBucketName: this.auditExportsBucketName,
      accessLogsBucketName: this.accessLogsBucketName,
      documentsReplicaBucketName: this.documentsReplicaBucketName,
      auditExportsReplicaBucketName: this.auditExportsReplicaBucketName,
    });
  }

  private readonly versionings = new Map<aws.s3.Bucket, aws.s3.BucketVersioning>();

  private versioningOf(b: aws.s3.Bucket): aws.s3.BucketVersioning[] {
    const v = this.versionings.get(b);
    return v ? [v] : [];
  }

  /** One bucket with every control listed in the file header. */
  private hardenedBucket(name: string, physicalPrefix: string, a: HardenedBucketArgs): aws.s3.Bucket {
    const o = { parent: this, ...(a.provider ? { provider: a.provider } : {}) };
    const bucket = new aws.s3.Bucket(
      name,
      { bucketPrefix: `${physicalPrefix}-`, forceDestroy: a.forceDestroy, objectLockEnabled: a.objectLock ? true : undefined },
      { ...o, protect: a.protect },
    );
    const pab = new aws.s3.BucketPublicAccessBlock(
      name,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      o,
    );
    new aws.s3.BucketOwnershipControls(name, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, o);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      name,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: a.kmsKeyArn },
            bucketKeyEnabled: true,
            blockedEncryptionTypes: ["SSE-C"],
          },
        ],
      },
      o,
    );
    const versioning = new aws.s3.BucketVersioning(name, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, o);
    this.versionings.set(bucket, versioning);
    new aws.s3.BucketPolicy(
      name,
      {
        bucket: bucket.id,
        policy: pulumi
          .all([bucket.arn, a.kmsKeyArn, pulumi.all(a.logSources ?? [])])
          .apply(([arn, key, sources]) => JSON.stringify(bucketPolicy({ bucketArn: arn, kmsKeyArn: key, accountId: a.accountId, logSourceBucketArns: sources }))),
      },
      // The public access block first: a policy put before it could briefly be evaluated without it.
      { ...o, dependsOn: [pab] },
    );
    const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
      {
        id: "expire-noncurrent-versions",
        status: "Enabled",
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: a.noncurrentVersionExpireDays },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      },
    ];
    // Archive old objects (pointless, so skipped, when a log bucket expires them sooner).
    if (a.expireAfterDays === undefined || a.archiveAfterDays < a.expireAfterDays) {
      rules.push({ id: "archive-old-objects", status: "Enabled", filter: {}, transitions: [{ days: a.archiveAfterDays, storageClass: a.archiveStorageClass }] });
    }
    if (a.expireAfterDays !== undefined) {
      rules.push({ id: "expire-old-logs", status: "Enabled", filter: {}, expiration: { days: a.expireAfterDays } });
    }
    new aws.s3.BucketLifecycleConfiguration(name, { bucket: bucket.id, rules }, { ...o, dependsOn: [versioning] });
    if (a.logBucket) {
      new aws.s3.BucketLogging(
        name,
        {
          bucket: bucket.id,
          targetBucket: a.logBucket.id,
          targetPrefix: `${physicalPrefix}/`,
          targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
        },
        o,
      );
    }
    if (a.objectLock) {
      new aws.s3.BucketObjectLockConfiguration(
        name,
        { bucket: bucket.id, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: a.objectLock.mode, days: a.objectLock.days } } },
        { ...o, dependsOn: [versioning] },
      );
    }
    return bucket;
  }
}
