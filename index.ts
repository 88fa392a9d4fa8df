/**
 * phi-db: the Pulumi program. Composes the components in one direction:
 * config -> keys -> network/database/backups/buckets/monitoring -> access model -> schema (migrations).
 *
 * `environment: local` has no AWS: no provider and no AWS resource is created for it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Backups, BackupSettings } from "./components/backups";
import { Buckets } from "./components/buckets";
import { InfraConfig, parseStackConfig, PROJECT, runRules, stackSettings } from "./components/config";
import { Database } from "./components/database";
import { Keys } from "./components/keys";
import { Monitoring } from "./components/monitoring";
import { AccessModelComponent } from "./components/access";
import { Network } from "./components/network";
import { LoginRotation } from "./components/rotation";
import { DatabaseSchema } from "./components/schema";
import { TableGrants } from "./components/table-grants";
import { loadAccessModel, policyGranteeRoles, requestRoles, requiredExtensions, rlsSchemas } from "./migrator/access-model";
import { policyTableGrants } from "./migrator/policy-grants";

const config = parseStackConfig(pulumi.runtime.allConfig(), pulumi.getStack());

export const environment = config.database.environment;

/** Everything the infrastructure exports; nothing secret. */
interface InfraOutputs {
  dbEndpoint: pulumi.Output<string>;
  dbAddress: pulumi.Output<string>;
  dbPort: pulumi.Output<number>;
  dbConnectHost: pulumi.Output<string>;
  dbConnectPort: pulumi.Output<number>;
  dbName: pulumi.Output<string>;
  dbMasterUsername: pulumi.Output<string>;
  dbMasterSecretArn: pulumi.Output<string>;
  dbInstanceIdentifier: pulumi.Output<string>;
  dbInstanceArn: pulumi.Output<string>;
  dbResourceId: pulumi.Output<string>;
  dbSecurityGroupId: pulumi.Output<string>;
  dbSubnetGroupName: pulumi.Output<string>;
  dbParameterGroupName: pulumi.Output<string>;
  /** The DR-region subnet group, security group and parameter group a restore there uses (when phi-db:drVpcId is set). */
  drDbSubnetGroupName?: pulumi.Output<string>;
  drDbSecurityGroupId?: pulumi.Output<string>;
  drDbParameterGroupName?: pulumi.Output<string>;
  /** SNS topic of the CloudWatch alarms and RDS events. */
  alarmTopicArn: pulumi.Output<string>;
  kmsKeyArns: pulumi.Output<Record<string, string>>;
  bucketNames: pulumi.Output<Record<string, string>>;
  backup: pulumi.Output<BackupSettings & { vaultName: string; drVaultName: string | null; drAutomatedBackupsArn: string | null; restoreTestingPlanName: string | null }>;
}

function infrastructure(): { database: Database; network: Network; awsProvider: aws.Provider; secretsKeyArn: pulumi.Output<string>; outputs: InfraOutputs } | undefined {
  const infra = config.infra;
  if (!infra) return undefined;
  const env = config.database.environment;
  const protect = infra.deletionProtection;
  const identifier = `${PROJECT}-${env}`;

  const defaultTags = {
    tags: { Project: PROJECT, Environment: env, DataClassification: "phi", ManagedBy: "pulumi", ...infra.tags },
  };
  const primary = new aws.Provider("aws-primary", { region: infra.region, allowedAccountIds: [infra.accountId], defaultTags });
  const dr = new aws.Provider("aws-dr", { region: infra.drRegion, allowedAccountIds: [infra.accountId], defaultTags });
  const inPrimary = { providers: { aws: primary } };
  const alarmTopic = { topicName: `${identifier}-alarms`, alarmNamePrefix: `${identifier}-` };

  const keys = new Keys(
    "keys",
    {
      environment: env,
      accountId: infra.accountId,
      region: infra.region,
      drRegion: infra.drRegion,
      drProvider: dr,
      databaseLogGroupPrefix: `/aws/rds/instance/${identifier}/`,
      drDatabaseLogGroupPrefix: `/aws/rds/instance/${identifier}-`,
      alarmTopic,
      administratorArns: infra.administratorArns,
      deletionWindowInDays: infra.keyDeletionWindowDays,
      protect,
    },
    inPrimary,
  );

  const network = new Network(
    "network",
    {
      environment: env,
      vpcId: infra.vpcId,
      subnetIds: infra.privateSubnetIds,
      allowedSecurityGroupIds: infra.allowedSecurityGroupIds,
      allowedCidrBlocks: infra.allowedCidrBlocks,
      // the login-password rotation Lambda runs next to the database (components/rotation.ts)
      rotationFunction: { region: infra.region, accountId: infra.accountId, secretsManagerEndpoint: infra.secretsManagerEndpoint },
    },
    inPrimary,
  );
  // The DR region's own subnet group and security group, so a restore there is one command.
  const drNetwork =
    infra.drVpcId === null
      ? undefined
      : new Network(
          "network-dr",
          {
            environment: env,
            vpcId: infra.drVpcId,
            subnetIds: infra.drPrivateSubnetIds,
            allowedSecurityGroupIds: infra.drAllowedSecurityGroupIds,
            allowedCidrBlocks: infra.drAllowedCidrBlocks,
          },
          { providers: { aws: dr } },
        );

  const database = new Database(
    "database",
    {
      environment: env,
      accountId: infra.accountId,
      region: infra.region,
      identifier,
      databaseName: config.database.databaseName,
      engineVersion: infra.engineVersion,
      instanceClass: infra.instanceClass,
      storageType: infra.storageType,
      allocatedStorage: infra.allocatedStorageGb,
      maxAllocatedStorage: infra.maxAllocatedStorageGb,
      multiAz: infra.multiAz,
      masterUsername: infra.masterUsername,
      caCertIdentifier: infra.caCertIdentifier,
      applyImmediately: infra.applyImmediately,
      autoMinorVersionUpgrade: infra.autoMinorVersionUpgrade,
      backupRetentionPeriod: infra.backupRetentionDays,
      backupWindow: infra.backupWindow,
      maintenanceWindow: infra.maintenanceWindow,
      deletionProtection: infra.deletionProtection,
      monitoringInterval: infra.monitoringIntervalSeconds,
      performanceInsightsRetentionPeriod: infra.performanceInsightsRetentionDays,
      logRetentionDays: infra.logRetentionDays,
      masterPasswordRotationDays: infra.masterPasswordRotationDays,
      pgauditLog: infra.pgauditLog,
      pgauditRole: infra.pgauditRole,
      logMinDurationStatementMs: infra.logMinDurationStatementMs,
      idleInTransactionSessionTimeoutMs: infra.idleInTransactionSessionTimeoutMs,
      rdsLogRetentionMinutes: infra.rdsLogRetentionMinutes,
      databaseKeyArn: keys.databaseKeyArn,
      secretsKeyArn: keys.secretsKeyArn,
      subnetGroupName: network.subnetGroupName,
      securityGroupId: network.securityGroupId,
      drParameterGroup: drNetwork ? { provider: dr } : undefined,
      endpointHostOverride: infra.endpointHost,
      endpointPortOverride: infra.endpointPort,
    },
    inPrimary,
  );

  const backups = new Backups(
    "backups",
    {
      environment: env,
      accountId: infra.accountId,
      region: infra.region,
      instanceArn: database.instanceArn,
      backupsKeyArn: keys.backupsKeyArn,
      retentionDays: infra.backupRetentionDays,
      backupWindow: infra.backupWindow,
      snapshotRetentionDays: infra.backupSnapshotRetentionDays,
      dr: infra.crossRegionBackupReplication ? { region: infra.drRegion, provider: dr, kmsKeyArn: keys.drKeyArn } : undefined,
      vaultLockMode: infra.backupVaultLockMode,
      vaultLockChangeableDays: infra.backupVaultLockChangeableDays,
      administratorArns: infra.administratorArns,
      restoreTesting: infra.restoreTesting
        ? {
            schedule: infra.restoreTestingSchedule,
            subnetGroupName: network.subnetGroupName,
            securityGroupId: network.securityGroupId,
            parameterGroupName: database.parameterGroupName,
          }
        : undefined,
      protect,
    },
    inPrimary,
  );

  const monitoring = new Monitoring(
    "monitoring",
    {
      ...alarmTopic,
      environment: env,
      accountId: infra.accountId,
      region: infra.region,
      instanceIdentifier: database.instanceIdentifier,
      parameterGroupName: database.parameterGroupName,
      kmsKeyArn: keys.monitoringKeyArn,
      endpoints: infra.alarmEndpoints,
      thresholds: {
        cpuUtilizationPercent: infra.alarmCpuUtilizationPercent,
        freeStorageSpaceGb: infra.alarmFreeStorageSpaceGb,
        freeableMemoryMb: infra.alarmFreeableMemoryMb,
        swapUsageMb: infra.alarmSwapUsageMb,
        databaseConnections: infra.alarmDatabaseConnections,
        ioLatencyMs: infra.alarmIoLatencyMs,
        diskQueueDepth: infra.alarmDiskQueueDepth,
        maximumUsedTransactionIds: infra.alarmMaximumUsedTransactionIds,
      },
    },
    inPrimary,
  );

  const buckets = new Buckets(
    "buckets",
    {
      environment: env,
      accountId: infra.accountId,
      region: infra.region,
      bucketsKeyArn: keys.bucketsKeyArn,
      replication: infra.bucketReplication ? { region: infra.drRegion, provider: dr, kmsKeyArn: keys.drKeyArn } : undefined,
      forceDestroy: infra.bucketForceDestroy,
      archiveAfterDays: infra.bucketArchiveAfterDays,
      archiveStorageClass: infra.bucketArchiveStorageClass,
      noncurrentVersionExpireDays: infra.noncurrentVersionExpireDays,
      accessLogRetentionDays: infra.logRetentionDays,
      auditObjectLockMode: infra.auditObjectLockMode,
      auditObjectLockDays: infra.auditObjectLockDays,
      protect,
    },
    inPrimary,
  );

  const optional = (o?: pulumi.Output<string>): pulumi.Output<string | null> => (o ? o.apply((v): string | null => v) : pulumi.output(null));
  return {
    database,
    network,
    awsProvider: primary,
    secretsKeyArn: keys.secretsKeyArn,
    outputs: {
      dbEndpoint: database.endpoint,
      dbAddress: database.address,
      dbPort: database.port,
      dbConnectHost: database.connectHost,
      dbConnectPort: database.connectPort,
      dbName: database.dbName,
      dbMasterUsername: database.masterUsername,
      dbMasterSecretArn: database.masterSecretArn,
      dbInstanceIdentifier: database.instanceIdentifier,
      dbInstanceArn: database.instanceArn,
      dbResourceId: database.resourceId,
      dbSecurityGroupId: database.securityGroupId,
      dbSubnetGroupName: database.subnetGroupName,
      dbParameterGroupName: database.parameterGroupName,
      drDbSubnetGroupName: drNetwork?.subnetGroupName,
      drDbSecurityGroupId: drNetwork?.securityGroupId,
      drDbParameterGroupName: database.drParameterGroupName,
      alarmTopicArn: monitoring.topicArn,
      kmsKeyArns: pulumi.all({
        database: keys.databaseKeyArn,
        secrets: keys.secretsKeyArn,
        buckets: keys.bucketsKeyArn,
        backups: keys.backupsKeyArn,
        monitoring: keys.monitoringKeyArn,
        dr: keys.drKeyArn,
      }),
      bucketNames: pulumi
        .all({
          documents: buckets.documentsBucketName,
          auditExports: buckets.auditExportsBucketName,
          accessLogs: buckets.accessLogsBucketName,
          documentsReplica: optional(buckets.documentsReplicaBucketName),
          auditExportsReplica: optional(buckets.auditExportsReplicaBucketName),
        })
        .apply((names) => Object.fromEntries(Object.entries(names).filter(([, v]) => v !== null)) as Record<string, string>),
      backup: pulumi
        .all([backups.vaultName, optional(backups.drVaultName), optional(backups.drReplicationArn), optional(backups.restoreTestingPlanName)])
        .apply(([vaultName, drVaultName, drAutomatedBackupsArn, restoreTestingPlanName]) => ({
          ...backups.settings,
          vaultName,
          drVaultName,
          drAutomatedBackupsArn,
          restoreTestingPlanName,
        })),
    },
  };
}

/**
 * The composed infrastructure (undefined for local). Not exported: a component exported as a stack
 * output would carry every field, the secret master password included. The access model reads
 * `infra.database` (connectHost/connectPort, masterUsername, masterPassword, dbName) below; any
 * further AWS resource must use `infra.awsProvider` (the stacks disable the default aws provider);
 * the login-password rotation uses `infra.network` (where its Lambda runs).
 */
const infra = infrastructure();

export const dbEndpoint = infra?.outputs.dbEndpoint;
export const dbAddress = infra?.outputs.dbAddress;
export const dbPort = infra?.outputs.dbPort;
export const dbConnectHost = infra?.outputs.dbConnectHost;
export const dbConnectPort = infra?.outputs.dbConnectPort;
export const dbName = infra?.outputs.dbName;
export const dbMasterUsername = infra?.outputs.dbMasterUsername;
export const dbMasterSecretArn = infra?.outputs.dbMasterSecretArn;
export const dbInstanceIdentifier = infra?.outputs.dbInstanceIdentifier;
export const dbInstanceArn = infra?.outputs.dbInstanceArn;
export const dbResourceId = infra?.outputs.dbResourceId;
export const dbSecurityGroupId = infra?.outputs.dbSecurityGroupId;
export const dbSubnetGroupName = infra?.outputs.dbSubnetGroupName;
export const dbParameterGroupName = infra?.outputs.dbParameterGroupName;
export const drDbSubnetGroupName = infra?.outputs.drDbSubnetGroupName;
export const drDbSecurityGroupId = infra?.outputs.drDbSecurityGroupId;
export const drDbParameterGroupName = infra?.outputs.drDbParameterGroupName;
export const alarmTopicArn = infra?.outputs.alarmTopicArn;
export const kmsKeyArns = infra?.outputs.kmsKeyArns;
export const bucketNames = infra?.outputs.bucketNames;
export const backup = infra?.outputs.backup;

/**
 * The database layer on RDS: the access model (roles, schemas, extensions, grants as
 * @pulumi/postgresql resources, connected as the master user through the endpoint override when one
 * is set), then the schema resource (migrations, repeatables, checks), which connects as the
 * NOINHERIT `phi_migrator` login and runs everything as the NOLOGIN owner, then one Grant per table
 * privilege the policy files set (so each shows in the stack diff). Every login secret rotates
 * (components/rotation.ts), so the schema resource connects with the password the migrator's secret
 * holds *now*, read at deploy time like the master password, never the initial RandomPassword. The
 * `local` stack has no AWS; its database layer is run by `phi-db up --local` (npm start) with the
 * same engine, without passwords.
 */
function databaseLayer(db: Database, network: Network, infraConfig: InfraConfig, awsProvider: aws.Provider, secretsKeyArn: pulumi.Output<string>) {
  if (!network.rotationNetwork) throw new Error("the primary network places no login-password rotation function");
  const layer = config.database;
  const model = loadAccessModel("sql/access.json");
  const access = new AccessModelComponent(
    "access",
    {
      host: db.address,
      port: db.port,
      endpointOverride: { host: db.connectHost, port: db.connectPort },
      databaseName: db.dbName,
      masterUsername: db.masterUsername,
      masterPassword: db.masterPassword,
      sslRootCert: layer.sslRootCertPath,
      secretsKmsKeyId: secretsKeyArn,
      model,
    },
    { providers: { aws: awsProvider } },
  );
  if (!access.logins["phi_migrator"]) throw new Error("sql/access.json: the schema resource needs the login role phi_migrator (LOGIN, auth password, member of the owner)");
  // Every password login's secret rotates; each rotation's first test run needs the role, its secret
  // and the network path to exist.
  const rotation = new LoginRotation(
    "login-rotation",
    {
      environment: layer.environment,
      region: infraConfig.region,
      secrets: Object.fromEntries(
        Object.entries(access.logins).map(([role, l]) => [role, { secretArn: l.secret.arn, dependsOn: [l.version, access.roles[role]] }]),
      ),
      secretsKmsKeyArn: secretsKeyArn,
      network: network.rotationNetwork,
      rotationDays: infraConfig.loginPasswordRotationDays,
    },
    { providers: { aws: awsProvider } },
  );
  const schema = new DatabaseSchema(
    "schema",
    {
      environment: layer.environment,
      connection: pulumi.all([db.connectHost, db.connectPort, db.dbName, access.currentPassword("phi_migrator")]).apply(([host, port, database, password]) => ({
        host,
        port,
        database,
        user: "phi_migrator",
        password,
        sslmode: "verify-full" as const,
        sslrootcert: layer.sslRootCertPath,
      })),
      rules: runRules(layer),
      ownerRole: model.owner,
      placeholders: layer.placeholders,
      loadSeed: layer.loadSeed,
      lintBlocking: layer.lintBlocking,
      settings: stackSettings(layer),
      checks: {
        managedSchemas: rlsSchemas(model),
        requiredExtensions: requiredExtensions(model, layer.optionalExtensions),
        requestRoles: requestRoles(model),
      },
    },
    { dependsOn: access.ready },
  );
  // Each table privilege the policy files set, as its own Grant (after the schema resource has run them).
  const policies = schema.sqlProject.repeatables.filter((r) => r.kind === "policies");
  const tableGrants = new TableGrants("table-grants", {
    provider: access.provider,
    databaseName: db.dbName,
    schema,
    grants: policyTableGrants(policies, policyGranteeRoles(model)),
  });
  return { access, rotation, schema, tableGrants };
}

const layer = infra && config.infra ? databaseLayer(infra.database, infra.network, config.infra, infra.awsProvider, infra.secretsKeyArn) : undefined;

export const loginSecretArns = layer?.access.secretArns;
export const schemaVersion = layer?.schema.lastVersion;
export const schemaMigrations = layer?.schema.migrations;
