/**
 * The RDS PostgreSQL instance with its parameter group (and the same group in the DR region when a
 * DR network exists), Enhanced Monitoring role, CloudWatch log groups (created here, before the
 * instance, so they carry our retention and KMS key) and the master credentials.
 *
 * Master credentials are RDS-managed (`manageMasterUserPassword`): RDS generates the password, keeps
 * it in a Secrets Manager secret under the secrets CMK and rotates it (managed rotation, no Lambda) on
 * the schedule of a SecretRotation on that secret. The program never generates the password; it reads
 * the current one at deploy time (`masterPassword`, for the access model's provider), so a rotation
 * between two deployments never breaks `pulumi up`. It is a Pulumi secret wherever it appears, and no
 * output of this component carries it in plaintext.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { infraDefault, parameterGroupFamily, partitionOf } from "./config";
import { POSTGRES_PORT } from "./network";

export interface PgParameter {
  name: string;
  value: string;
  applyMethod: "immediate" | "pending-reboot";
}

export interface ParameterOptions {
  /** Database pg_cron runs its jobs in (`cron.database_name`). */
  databaseName: string;
  pgauditLog: string;
  pgauditRole: string;
  logMinDurationStatementMs: number;
  idleInTransactionSessionTimeoutMs: number;
  rdsLogRetentionMinutes: number;
}

/** Static parameters: RDS only accepts `pending-reboot` for them. */
export const STATIC_PARAMETERS = new Set(["shared_preload_libraries", "cron.database_name", "pg_stat_statements.max", "track_activity_query_size"]);

/** Libraries loaded at server start (the extensions the access model declares need them). */
export const PRELOAD_LIBRARIES = ["pg_stat_statements", "pgaudit", "pg_cron"];

/**
 * The parameter group's parameters (pure; snapshot-tested). Sorted by name so the rendered list,
 * and therefore the diff a reviewer sees, is stable.
 */
export function postgresParameters(o: ParameterOptions): PgParameter[] {
  const values: Record<string, string> = {
    // transport and authentication
    "rds.force_ssl": "1",
    ssl_min_protocol_version: "TLSv1.2",
    password_encryption: "scram-sha-256",
    // extensions loaded at start
    shared_preload_libraries: PRELOAD_LIBRARIES.join(","),
    "cron.database_name": o.databaseName,
    "pg_stat_statements.max": "10000",
    "pg_stat_statements.track": "all",
    track_activity_query_size: "4096",
    track_io_timing: "1",
    // audit (pgaudit): session classes + object auditing through a role; never log bind values
    "pgaudit.log": o.pgauditLog,
    "pgaudit.role": o.pgauditRole,
    "pgaudit.log_catalog": "0",
    "pgaudit.log_parameter": "0",
    "pgaudit.log_relation": "1",
    // logging: who connected, slow statements, waits; no bind parameters (PHI, keys) in any log line
    log_connections: "1",
    log_disconnections: "1",
    log_min_duration_statement: String(o.logMinDurationStatementMs),
    log_parameter_max_length: "0",
    log_parameter_max_length_on_error: "0",
    log_lock_waits: "1",
    log_temp_files: "0",
    log_autovacuum_min_duration: "10000",
    "rds.log_retention_period": String(o.rdsLogRetentionMinutes),
    // sessions
    idle_in_transaction_session_timeout: String(o.idleInTransactionSessionTimeoutMs),
  };
  return Object.keys(values)
    .sort()
    .map((name) => ({ name, value: values[name], applyMethod: STATIC_PARAMETERS.has(name) ? "pending-reboot" : "immediate" }));
}

/** Trust policy of the Enhanced Monitoring role (confused-deputy guarded). */
export function monitoringAssumeRolePolicy(accountId: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "monitoring.rds.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      },
    ],
  });
}

/** The parameter group's arguments (the primary group and its DR-region twin are the same group). */
export function parameterGroupArgs(environment: string, engineVersion: string, o: ParameterOptions): aws.rds.ParameterGroupArgs {
  return {
    family: parameterGroupFamily(engineVersion),
    description: `phi-db ${environment}: TLS only, pgaudit, pg_stat_statements, pg_cron, no parameters in logs`,
    parameters: postgresParameters(o),
  };
}

/**
 * The password in a database secret's JSON (`{…, "password": …}`); `what` names the secret in errors.
 * Errors never quote the secret's text (a JSON parse error would).
 */
export function passwordInSecret(secretString: string, what: string): string {
  let v: { password?: unknown } | null;
  try {
    v = JSON.parse(secretString) as { password?: unknown } | null;
  } catch {
    throw new Error(`${what} does not hold JSON`);
  }
  const password = v?.password;
  if (typeof password !== "string" || password === "") throw new Error(`${what} holds no password`);
  return password;
}

/** The current password in an RDS-managed master secret (`{"username": …, "password": …}`). */
export function passwordOfManagedSecret(secretString: string): string {
  return passwordInSecret(secretString, "the RDS-managed master secret");
}

/**
 * ARN of the instance's RDS-managed master secret. A preview of the switch from a program-generated
 * password (an instance whose secret RDS has not created yet) sees none: the ARN is then unknown, as
 * for a new instance. After an update RDS always reports it.
 */
export function managedSecretArn(identifier: string, secrets: Array<{ secretArn?: string }> | undefined, preview: boolean): string {
  const arn = secrets?.[0]?.secretArn;
  if (arn) return arn;
  if (preview) return pulumi.unknown as unknown as string;
  throw new Error(`${identifier}: RDS reported no master user secret although manageMasterUserPassword is on`);
}

/** CloudWatch log exports of the instance; each gets a log group created here first. */
export const LOG_EXPORTS = ["postgresql", "upgrade"];

export interface DatabaseArgs extends ParameterOptions {
  environment: string;
  accountId: string;
  region: string;
  /** Instance identifier; also names the log groups `/aws/rds/instance/<identifier>/<export>`. */
  identifier: string;
  /** Engine version, major only or pinned. Defaults to the default of phi-db:engineVersion ("17"). */
  engineVersion?: string;
  /** Instance class. Defaults to the default of phi-db:instanceClass. */
  instanceClass?: aws.rds.InstanceArgs["instanceClass"];
  /** Storage type. Defaults to the default of phi-db:storageType ("gp3"). */
  storageType?: aws.rds.InstanceArgs["storageType"];
  /** Initial storage in GiB. Defaults to the default of phi-db:allocatedStorageGb. */
  allocatedStorage?: number;
  /** Autoscaling ceiling in GiB. Defaults to the default of phi-db:maxAllocatedStorageGb. */
  maxAllocatedStorage?: number;
  /** Multi-AZ standby. Defaults to true. */
  multiAz?: boolean;
  /** Master user. Defaults to the default of phi-db:masterUsername. */
  masterUsername?: string;
  /** CA pinned on the instance. Defaults to the default of phi-db:caCertIdentifier. */
  caCertIdentifier?: string;
  /** Apply changes immediately. Defaults to false (maintenance window). */
  applyImmediately?: boolean;
  /** Auto minor version upgrade. Defaults to true. */
  autoMinorVersionUpgrade?: boolean;
  /** Backup (PITR) retention in days. Defaults to the default of phi-db:backupRetentionDays (35). */
  backupRetentionPeriod?: number;
  /** Daily backup window (UTC). Defaults to the default of phi-db:backupWindow. */
  backupWindow?: string;
  /** Weekly maintenance window (UTC). Defaults to the default of phi-db:maintenanceWindow. */
  maintenanceWindow?: string;
  /** RDS deletion protection (and Pulumi `protect`). Defaults to true. */
  deletionProtection?: boolean;
  /** Enhanced Monitoring interval in seconds. Defaults to the default of phi-db:monitoringIntervalSeconds (60). */
  monitoringInterval?: number;
  /** Performance Insights retention in days. Defaults to the default of phi-db:performanceInsightsRetentionDays (7). */
  performanceInsightsRetentionPeriod?: number;
  /** Retention of the RDS log groups in days. Defaults to the default of phi-db:logRetentionDays (2192). */
  logRetentionDays?: number;
  /** Days between rotations of the RDS-managed master password. Defaults to the default of phi-db:masterPasswordRotationDays (7). */
  masterPasswordRotationDays?: number;
  /** Storage, Performance Insights and log group key. */
  databaseKeyArn: pulumi.Input<string>;
  /** Key of the RDS-managed master secret. */
  secretsKeyArn: pulumi.Input<string>;
  subnetGroupName: pulumi.Input<string>;
  securityGroupId: pulumi.Input<string>;
  /** Also create the parameter group in the DR region, through this provider (a restore there uses it). Defaults to none. */
  drParameterGroup?: { provider: pulumi.ProviderResource };
  /** Host clients connect to instead of the RDS address (tunnel). Defaults to the instance address. */
  endpointHostOverride?: string | null;
  /** Port clients connect to instead of the RDS port (tunnel). Defaults to the instance port. */
  endpointPortOverride?: number | null;
}

/** The PostgreSQL instance and everything it needs to run. */
export class Database extends pulumi.ComponentResource {
  /** DNS name of the instance (private). */
  public readonly address: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  /** `address:port`. */
  public readonly endpoint: pulumi.Output<string>;
  /** Host a client (the schema runner, the access model's provider) should use: the override or the address. */
  public readonly connectHost: pulumi.Output<string>;
  /** Port a client should use: the override or the instance port. */
  public readonly connectPort: pulumi.Output<number>;
  public readonly dbName: pulumi.Output<string>;
  public readonly masterUsername: pulumi.Output<string>;
  /**
   * The master password as the RDS-managed secret holds it now (read at deploy time; rotated by RDS):
   * a Pulumi secret. Never export it as a stack output.
   */
  public readonly masterPassword: pulumi.Output<string>;
  /** The RDS-managed Secrets Manager secret holding {username, password}. */
  public readonly masterSecretArn: pulumi.Output<string>;
  public readonly instanceArn: pulumi.Output<string>;
  public readonly instanceIdentifier: pulumi.Output<string>;
  /** `db-…` resource id: IAM database auth policies name `rds-db:connect` on it. */
  public readonly resourceId: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly subnetGroupName: pulumi.Output<string>;
  public readonly parameterGroupName: pulumi.Output<string>;
  /** The parameter group in the DR region (when `drParameterGroup` was given). */
  public readonly drParameterGroupName?: pulumi.Output<string>;
  public readonly logGroupNames: pulumi.Output<string>[];
  public readonly instance: aws.rds.Instance;
  public readonly parameterGroup: aws.rds.ParameterGroup;
  public readonly masterSecretRotation: aws.secretsmanager.SecretRotation;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:database:Database", name, {}, opts);
    const partition = partitionOf(args.region);
    const engineVersion = args.engineVersion ?? infraDefault("engineVersion");
    const masterUsername = args.masterUsername ?? infraDefault("masterUsername");
    const deletionProtection = args.deletionProtection ?? infraDefault("deletionProtection");

    const groupArgs = parameterGroupArgs(args.environment, engineVersion, args);
    this.parameterGroup = new aws.rds.ParameterGroup(`${name}-params`, groupArgs, { parent: this });
    if (args.drParameterGroup) {
      const dr = new aws.rds.ParameterGroup(`${name}-dr-params`, groupArgs, { parent: this, provider: args.drParameterGroup.provider });
      this.drParameterGroupName = dr.name;
    }

    const monitoringRole = new aws.iam.Role(
      `${name}-monitoring`,
      {
        description: `phi-db ${args.environment}: RDS Enhanced Monitoring`,
        assumeRolePolicy: monitoringAssumeRolePolicy(args.accountId),
      },
      { parent: this },
    );
    const monitoringPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-monitoring`,
      { role: monitoringRole.name, policyArn: `arn:${partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole` },
      { parent: this },
    );

    const logGroups = LOG_EXPORTS.map(
      (exp) =>
        new aws.cloudwatch.LogGroup(
          `${name}-log-${exp}`,
          {
            name: `/aws/rds/instance/${args.identifier}/${exp}`,
            retentionInDays: args.logRetentionDays ?? infraDefault("logRetentionDays"),
            kmsKeyId: args.databaseKeyArn,
          },
          { parent: this },
        ),
    );

    const finalSnapshotSuffix = new random.RandomId(`${name}-final-snapshot`, { byteLength: 4 }, { parent: this });

    this.instance = new aws.rds.Instance(
      `${name}-instance`,
      {
        identifier: args.identifier,
        engine: "postgres",
        engineVersion,
        instanceClass: args.instanceClass ?? infraDefault("instanceClass"),
        dbName: args.databaseName,
        username: masterUsername,
        // RDS generates the password and keeps it in Secrets Manager under our key (never aws/secretsmanager).
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: args.secretsKeyArn,
        port: POSTGRES_PORT,
        // storage
        storageType: args.storageType ?? infraDefault("storageType"),
        allocatedStorage: args.allocatedStorage ?? infraDefault("allocatedStorageGb"),
        maxAllocatedStorage: args.maxAllocatedStorage ?? infraDefault("maxAllocatedStorageGb"),
        storageEncrypted: true,
        kmsKeyId: args.databaseKeyArn,
        // network: private only
        dbSubnetGroupName: args.subnetGroupName,
        vpcSecurityGroupIds: [args.securityGroupId],
        publiclyAccessible: false,
        networkType: "IPV4",
        multiAz: args.multiAz ?? infraDefault("multiAz"),
        caCertIdentifier: args.caCertIdentifier ?? infraDefault("caCertIdentifier"),
        // authentication
        iamDatabaseAuthenticationEnabled: true,
        parameterGroupName: this.parameterGroup.name,
        // observability
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: args.databaseKeyArn,
        performanceInsightsRetentionPeriod: args.performanceInsightsRetentionPeriod ?? infraDefault("performanceInsightsRetentionDays"),
        monitoringInterval: args.monitoringInterval ?? infraDefault("monitoringIntervalSeconds"),
        monitoringRoleArn: monitoringRole.arn,
        enabledCloudwatchLogsExports: LOG_EXPORTS,
        // backups / PITR and lifecycle
        backupRetentionPeriod: args.backupRetentionPeriod ?? infraDefault("backupRetentionDays"),
        backupWindow: args.backupWindow ?? infraDefault("backupWindow"),
        maintenanceWindow: args.maintenanceWindow ?? infraDefault("maintenanceWindow"),
        copyTagsToSnapshot: true,
        deleteAutomatedBackups: false,
        deletionProtection,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: pulumi.interpolate`${args.identifier}-final-${finalSnapshotSuffix.hex}`,
        autoMinorVersionUpgrade: args.autoMinorVersionUpgrade ?? infraDefault("autoMinorVersionUpgrade"),
        allowMajorVersionUpgrade: false,
        applyImmediately: args.applyImmediately ?? infraDefault("applyImmediately"),
      },
      {
        parent: this,
        protect: deletionProtection,
        // A password in state from before the switch to the RDS-managed secret stays a secret.
        additionalSecretOutputs: ["password"],
        dependsOn: [...logGroups, monitoringPolicy],
      },
    );

    const secretArn = this.instance.masterUserSecrets.apply((secrets) => managedSecretArn(args.identifier, secrets, pulumi.runtime.isDryRun()));
    // Managed rotation: RDS rotates its own secret, no Lambda (rotationLambdaArn stays unset). Not
    // immediately: a rotation during this deployment would change the password the access model's
    // provider has just read.
    this.masterSecretRotation = new aws.secretsmanager.SecretRotation(
      `${name}-master-rotation`,
      {
        secretId: secretArn,
        rotationRules: { automaticallyAfterDays: args.masterPasswordRotationDays ?? infraDefault("masterPasswordRotationDays") },
        rotateImmediately: false,
      },
      { parent: this },
    );
    // The current password, read when the program runs (every preview and up), so the access model
    // always connects with what RDS rotated to. Invoke results are not kept in state; the value is a
    // secret wherever it flows (the provider's configuration).
    const current = aws.secretsmanager.getSecretVersionOutput({ secretId: secretArn }, { parent: this });
    this.masterPassword = pulumi.secret(current.secretString.apply(passwordOfManagedSecret));

    this.address = this.instance.address;
    this.port = this.instance.port;
    this.endpoint = this.instance.endpoint;
    this.connectHost = args.endpointHostOverride ? pulumi.output(args.endpointHostOverride) : this.instance.address;
    this.connectPort = args.endpointPortOverride ? pulumi.output(args.endpointPortOverride) : this.instance.port;
    this.dbName = pulumi.output(args.databaseName);
    this.masterUsername = pulumi.output(masterUsername);
    this.masterSecretArn = secretArn;
    this.instanceArn = this.instance.arn;
    this.instanceIdentifier = this.instance.identifier;
    this.resourceId = this.instance.resourceId;
    this.securityGroupId = pulumi.output(args.securityGroupId);
    this.subnetGroupName = pulumi.output(args.subnetGroupName);
    this.parameterGroupName = this.parameterGroup.name;
    this.logGroupNames = logGroups.map((g) => g.name);
    this.registerOutputs({
      address: this.address,
      port: this.port,
      endpoint: this.endpoint,
      connectHost: this.connectHost,
      connectPort: this.connectPort,
      dbName: this.dbName,
      masterUsername: this.masterUsername,
      masterSecretArn: this.masterSecretArn,
      instanceArn: this.instanceArn,
      resourceId: this.resourceId,
      parameterGroupName: this.parameterGroupName,
      drParameterGroupName: this.drParameterGroupName,
    });
  }
}
