/**
 * Backups beyond the instance's own automated backups (whose retention the Database component
 * sets: that is RDS's WAL archiving, transaction logs every 5 minutes, restorable to any second of
 * the window):
 *
 * - cross-region replication of the automated backups (PITR in the DR region) under the DR key;
 * - an AWS Backup vault under the backups CMK with a continuous-backup (PITR) rule and a daily
 *   snapshot rule (copied to a DR-region vault), vault lock and a deny-deletion vault policy;
 * - AWS Backup restore testing: scheduled real restores of the latest recovery point, brought up in
 *   the instance's subnet group and security group and with its parameter group (the restored copy
 *   holds PHI: TLS only and pgaudit there too), deleted again after RESTORE_TEST_VALIDATION_HOURS.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { infraDefault, partitionOf } from "./config";
import type { PolicyDocument } from "./keys";

/** Hours a restore-test copy of the database (PHI) lives before AWS Backup deletes it. */
export const RESTORE_TEST_VALIDATION_HOURS = 1;

/** Actions the vault access policy denies (AWS Config: backup-recovery-point-manual-deletion-disabled). */
export const VAULT_DENIED_ACTIONS = ["backup:DeleteRecoveryPoint", "backup:PutBackupVaultAccessPolicy", "backup:UpdateRecoveryPointLifecycle"];

/**
 * Vault access policy denying manual deletion or shortening of recovery points to everyone but the
 * named administrators (pure; snapshot-tested). Changing the policy itself therefore needs an
 * administrator.
 */
export function vaultDenyDeletionPolicy(vaultArn: string, administratorArns: string[]): PolicyDocument {
  const statement: Record<string, unknown> = {
    Sid: "DenyRecoveryPointDeletion",
    Effect: "Deny",
    Principal: { AWS: "*" },
    Action: VAULT_DENIED_ACTIONS,
    Resource: vaultArn,
  };
  if (administratorArns.length > 0) statement.Condition = { ArnNotLike: { "aws:PrincipalArn": [...administratorArns].sort() } };
  return { Version: "2012-10-17", Statement: [statement] };
}

/** Trust policy of the AWS Backup service role (confused-deputy guarded). */
export function backupAssumeRolePolicy(accountId: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "backup.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      },
    ],
  });
}

/**
 * Daily AWS Backup snapshot schedule: two hours after the RDS backup window ends, so the two never
 * compete (AWS Backup waits for an RDS backup in progress).
 */
export function snapshotSchedule(backupWindow: string): string {
  const end = backupWindow.split("-")[1];
  const hour = (Number(end.slice(0, 2)) + 2) % 24;
  return `cron(${Number(end.slice(3, 5))} ${hour} ? * * *)`;
}

export interface BackupsArgs {
  environment: string;
  accountId: string;
  region: string;
  /** The protected instance. */
  instanceArn: pulumi.Input<string>;
  /** Vault key (primary region). */
  backupsKeyArn: pulumi.Input<string>;
  /** Continuous backup (PITR) retention; the same as the instance's. Defaults to the default of phi-db:backupRetentionDays (35). */
  retentionDays?: number;
  /** RDS backup window, to place the daily snapshot after it. Defaults to the default of phi-db:backupWindow. */
  backupWindow?: string;
  /** Daily snapshot retention. Defaults to the default of phi-db:backupSnapshotRetentionDays (90). */
  snapshotRetentionDays?: number;
  /** DR replication: automated-backup replication plus snapshot copies into a DR vault. Defaults to none. */
  dr?: { region: string; provider: pulumi.ProviderResource; kmsKeyArn: pulumi.Input<string> };
  /** Vault lock. Defaults to the default of phi-db:backupVaultLockMode ("compliance"). */
  vaultLockMode?: "compliance" | "governance" | "none";
  /** Compliance-lock grace period. Defaults to the default of phi-db:backupVaultLockChangeableDays (3). */
  vaultLockChangeableDays?: number;
  /** Principals exempt from the deny-deletion vault policy. Defaults to none. */
  administratorArns?: string[];
  /**
   * Scheduled restore tests: the restored copy comes up in the instance's subnet group and security
   * group, with the instance's parameter group (`parameterGroupName`: without it the copy of the PHI
   * would run on RDS's default group, without rds.force_ssl, pgaudit or our logging settings).
   * Defaults to none.
   */
  restoreTesting?: { schedule: string; subnetGroupName: pulumi.Input<string>; securityGroupId: pulumi.Input<string>; parameterGroupName: pulumi.Input<string> };
  /** Pulumi `protect` on the vaults. Defaults to false. */
  protect?: boolean;
}

/** Facts an operator needs to restore (exported as a stack output). */
export interface BackupSettings {
  pitrRetentionDays: number;
  pitrGranularity: string;
  backupWindow: string;
  snapshotRetentionDays: number;
  snapshotSchedule: string;
  drRegion: string | null;
  drPitrRetentionDays: number | null;
  vaultLockMode: string;
  restoreTesting: boolean;
}

export class Backups extends pulumi.ComponentResource {
  public readonly vaultName: pulumi.Output<string>;
  public readonly vaultArn: pulumi.Output<string>;
  public readonly drVaultName?: pulumi.Output<string>;
  public readonly planId: pulumi.Output<string>;
  /** ARN of the replicated automated backups in the DR region (when DR is on). */
  public readonly drReplicationArn?: pulumi.Output<string>;
  public readonly restoreTestingPlanName?: pulumi.Output<string>;
  public readonly settings: BackupSettings;

  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:backups:Backups", name, {}, opts);
    const partition = partitionOf(args.region);
    const retentionDays = args.retentionDays ?? infraDefault("backupRetentionDays");
    const snapshotRetentionDays = args.snapshotRetentionDays ?? infraDefault("backupSnapshotRetentionDays");
    const backupWindow = args.backupWindow ?? infraDefault("backupWindow");
    const lockMode = args.vaultLockMode ?? infraDefault("backupVaultLockMode");
    const changeableDays = args.vaultLockChangeableDays ?? infraDefault("backupVaultLockChangeableDays");
    const admins = args.administratorArns ?? [];
    const recoveryPointTags = { Project: "phi-db", Environment: args.environment };

    // Cross-region PITR: RDS copies snapshots and transaction logs to the DR region.
    if (args.dr) {
      const replication = new aws.rds.InstanceAutomatedBackupsReplication(
        `${name}-dr-pitr`,
        { sourceDbInstanceArn: args.instanceArn, kmsKeyId: args.dr.kmsKeyArn, retentionPeriod: retentionDays },
        { parent: this, provider: args.dr.provider },
      );
      this.drReplicationArn = replication.id;
    }

    const lockVault = (vaultName: pulumi.Output<string>, vaultArn: pulumi.Output<string>, suffix: string, provider?: pulumi.ProviderResource) => {
      if (lockMode === "none") return;
      const popts = { parent: this, ...(provider ? { provider } : {}) };
      new aws.backup.VaultLockConfiguration(
        `${name}-${suffix}-lock`,
        {
          backupVaultName: vaultName,
          minRetentionDays: Math.min(retentionDays, snapshotRetentionDays),
          // changeableForDays present = compliance mode (immutable once the grace period ends).
          changeableForDays: lockMode === "compliance" ? changeableDays : undefined,
        },
        popts,
      );
      new aws.backup.VaultPolicy(
        `${name}-${suffix}-deny-deletion`,
        { backupVaultName: vaultName, policy: vaultArn.apply((arn) => JSON.stringify(vaultDenyDeletionPolicy(arn, admins))) },
        popts,
      );
    };

    const vault = new aws.backup.Vault(
      `${name}-vault`,
      { kmsKeyArn: args.backupsKeyArn, forceDestroy: false },
      { parent: this, protect: args.protect ?? false },
    );
    lockVault(vault.name, vault.arn, "vault");

    let drVault: aws.backup.Vault | undefined;
    if (args.dr) {
      drVault = new aws.backup.Vault(
        `${name}-dr-vault`,
        { kmsKeyArn: args.dr.kmsKeyArn, forceDestroy: false },
        { parent: this, provider: args.dr.provider, protect: args.protect ?? false },
      );
      lockVault(drVault.name, drVault.arn, "dr-vault", args.dr.provider);
    }

    const role = new aws.iam.Role(
      `${name}-role`,
      { description: `phi-db ${args.environment}: AWS Backup backups and restore tests`, assumeRolePolicy: backupAssumeRolePolicy(args.accountId) },
      { parent: this },
    );
    const attachments = ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"].map(
      (p) => new aws.iam.RolePolicyAttachment(`${name}-${p}`, { role: role.name, policyArn: `arn:${partition}:iam::aws:policy/service-role/${p}` }, { parent: this }),
    );

    const schedule = snapshotSchedule(backupWindow);
    const plan = new aws.backup.Plan(
      `${name}-plan`,
      {
        rules: [
          {
            ruleName: "continuous-pitr",
            targetVaultName: vault.name,
            enableContinuousBackup: true,
            schedule,
            startWindow: 60,
            completionWindow: 360,
            lifecycle: { deleteAfter: retentionDays },
            recoveryPointTags,
          },
          {
            ruleName: "daily-snapshot",
            targetVaultName: vault.name,
            schedule,
            startWindow: 60,
            completionWindow: 360,
            lifecycle: { deleteAfter: snapshotRetentionDays },
            recoveryPointTags,
            copyActions: drVault ? [{ destinationVaultArn: drVault.arn, lifecycle: { deleteAfter: snapshotRetentionDays } }] : undefined,
          },
        ],
      },
      { parent: this },
    );
    new aws.backup.Selection(
      `${name}-rds`,
      { name: `phi-db-${args.environment}-rds`, planId: plan.id, iamRoleArn: role.arn, resources: [args.instanceArn] },
      { parent: this, dependsOn: attachments },
    );

    if (args.restoreTesting) {
      const rt = args.restoreTesting;
      const parameterGroupName = rt.parameterGroupName;
      const testingPlan = new aws.backup.RestoreTestingPlan(
        `${name}-restore-testing`,
        {
          // Only letters, digits and underscores are allowed in these names.
          name: `phi_db_${args.environment}_restore_test`,
          scheduleExpression: rt.schedule,
          scheduleExpressionTimezone: "Etc/UTC",
          startWindowHours: 24,
          recoveryPointSelection: {
            algorithm: "LATEST_WITHIN_WINDOW",
            includeVaults: [vault.arn],
            recoveryPointTypes: ["CONTINUOUS", "SNAPSHOT"],
            selectionWindowDays: 7,
          },
        },
        { parent: this },
      );
      new aws.backup.RestoreTestingSelection(
        `${name}-restore-testing-rds`,
        {
          name: "phi_db_rds",
          restoreTestingPlanName: testingPlan.name,
          protectedResourceType: "RDS",
          protectedResourceArns: [args.instanceArn],
          iamRoleArn: role.arn,
          // Restore into the instance's own private subnets and security group (never the default VPC)
          // and with its parameter group (TLS only, pgaudit, no bind values in logs), not the default one.
          // Keys: AWS Backup's "Restore testing inferred metadata" page (docs.aws.amazon.com/aws-backup/
          // latest/devguide/restore-testing-inferred-metadata.html) lists the overridable keys per
          // resource type ("Amazon RDS instances" has a row of its own) and says the keys are not case
          // sensitive; they are the RestoreDBInstance* parameter names (DBSubnetGroupName,
          // VpcSecurityGroupIds, DBParameterGroupName), written lower-case here (case does not matter).
          // The stored copy of that page consulted for this code did not show the RDS row itself, so
          // `dbparametergroupname` rests on the API parameter name, not on the row: check the first
          // restore job (`aws backup get-restore-job-metadata`; before any job,
          // `aws backup get-restore-testing-inferred-metadata`). vpcsecuritygroupids takes a JSON list.
          restoreMetadataOverrides: {
            dbsubnetgroupname: rt.subnetGroupName,
            vpcsecuritygroupids: pulumi.output(rt.securityGroupId).apply((sg) => JSON.stringify([sg])),
            dbparametergroupname: parameterGroupName,
          },
          // The restored copy holds PHI: AWS Backup deletes it when this window ends.
          validationWindowHours: RESTORE_TEST_VALIDATION_HOURS,
        },
        { parent: this, dependsOn: attachments },
      );
      this.restoreTestingPlanName = testingPlan.name;
    }

    this.vaultName = vault.name;
    this.vaultArn = vault.arn;
    this.drVaultName = drVault?.name;
    this.planId = plan.id;
    this.settings = {
      pitrRetentionDays: retentionDays,
      pitrGranularity: "any second within the window; transaction logs are archived every 5 minutes",
      backupWindow,
      snapshotRetentionDays,
      snapshotSchedule: schedule,
      drRegion: args.dr?.region ?? null,
      drPitrRetentionDays: args.dr ? retentionDays : null,
      vaultLockMode: lockMode,
      restoreTesting: args.restoreTesting !== undefined,
    };
    this.registerOutputs({
      vaultName: this.vaultName,
      vaultArn: this.vaultArn,
      drVaultName: this.drVaultName,
      planId: this.planId,
      drReplicationArn: this.drReplicationArn,
      restoreTestingPlanName: this.restoreTestingPlanName,
      settings: this.settings,
    });
  }
}
