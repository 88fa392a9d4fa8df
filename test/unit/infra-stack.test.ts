/**
 * The whole program under Pulumi mocks, fed the real Pulumi.dev.yaml / Pulumi.prod.yaml: every
 * security-relevant property on both stacks, the dev/prod differences, secrets never in plaintext,
 * and no AWS at all for local.
 */
import { isUnknown } from "@pulumi/pulumi";
import { InfraConfig } from "../../components/config";
import { isSecretWrapper, MOCK_MANAGED_MASTER_PASSWORD, mockCurrentLoginPassword, mockManagedSecretArn, MockedResource, ProgramRun, runProgram, runStacks } from "../support/mocks";

/** A raw (engine-serialized) value with every secret-wrapped part dropped: what state keeps in plaintext. */
function withoutSecrets(v: unknown): unknown {
  if (isSecretWrapper(v)) return undefined;
  if (Array.isArray(v)) return v.map(withoutSecrets);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutSecrets(x)]));
  return v;
}

const T = {
  provider: "pulumi:providers:aws",
  key: "aws:kms/key:Key",
  alias: "aws:kms/alias:Alias",
  subnetGroup: "aws:rds/subnetGroup:SubnetGroup",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  instance: "aws:rds/instance:Instance",
  params: "aws:rds/parameterGroup:ParameterGroup",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  role: "aws:iam/role:Role",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  password: "random:index/randomPassword:RandomPassword",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  secretRotation: "aws:secretsmanager/secretRotation:SecretRotation",
  pgProvider: "pulumi:providers:postgresql",
  topic: "aws:sns/topic:Topic",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  topicSubscription: "aws:sns/topicSubscription:TopicSubscription",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  eventSubscription: "aws:rds/eventSubscription:EventSubscription",
  replication: "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
  vault: "aws:backup/vault:Vault",
  vaultLock: "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
  vaultPolicy: "aws:backup/vaultPolicy:VaultPolicy",
  plan: "aws:backup/plan:Plan",
  selection: "aws:backup/selection:Selection",
  rtPlan: "aws:backup/restoreTestingPlan:RestoreTestingPlan",
  rtSelection: "aws:backup/restoreTestingSelection:RestoreTestingSelection",
  bucket: "aws:s3/bucket:Bucket",
  pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  logging: "aws:s3/bucketLogging:BucketLogging",
  objectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  s3Replication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
};

let runs: Record<string, ProgramRun> = {};
let cfg: Record<string, InfraConfig> = {};
beforeAll(async () => {
  ({ runs, cfg } = await runStacks(["dev", "prod"]));
}, 120000);

/** ARN the mock gives a key of `purpose` (keys are named keys-<purpose>). */
const keyArn = (run: ProgramRun, purpose: string) => run.get(T.key, `keys-${purpose}`).state.arn as string;
const policyOf = (r: MockedResource, field = "policy") => JSON.parse(r.inputs[field]);
const bucketsOf = (run: ProgramRun) => run.ofType(T.bucket);
const nameOf = (run: ProgramRun, bucketLogical: string) => run.get(T.bucket, bucketLogical).id;

describe.each(["dev", "prod"])("%s stack", (env) => {
  const run = () => runs[env];
  const c = () => cfg[env];

  describe("providers", () => {
    test("one provider per region, pinned to the account, tagging everything as PHI", () => {
      const providers = run().ofType(T.provider);
      expect(providers.map((p) => [p.name, p.inputs.region]).sort()).toEqual([
        ["aws-dr", c().drRegion],
        ["aws-primary", c().region],
      ]);
      for (const p of providers) {
        expect(JSON.parse(p.inputs.allowedAccountIds)).toEqual([c().accountId]);
        expect(JSON.parse(p.inputs.defaultTags).tags).toMatchObject({ Project: "phi-db", Environment: env, DataClassification: "phi", ManagedBy: "pulumi", ...c().tags });
      }
    });

    test("every AWS resource goes through one of the two explicit providers (never the ambient default)", () => {
      // and the stack forbids the default aws provider, so a forgotten provider fails the preview
      expect(JSON.parse(run().config["pulumi:disable-default-providers"])).toContain("aws");
      const aws = run().resources.filter((r) => r.type.startsWith("aws:"));
      expect(aws.length).toBeGreaterThan(40);
      for (const r of aws) expect([r.name, r.providerName]).toEqual([r.name, expect.stringMatching(/^aws-(primary|dr)$/)]);
    });
  });

  describe("keys", () => {
    test("a CMK per purpose plus the DR key, rotated, 30-day deletion window, aliased", () => {
      const keys = run().ofType(T.key);
      expect(keys.map((k) => k.name).sort()).toEqual(["keys-backups", "keys-buckets", "keys-database", "keys-dr", "keys-monitoring", "keys-secrets"]);
      for (const k of keys) {
        expect(k.inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30, keyUsage: "ENCRYPT_DECRYPT", multiRegion: false, bypassPolicyLockoutSafetyCheck: false });
        expect(k.providerName).toBe(k.name === "keys-dr" ? "aws-dr" : "aws-primary");
      }
      expect(run().ofType(T.alias).map((a) => a.inputs.name).sort()).toEqual(
        ["backups", "buckets", "database", "dr", "monitoring", "secrets"].map((p) => `alias/phi-db/${env}/${p}`),
      );
    });

    test("key policies: root, the named administrators (manage only), services through ViaService", () => {
      const expectedVia: Record<string, string[]> = {
        "keys-database": ["backup", "rds"].map((s) => `${s}.${c().region}.amazonaws.com`),
        "keys-secrets": [`secretsmanager.${c().region}.amazonaws.com`],
        "keys-buckets": [`s3.${c().region}.amazonaws.com`],
        "keys-backups": [`backup.${c().region}.amazonaws.com`],
        "keys-monitoring": [`sns.${c().region}.amazonaws.com`],
        "keys-dr": ["backup", "rds", "s3", "secretsmanager"].map((s) => `${s}.${c().drRegion}.amazonaws.com`),
      };
      for (const k of run().ofType(T.key)) {
        const doc = policyOf(k);
        const bySid = Object.fromEntries(doc.Statement.map((s: { Sid: string }) => [s.Sid, s]));
        expect(bySid.AccountRootFullAccess.Principal.AWS).toBe(`arn:aws:iam::${c().accountId}:root`);
        expect(bySid.KeyAdministrators.Principal.AWS).toEqual([...c().administratorArns].sort());
        expect(bySid.KeyAdministrators.Action).not.toContain("kms:Decrypt");
        expect(bySid.UseThroughServices.Condition.StringEquals).toEqual({ "kms:CallerAccount": c().accountId, "kms:ViaService": expectedVia[k.name] });
        // kms:* only for the root
        const star = doc.Statement.filter((s: { Action: unknown }) => s.Action === "kms:*");
        expect(star).toHaveLength(1);
      }
      const logs = policyOf(run().get(T.key, "keys-database")).Statement.find((s: { Sid: string }) => s.Sid === "CloudWatchLogsForDatabaseLogGroups");
      expect(logs.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]).toBe(`arn:aws:logs:${c().region}:${c().accountId}:log-group:/aws/rds/instance/phi-db-${env}/*`);
      // the DR key: log groups of an instance restored in the DR region (phi-db-<env>-dr-…), in that region
      const drLogs = policyOf(run().get(T.key, "keys-dr")).Statement.find((s: { Sid: string }) => s.Sid === "CloudWatchLogsForDatabaseLogGroups");
      expect(drLogs.Principal).toEqual({ Service: `logs.${c().drRegion}.amazonaws.com` });
      expect(drLogs.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]).toBe(`arn:aws:logs:${c().drRegion}:${c().accountId}:log-group:/aws/rds/instance/phi-db-${env}-*`);
    });

    test("the monitoring key: CloudWatch alarms and RDS events may use it only for the stack's alarm topic", () => {
      const topicArn = run().get(T.topic, "monitoring-alarms").state.arn;
      expect(topicArn).toBe(`arn:aws:sns:${c().region}:${c().accountId}:phi-db-${env}-alarms`);
      const bySid = Object.fromEntries(policyOf(run().get(T.key, "keys-monitoring")).Statement.map((s: { Sid: string }) => [s.Sid, s]));
      expect(bySid.CloudWatchAlarmsPublishToAlarmTopic).toMatchObject({
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Condition: {
          StringEquals: { "kms:EncryptionContext:aws:sns:topicArn": topicArn, "aws:SourceAccount": c().accountId },
          ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:${c().region}:${c().accountId}:alarm:phi-db-${env}-*` },
        },
      });
      expect(bySid.RdsEventsPublishToAlarmTopic).toMatchObject({
        Principal: { Service: "events.rds.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Condition: { StringEquals: { "kms:EncryptionContext:aws:sns:topicArn": topicArn } },
      });
      // no other key admits these service principals
      for (const k of run().ofType(T.key).filter((x) => x.name !== "keys-monitoring")) expect([k.name, k.inputs.policy.includes("cloudwatch.amazonaws.com") || k.inputs.policy.includes("events.rds")]).toEqual([k.name, false]);
    });
  });

  describe("network", () => {
    test("subnet group over the configured private subnets", () => {
      expect(run().get(T.subnetGroup, "network-db").inputs.subnetIds).toEqual(c().privateSubnetIds);
    });

    test("security group in the VPC with no inline rules and no egress rule at all", () => {
      const sg = run().get(T.sg, "network-db");
      expect(sg.inputs.vpcId).toBe(c().vpcId);
      expect(sg.inputs.ingress ?? []).toEqual([]);
      expect(sg.inputs.egress ?? []).toEqual([]);
      // the only egress rules belong to the rotation Lambda's group (test/unit/login-rotation.test.ts)
      expect(run().ofType(T.egress).filter((r) => r.inputs.securityGroupId !== "network-rotation-id")).toEqual([]);
      for (const g of run().ofType(T.sg)) expect([g.name, g.inputs.egress ?? [], g.inputs.ingress ?? []]).toEqual([g.name, [], []]);
    });

    test("ingress: 5432/tcp only, from exactly the configured security groups and CIDRs (and the rotation Lambda)", () => {
      const rules = run().ofType(T.ingress).filter((r) => r.providerName === "aws-primary" && r.inputs.securityGroupId === "network-db-id" && r.name !== "network-from-rotation");
      expect(rules).toHaveLength(c().allowedSecurityGroupIds.length + c().allowedCidrBlocks.length);
      for (const r of rules) {
        expect(r.inputs).toMatchObject({ ipProtocol: "tcp", fromPort: 5432, toPort: 5432, securityGroupId: "network-db-id" });
        expect(r.inputs.cidrIpv4).not.toBe("0.0.0.0/0");
        expect(r.inputs.cidrIpv6).toBeUndefined();
      }
      expect(rules.map((r) => r.inputs.referencedSecurityGroupId).filter(Boolean).sort()).toEqual([...c().allowedSecurityGroupIds].sort());
      expect(rules.map((r) => r.inputs.cidrIpv4).filter(Boolean).sort()).toEqual([...c().allowedCidrBlocks].sort());
    });
  });

  describe("database instance", () => {
    const inst = () => run().get(T.instance, "database-instance").inputs;

    test("encrypted with the database CMK, private, TLS-pinned CA, IAM auth", () => {
      expect(inst()).toMatchObject({
        engine: "postgres",
        storageEncrypted: true,
        kmsKeyId: keyArn(run(), "database"),
        publiclyAccessible: false,
        iamDatabaseAuthenticationEnabled: true,
        caCertIdentifier: c().caCertIdentifier,
        dbSubnetGroupName: run().get(T.subnetGroup, "network-db").state.name,
        vpcSecurityGroupIds: ["network-db-id"],
        port: 5432,
      });
    });

    test("Performance Insights under the CMK, Enhanced Monitoring with its role, both log exports", () => {
      expect(inst()).toMatchObject({
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: keyArn(run(), "database"),
        performanceInsightsRetentionPeriod: c().performanceInsightsRetentionDays,
        monitoringInterval: c().monitoringIntervalSeconds,
        monitoringRoleArn: run().get(T.role, "database-monitoring").state.arn,
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      });
      expect(inst().monitoringInterval).toBeGreaterThan(0);
      const trust = JSON.parse(run().get(T.role, "database-monitoring").inputs.assumeRolePolicy);
      expect(trust.Statement[0].Principal.Service).toBe("monitoring.rds.amazonaws.com");
      expect(run().get(T.attachment, "database-monitoring").inputs.policyArn).toBe("arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole");
    });

    test("lifecycle: backups, windows, final snapshot always, tags to snapshots, minor upgrades, autoscaling gp3", () => {
      expect(inst()).toMatchObject({
        backupRetentionPeriod: c().backupRetentionDays,
        backupWindow: c().backupWindow,
        maintenanceWindow: c().maintenanceWindow,
        copyTagsToSnapshot: true,
        deleteAutomatedBackups: false,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: expect.stringMatching(new RegExp(`^phi-db-${env}-final-[0-9a-f]+$`)),
        deletionProtection: c().deletionProtection,
        autoMinorVersionUpgrade: true,
        allowMajorVersionUpgrade: false,
        storageType: "gp3",
        allocatedStorage: c().allocatedStorageGb,
        maxAllocatedStorage: c().maxAllocatedStorageGb,
        engineVersion: c().engineVersion,
        instanceClass: c().instanceClass,
        identifier: `phi-db-${env}`,
        dbName: "phi",
        username: c().masterUsername,
      });
      expect(inst().backupRetentionPeriod).toBeGreaterThan(0);
      expect(inst().maxAllocatedStorage).toBeGreaterThan(inst().allocatedStorage);
    });

    test("log groups exist for both exports, with retention and the database CMK", () => {
      const groups = run().ofType(T.logGroup);
      expect(groups.map((g) => g.inputs.name).sort()).toEqual([`/aws/rds/instance/phi-db-${env}/postgresql`, `/aws/rds/instance/phi-db-${env}/upgrade`]);
      for (const g of groups) expect(g.inputs).toMatchObject({ retentionInDays: c().logRetentionDays, kmsKeyId: keyArn(run(), "database") });
    });

    test("parameter group: family from the engine version, the hardening parameters present", () => {
      const pg = run().get(T.params, "database-params");
      expect(pg.inputs.family).toBe("postgres17");
      expect(inst().parameterGroupName).toBe(pg.state.name);
      const p = Object.fromEntries(pg.inputs.parameters.map((x: { name: string; value: string; applyMethod: string }) => [x.name, x]));
      expect(p["rds.force_ssl"]).toEqual({ name: "rds.force_ssl", value: "1", applyMethod: "immediate" });
      expect(p["shared_preload_libraries"]).toEqual({ name: "shared_preload_libraries", value: "pg_stat_statements,pgaudit,pg_cron", applyMethod: "pending-reboot" });
      expect(p["password_encryption"].value).toBe("scram-sha-256");
      expect(p["log_parameter_max_length"].value).toBe("0");
      expect(p["log_parameter_max_length_on_error"].value).toBe("0");
      expect(p["pgaudit.log"].value).toBe(c().pgauditLog);
      expect(p["pgaudit.role"].value).toBe(c().pgauditRole);
      expect(p["log_min_duration_statement"].value).toBe(String(c().logMinDurationStatementMs));
      expect(p["idle_in_transaction_session_timeout"].value).toBe(String(c().idleInTransactionSessionTimeoutMs));
      expect(p["rds.log_retention_period"].value).toBe(String(c().rdsLogRetentionMinutes));
      expect(p["cron.database_name"]).toEqual({ name: "cron.database_name", value: "phi", applyMethod: "pending-reboot" });
    });
  });

  describe("master credentials", () => {
    const inst = () => run().get(T.instance, "database-instance");
    const secretArn = () => mockManagedSecretArn(c().region, c().accountId, `phi-db-${env}`);

    test("RDS generates the master password and keeps it in Secrets Manager under the secrets CMK (not aws/secretsmanager)", () => {
      expect(inst().inputs).toMatchObject({ manageMasterUserPassword: true, masterUserSecretKmsKeyId: keyArn(run(), "secrets"), username: c().masterUsername });
      expect(inst().inputs.masterUserSecretKmsKeyId).not.toMatch(/alias\/aws\//);
      // the program never generates, sets or stores the master password itself
      expect(inst().inputs.password).toBeUndefined();
      expect(run().ofType(T.password).map((p) => p.name)).not.toContain("database-master-password");
      expect(run().ofType(T.secret).filter((x) => x.name.startsWith("database-"))).toEqual([]);
      expect(run().ofType(T.secretVersion).filter((x) => x.name.startsWith("database-"))).toEqual([]);
    });

    test("rotated by RDS (managed rotation, no Lambda) every masterPasswordRotationDays, not during the deployment that sets it", () => {
      const rotation = run().get(T.secretRotation, "database-master-rotation");
      expect(rotation.inputs).toEqual({ secretId: secretArn(), rotationRules: { automaticallyAfterDays: c().masterPasswordRotationDays }, rotateImmediately: false });
      expect(rotation.inputs.rotationLambdaArn).toBeUndefined();
      expect(rotation.providerName).toBe("aws-primary");
    });

    test("the access model's provider connects with the password the managed secret holds now, read at deploy time through the primary provider, as a secret", () => {
      // (the other read is the migrator's login secret, for the schema resource)
      const reads = run().calls.filter((x) => x.token === "aws:secretsmanager/getSecretVersion:getSecretVersion" && String(x.inputs.secretId).includes(":secret:rds!"));
      expect(reads.map((x) => x.inputs.secretId)).toEqual([secretArn()]);
      expect(reads[0].provider).toMatch(/::aws-primary::/);
      const pg = run().get(T.pgProvider, "access-provider");
      expect(pg.inputs).toMatchObject({ username: c().masterUsername, password: MOCK_MANAGED_MASTER_PASSWORD, sslmode: "verify-full" });
      expect(pg.secretInputs).toContain("password");
    });

    test("no password (the RDS-managed master password, every login, the migrator's inside the schema connection) appears in a plaintext input or an output", () => {
      const logins = run().ofType(T.password).map((p) => ({ name: p.name, value: p.state.result as string }));
      // one per password login of the access model (the migrator among them)
      expect(logins.map((p) => p.name)).toEqual(expect.arrayContaining(["access-phi_migrator-password"]));
      expect(logins.length).toBeGreaterThanOrEqual(2);
      for (const p of logins) expect(p.value).toMatch(/^mock-password-/);
      // what each login secret holds now (the mock's "rotated" value), besides the initial RandomPasswords
      const current = run().ofType(T.secret).map((x) => ({ name: `current password of ${x.name}`, value: mockCurrentLoginPassword(x.state.arn) }));
      expect(current.length).toBe(logins.length);
      const passwords = [...logins, ...current, { name: "RDS-managed master password", value: MOCK_MANAGED_MASTER_PASSWORD }];
      // the migrator's current password does reach the schema resource, inside its (secret) connection input
      const schema = run().get("pulumi-nodejs:dynamic/phi-db:DatabaseSchema", "schema");
      expect(schema.inputs.connection.password).toBe(mockCurrentLoginPassword(run().get(T.secret, "access-phi_migrator-secret").state.arn));
      expect(schema.secretInputs).toContain("connection");
      // every input as the engine received it, secret-wrapped parts removed: no password left anywhere
      // (nested values and the serialized provider code included)
      let inspected = 0;
      for (const r of run().resources) {
        const plain = JSON.stringify(withoutSecrets(r.rawInputs)) ?? "";
        inspected += plain.length;
        for (const p of passwords) expect([r.type, r.name, plain.includes(p.value) ? `contains ${p.name}` : "clean"]).toEqual([r.type, r.name, "clean"]);
      }
      expect(inspected).toBeGreaterThan(10000);
      const outputs = JSON.stringify(run().outputs);
      for (const p of passwords) expect([p.name, outputs.includes(p.value)]).toEqual([p.name, false]);
      expect(run().secretOutputs).toEqual([]);
    });
  });

  describe("monitoring", () => {
    const topicArn = () => run().get(T.topic, "monitoring-alarms").state.arn as string;

    test("one alarm topic, encrypted with the monitoring CMK; only this account's alarms and RDS events may publish, never over plain HTTP", () => {
      const topic = run().get(T.topic, "monitoring-alarms");
      expect(topic.inputs).toMatchObject({ name: `phi-db-${env}-alarms`, kmsMasterKeyId: keyArn(run(), "monitoring") });
      expect(topic.providerName).toBe("aws-primary");
      const policy = run().get(T.topicPolicy, "monitoring-alarms");
      expect(policy.inputs.arn).toBe(topicArn());
      const bySid = Object.fromEntries(policyOf(policy).Statement.map((s: { Sid: string }) => [s.Sid, s]));
      expect(Object.keys(bySid).sort()).toEqual(["AccountManagesTopic", "CloudWatchAlarmsPublish", "DenyInsecureTransport", "RdsEventsPublish"]);
      expect(bySid.CloudWatchAlarmsPublish).toMatchObject({
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "sns:Publish",
        Resource: topicArn(),
        Condition: { StringEquals: { "aws:SourceAccount": c().accountId }, ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:${c().region}:${c().accountId}:alarm:phi-db-${env}-*` } },
      });
      expect(bySid.RdsEventsPublish).toMatchObject({
        Principal: { Service: "events.rds.amazonaws.com" },
        Condition: { StringEquals: { "aws:SourceAccount": c().accountId }, ArnLike: { "aws:SourceArn": `arn:aws:rds:${c().region}:${c().accountId}:*` } },
      });
      expect(bySid.AccountManagesTopic.Principal).toEqual({ AWS: `arn:aws:iam::${c().accountId}:root` });
      expect(bySid.DenyInsecureTransport).toMatchObject({ Effect: "Deny", Principal: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    });

    test("every configured endpoint is subscribed (email)", () => {
      const subs = run().ofType(T.topicSubscription);
      expect(subs.map((x) => [x.inputs.protocol, x.inputs.endpoint]).sort()).toEqual(c().alarmEndpoints.map((e) => ["email", e]).sort());
      for (const x of subs) expect(x.inputs.topic).toBe(topicArn());
    });

    test("alarms on the instance's metrics, with the configured thresholds, notifying the topic on alarm and on recovery", () => {
      const alarms = run().ofType(T.alarm);
      const GiB = 1024 ** 3;
      const MiB = 1024 ** 2;
      const byMetric = Object.fromEntries(alarms.map((a) => [a.inputs.metricName, a.inputs]));
      expect(Object.keys(byMetric).sort()).toEqual(
        ["CPUUtilization", "DatabaseConnections", "DiskQueueDepth", "FreeStorageSpace", "FreeableMemory", "MaximumUsedTransactionIDs", "ReadLatency", "SwapUsage", "WriteLatency"].sort(),
      );
      expect([byMetric.CPUUtilization.threshold, byMetric.CPUUtilization.comparisonOperator]).toEqual([c().alarmCpuUtilizationPercent, "GreaterThanThreshold"]);
      expect([byMetric.FreeStorageSpace.threshold, byMetric.FreeStorageSpace.comparisonOperator, byMetric.FreeStorageSpace.statistic]).toEqual([c().alarmFreeStorageSpaceGb * GiB, "LessThanThreshold", "Minimum"]);
      expect([byMetric.FreeableMemory.threshold, byMetric.FreeableMemory.comparisonOperator]).toEqual([c().alarmFreeableMemoryMb * MiB, "LessThanThreshold"]);
      expect(byMetric.SwapUsage.threshold).toBe(c().alarmSwapUsageMb * MiB);
      expect(byMetric.DatabaseConnections.threshold).toBe(c().alarmDatabaseConnections);
      expect([byMetric.ReadLatency.threshold, byMetric.WriteLatency.threshold]).toEqual([c().alarmIoLatencyMs / 1000, c().alarmIoLatencyMs / 1000]);
      expect(byMetric.DiskQueueDepth.threshold).toBe(c().alarmDiskQueueDepth);
      expect([byMetric.MaximumUsedTransactionIDs.threshold, byMetric.MaximumUsedTransactionIDs.statistic]).toEqual([c().alarmMaximumUsedTransactionIds, "Maximum"]);
      for (const a of alarms) {
        expect(a.inputs).toMatchObject({ namespace: "AWS/RDS", dimensions: { DBInstanceIdentifier: `phi-db-${env}` }, alarmActions: [topicArn()], okActions: [topicArn()], treatMissingData: "missing" });
        expect(a.inputs.name).toMatch(new RegExp(`^phi-db-${env}-[a-z-]+$`));
        expect(a.inputs.datapointsToAlarm).toBe(a.inputs.evaluationPeriods);
        expect(a.inputs.period * a.inputs.evaluationPeriods).toBeGreaterThanOrEqual(300);
        expect(a.providerName).toBe("aws-primary");
      }
    });

    test("RDS event subscriptions: the instance (failover, failure, maintenance, low storage, configuration changes...) and its parameter group", () => {
      const instance = run().get(T.eventSubscription, "monitoring-instance-events");
      expect(instance.inputs).toMatchObject({ snsTopic: topicArn(), sourceType: "db-instance", sourceIds: [`phi-db-${env}`], enabled: true });
      // Security Hub RDS.20: maintenance, configuration change and failure at least
      expect(instance.inputs.eventCategories).toEqual(expect.arrayContaining(["availability", "configuration change", "failover", "failure", "low storage", "maintenance", "recovery"]));
      const params = run().get(T.eventSubscription, "monitoring-parameter-group-events");
      // Security Hub RDS.21
      expect(params.inputs).toMatchObject({ snsTopic: topicArn(), sourceType: "db-parameter-group", sourceIds: [run().get(T.params, "database-params").state.name], eventCategories: ["configuration change"] });
    });

    test("the topic ARN is a stack output", () => {
      expect(run().outputs.alarmTopicArn).toBe(topicArn());
    });
  });

  describe("backups", () => {
    test("AWS Backup vault under the backups CMK; plan with continuous backup (PITR) and daily snapshots", () => {
      const vault = run().get(T.vault, "backups-vault");
      expect(vault.inputs.kmsKeyArn).toBe(keyArn(run(), "backups"));
      expect(vault.inputs.forceDestroy).toBe(false);
      const rules = run().get(T.plan, "backups-plan").inputs.rules;
      const continuous = rules.find((r: { ruleName: string }) => r.ruleName === "continuous-pitr");
      expect(continuous).toMatchObject({ enableContinuousBackup: true, targetVaultName: vault.state.name, lifecycle: { deleteAfter: c().backupRetentionDays } });
      const daily = rules.find((r: { ruleName: string }) => r.ruleName === "daily-snapshot");
      expect(daily).toMatchObject({ targetVaultName: vault.state.name, lifecycle: { deleteAfter: c().backupSnapshotRetentionDays } });
      expect(daily.enableContinuousBackup).toBeUndefined();
    });

    test("the instance is selected into the plan by an AWS Backup service role", () => {
      const sel = run().get(T.selection, "backups-rds");
      expect(sel.inputs.resources).toEqual([run().get(T.instance, "database-instance").state.arn]);
      expect(sel.inputs.planId).toBe("backups-plan-id");
      expect(JSON.parse(run().get(T.role, "backups-role").inputs.assumeRolePolicy).Statement[0].Principal.Service).toBe("backup.amazonaws.com");
    });

    test("restore window facts are exported", () => {
      expect(run().outputs.backup).toMatchObject({
        pitrRetentionDays: c().backupRetentionDays,
        backupWindow: c().backupWindow,
        snapshotRetentionDays: c().backupSnapshotRetentionDays,
        vaultLockMode: c().backupVaultLockMode,
        vaultName: run().get(T.vault, "backups-vault").state.name,
        drRegion: c().crossRegionBackupReplication ? c().drRegion : null,
      });
    });
  });

  describe("buckets", () => {
    test("every bucket: SSE-KMS with bucket keys under the right CMK and SSE-C blocked", () => {
      const buckets = bucketsOf(run());
      expect(buckets.length).toBeGreaterThanOrEqual(3);
      for (const b of buckets) {
        const sse = run().get(T.sse, b.name).inputs.rules[0];
        expect(sse).toEqual({
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn(run(), b.name.includes("-dr-") ? "dr" : "buckets") },
          bucketKeyEnabled: true,
          blockedEncryptionTypes: ["SSE-C"],
        });
      }
    });

    test("every bucket: all four public-access-block flags, owner-enforced ownership, versioning", () => {
      for (const b of bucketsOf(run())) {
        expect(run().get(T.pab, b.name).inputs).toEqual({ bucket: b.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
        expect(run().get(T.ownership, b.name).inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
        expect(run().get(T.versioning, b.name).inputs.versioningConfiguration).toEqual({ status: "Enabled" });
      }
    });

    test("every bucket: policy denies non-TLS requests and uploads under another key", () => {
      for (const b of bucketsOf(run())) {
        const doc = policyOf(run().get(T.bucketPolicy, b.name));
        const sids = doc.Statement.map((s: { Sid: string }) => s.Sid);
        expect(sids).toEqual(expect.arrayContaining(["DenyInsecureTransport", "DenyTlsOlderThan12", "DenyEncryptionOtherThanKms", "DenyWrongKmsKey", "DenyKmsWithoutOurKeyId", "DenyCustomerProvidedKeys"]));
        const wrongKey = doc.Statement.find((s: { Sid: string }) => s.Sid === "DenyWrongKmsKey");
        expect(wrongKey.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"]).toBe(keyArn(run(), b.name.includes("-dr-") ? "dr" : "buckets"));
        expect(doc.Statement.find((s: { Sid: string }) => s.Sid === "DenyInsecureTransport").Resource).toEqual([b.state.arn, `${b.state.arn}/*`]);
      }
    });

    test("documents and audit exports log to the access-log bucket of their region; log buckets do not log", () => {
      const logging = run().ofType(T.logging);
      const target = (name: string) => run().get(T.logging, name).inputs.targetBucket;
      expect(target("buckets-documents")).toBe(nameOf(run(), "buckets-access-logs"));
      expect(target("buckets-audit-exports")).toBe(nameOf(run(), "buckets-access-logs"));
      expect(logging.map((l) => l.name)).not.toContain("buckets-access-logs");
      const logPolicy = policyOf(run().get(T.bucketPolicy, "buckets-access-logs"));
      expect(logPolicy.Statement.find((s: { Sid: string }) => s.Sid === "AllowS3ServerAccessLogDelivery").Condition.ArnLike["aws:SourceArn"]).toEqual([`arn:aws:s3:::phi-db-${env}-*`]);
    });

    test("lifecycle: noncurrent versions expire, old objects move to the archive class, multipart uploads aborted", () => {
      for (const b of bucketsOf(run()).filter((x) => !x.name.endsWith("access-logs"))) {
        const rules = run().get(T.lifecycle, b.name).inputs.rules;
        expect(rules).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: c().noncurrentVersionExpireDays }, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } }),
            expect.objectContaining({ status: "Enabled", transitions: [{ days: c().bucketArchiveAfterDays, storageClass: c().bucketArchiveStorageClass }] }),
          ]),
        );
      }
      const logRules = run().get(T.lifecycle, "buckets-access-logs").inputs.rules;
      expect(logRules).toEqual(expect.arrayContaining([expect.objectContaining({ expiration: { days: c().logRetentionDays } })]));
    });

    test("audit exports carry Object Lock; documents do not", () => {
      expect(run().get(T.bucket, "buckets-audit-exports").inputs.objectLockEnabled).toBe(true);
      expect(run().get(T.bucket, "buckets-documents").inputs.objectLockEnabled).toBeUndefined();
      expect(run().get(T.objectLock, "buckets-audit-exports").inputs).toMatchObject({
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: c().auditObjectLockMode, days: c().auditObjectLockDays } },
      });
    });

    test("bucket names are exported", () => {
      expect(run().outputs.bucketNames).toMatchObject({
        documents: nameOf(run(), "buckets-documents"),
        auditExports: nameOf(run(), "buckets-audit-exports"),
        accessLogs: nameOf(run(), "buckets-access-logs"),
      });
    });
  });

  describe("outputs", () => {
    test("endpoint, port, secret ARN, key ARNs, network ids: and nothing secret", () => {
      const o = run().outputs;
      expect(o).toMatchObject({
        environment: env,
        dbAddress: `phi-db-${env}.cmock0example.${c().region}.rds.amazonaws.com`,
        dbEndpoint: `phi-db-${env}.cmock0example.${c().region}.rds.amazonaws.com:5432`,
        dbPort: 5432,
        dbConnectHost: `phi-db-${env}.cmock0example.${c().region}.rds.amazonaws.com`,
        dbConnectPort: 5432,
        dbName: "phi",
        dbMasterUsername: c().masterUsername,
        dbMasterSecretArn: mockManagedSecretArn(c().region, c().accountId, `phi-db-${env}`),
        dbInstanceIdentifier: `phi-db-${env}`,
        dbSecurityGroupId: "network-db-id",
        kmsKeyArns: {
          database: keyArn(run(), "database"),
          secrets: keyArn(run(), "secrets"),
          buckets: keyArn(run(), "buckets"),
          backups: keyArn(run(), "backups"),
          monitoring: keyArn(run(), "monitoring"),
          dr: keyArn(run(), "dr"),
        },
      });
      expect(o.dbResourceId).toMatch(/^db-/);
      expect(run().secretOutputs).toEqual([]);
    });
  });
});

describe("dev and prod differ where the stack files say", () => {
  const inst = (env: string) => runs[env].get(T.instance, "database-instance").inputs;

  test("availability and protection", () => {
    expect([inst("dev").multiAz, inst("prod").multiAz]).toEqual([false, true]);
    expect([inst("dev").backupRetentionPeriod, inst("prod").backupRetentionPeriod]).toEqual([7, 35]);
    expect([inst("dev").deletionProtection, inst("prod").deletionProtection]).toEqual([false, true]);
    // dev still takes a final snapshot
    expect([inst("dev").skipFinalSnapshot, inst("prod").skipFinalSnapshot]).toEqual([false, false]);
    expect(inst("dev").instanceClass).toBe("db.t4g.medium");
    expect(inst("prod").instanceClass).toBe("db.r7g.large");
    expect([inst("dev").applyImmediately, inst("prod").applyImmediately]).toEqual([true, false]);
  });

  test("prod replicates PITR backups to the DR region under the DR key; dev does not", () => {
    expect(runs.dev.ofType(T.replication)).toHaveLength(0);
    const rep = runs.prod.get(T.replication, "backups-dr-pitr");
    expect(rep.providerName).toBe("aws-dr");
    expect(rep.inputs).toEqual({
      sourceDbInstanceArn: runs.prod.get(T.instance, "database-instance").state.arn,
      kmsKeyId: keyArn(runs.prod, "dr"),
      retentionPeriod: 35,
    });
    expect(runs.prod.outputs.backup).toMatchObject({ drRegion: "us-west-2", drPitrRetentionDays: 35, drAutomatedBackupsArn: rep.id });
    expect(runs.dev.outputs.backup).toMatchObject({ drRegion: null, drPitrRetentionDays: null, drAutomatedBackupsArn: null });
  });

  test("prod copies daily snapshots into a locked DR vault under the DR key", () => {
    expect(runs.dev.ofType(T.vault).map((v) => v.name)).toEqual(["backups-vault"]);
    const drVault = runs.prod.get(T.vault, "backups-dr-vault");
    expect(drVault.providerName).toBe("aws-dr");
    expect(drVault.inputs.kmsKeyArn).toBe(keyArn(runs.prod, "dr"));
    const daily = runs.prod.get(T.plan, "backups-plan").inputs.rules.find((r: { ruleName: string }) => r.ruleName === "daily-snapshot");
    expect(daily.copyActions).toEqual([{ destinationVaultArn: drVault.state.arn, lifecycle: { deleteAfter: 365 } }]);
    const devDaily = runs.dev.get(T.plan, "backups-plan").inputs.rules.find((r: { ruleName: string }) => r.ruleName === "daily-snapshot");
    expect(devDaily.copyActions).toBeUndefined();
  });

  test("prod vaults are locked in compliance mode and deny manual deletion; dev vault is not locked", () => {
    expect(runs.dev.ofType(T.vaultLock)).toHaveLength(0);
    expect(runs.dev.ofType(T.vaultPolicy)).toHaveLength(0);
    const locks = runs.prod.ofType(T.vaultLock);
    expect(locks.map((l) => l.name).sort()).toEqual(["backups-dr-vault-lock", "backups-vault-lock"]);
    for (const l of locks) expect(l.inputs).toMatchObject({ changeableForDays: 3, minRetentionDays: 35 });
    for (const p of runs.prod.ofType(T.vaultPolicy)) {
      const st = policyOf(p).Statement[0];
      expect(st).toMatchObject({ Effect: "Deny", Action: expect.arrayContaining(["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"]) });
      expect(st.Condition.ArnNotLike["aws:PrincipalArn"]).toEqual([...cfg.prod.administratorArns].sort());
    }
  });

  test("prod proves its backups with scheduled restore tests into the instance's own network", () => {
    expect(runs.dev.ofType(T.rtPlan)).toHaveLength(0);
    const plan = runs.prod.get(T.rtPlan, "backups-restore-testing");
    expect(plan.inputs).toMatchObject({
      name: "phi_db_prod_restore_test",
      scheduleExpression: "cron(0 5 ? * SAT *)",
      recoveryPointSelection: { algorithm: "LATEST_WITHIN_WINDOW", includeVaults: [runs.prod.get(T.vault, "backups-vault").state.arn], recoveryPointTypes: ["CONTINUOUS", "SNAPSHOT"] },
    });
    expect(plan.inputs.name).toMatch(/^[A-Za-z0-9_]+$/);
    const sel = runs.prod.get(T.rtSelection, "backups-restore-testing-rds");
    expect(sel.inputs).toMatchObject({
      protectedResourceType: "RDS",
      protectedResourceArns: [runs.prod.get(T.instance, "database-instance").state.arn],
      iamRoleArn: runs.prod.get(T.role, "backups-role").state.arn,
      // the restored copy holds PHI: the instance's subnets, security group and parameter group (TLS
      // only, pgaudit, no bind values in logs), never the defaults; deleted again after an hour
      restoreMetadataOverrides: {
        dbsubnetgroupname: runs.prod.get(T.subnetGroup, "network-db").state.name,
        vpcsecuritygroupids: '["network-db-id"]',
        dbparametergroupname: runs.prod.get(T.params, "database-params").state.name,
      },
      validationWindowHours: 1,
    });
    expect(Object.keys(sel.inputs.restoreMetadataOverrides).sort()).toEqual(["dbparametergroupname", "dbsubnetgroupname", "vpcsecuritygroupids"]);
    expect(sel.inputs.restoreMetadataOverrides.dbparametergroupname).toBe(runs.prod.get(T.instance, "database-instance").inputs.parameterGroupName);
    expect(runs.prod.outputs.backup.restoreTestingPlanName).toBe("phi_db_prod_restore_test");
    expect(runs.dev.outputs.backup.restoreTestingPlanName).toBeNull();
  });

  test("prod replicates documents and audit exports to DR-region buckets under the DR key; dev does not", () => {
    expect(runs.dev.ofType(T.s3Replication)).toHaveLength(0);
    expect(bucketsOf(runs.dev).map((b) => b.name).sort()).toEqual(["buckets-access-logs", "buckets-audit-exports", "buckets-documents"]);
    const drBuckets = bucketsOf(runs.prod).filter((b) => b.name.includes("-dr-"));
    expect(drBuckets.map((b) => b.name).sort()).toEqual(["buckets-dr-access-logs", "buckets-dr-audit-exports", "buckets-dr-documents"]);
    for (const b of drBuckets) expect(b.providerName).toBe("aws-dr");
    expect(runs.prod.get(T.bucket, "buckets-dr-audit-exports").inputs.objectLockEnabled).toBe(true);
    for (const [src, dst] of [
      ["documents", "buckets-dr-documents"],
      ["audit-exports", "buckets-dr-audit-exports"],
    ]) {
      const rep = runs.prod.get(T.s3Replication, `buckets-${src}-replication`);
      expect(rep.inputs.bucket).toBe(nameOf(runs.prod, `buckets-${src}`));
      expect(rep.inputs.rules).toEqual([
        expect.objectContaining({
          status: "Enabled",
          deleteMarkerReplication: { status: "Disabled" },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
          destination: { bucket: runs.prod.get(T.bucket, dst).state.arn, storageClass: "STANDARD", encryptionConfiguration: { replicaKmsKeyId: keyArn(runs.prod, "dr") } },
        }),
      ]);
    }
    expect(runs.prod.outputs.bucketNames).toMatchObject({ documentsReplica: nameOf(runs.prod, "buckets-dr-documents"), auditExportsReplica: nameOf(runs.prod, "buckets-dr-audit-exports") });
    expect(runs.dev.outputs.bucketNames.documentsReplica).toBeUndefined();
  });

  test("prod has a DR-region network to restore into (subnet group, security group, parameter group); dev has none", () => {
    const p = cfg.prod;
    const sg = runs.prod.get(T.subnetGroup, "network-dr-db");
    expect([sg.providerName, sg.inputs.subnetIds]).toEqual(["aws-dr", p.drPrivateSubnetIds]);
    const group = runs.prod.get(T.sg, "network-dr-db");
    expect([group.providerName, group.inputs.vpcId]).toEqual(["aws-dr", p.drVpcId]);
    expect(group.inputs.ingress ?? []).toEqual([]);
    const rules = runs.prod.ofType(T.ingress).filter((r) => r.name.startsWith("network-dr-"));
    expect(rules.map((r) => [r.providerName, r.inputs.securityGroupId, r.inputs.fromPort, r.inputs.toPort, r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4]).sort()).toEqual(
      [...p.drAllowedSecurityGroupIds, ...p.drAllowedCidrBlocks].map((src) => ["aws-dr", "network-dr-db-id", 5432, 5432, src]).sort(),
    );
    // the DR parameter group is the primary one, in the DR region
    const primary = runs.prod.get(T.params, "database-params");
    const drParams = runs.prod.get(T.params, "database-dr-params");
    expect(drParams.providerName).toBe("aws-dr");
    expect(drParams.inputs).toEqual(primary.inputs);
    expect(runs.prod.outputs).toMatchObject({ drDbSubnetGroupName: sg.state.name, drDbSecurityGroupId: "network-dr-db-id", drDbParameterGroupName: drParams.state.name });
    // dev: no DR network at all
    expect(runs.dev.resources.filter((r) => r.name.startsWith("network-dr") || r.name === "database-dr-params")).toEqual([]);
    for (const k of ["drDbSubnetGroupName", "drDbSecurityGroupId", "drDbParameterGroupName"]) expect(runs.dev.outputs[k]).toBeUndefined();
  });

  test("no replica of the master secret: a restore in the DR region gets its own RDS-managed secret under the DR key", () => {
    for (const env of ["dev", "prod"]) expect(runs[env].ofType(T.secret).filter((s) => (s.inputs.replicas ?? []).length > 0)).toEqual([]);
  });

  test("rotation and monitoring follow the stack files", () => {
    const days = (env: string) => runs[env].get(T.secretRotation, "database-master-rotation").inputs.rotationRules.automaticallyAfterDays;
    expect([days("dev"), days("prod")]).toEqual([30, 7]);
    const subscribers = (env: string) => runs[env].ofType(T.topicSubscription).length;
    expect([subscribers("dev"), subscribers("prod")]).toEqual([1, 2]);
    const threshold = (env: string, metric: string) => runs[env].ofType(T.alarm).find((a) => a.inputs.metricName === metric)!.inputs.threshold;
    expect([threshold("dev", "CPUUtilization"), threshold("prod", "CPUUtilization")]).toEqual([90, 80]);
    expect([threshold("dev", "FreeStorageSpace"), threshold("prod", "FreeStorageSpace")]).toEqual([4 * 1024 ** 3, 20 * 1024 ** 3]);
    expect([threshold("dev", "DatabaseConnections"), threshold("prod", "DatabaseConnections")]).toEqual([300, 1200]);
  });

  test("buckets: force-destroy only in dev; audit Object Lock compliance only in prod", () => {
    for (const b of bucketsOf(runs.dev)) expect(b.inputs.forceDestroy).toBe(true);
    for (const b of bucketsOf(runs.prod)) expect(b.inputs.forceDestroy).toBe(false);
    expect(runs.dev.get(T.objectLock, "buckets-audit-exports").inputs.rule.defaultRetention).toEqual({ mode: "GOVERNANCE", days: 1 });
    expect(runs.prod.get(T.objectLock, "buckets-audit-exports").inputs.rule.defaultRetention).toEqual({ mode: "COMPLIANCE", days: 2192 });
  });

  test("Pulumi protect: on the instance, every KMS key, bucket and backup vault in prod; on nothing in dev", () => {
    const guarded = [T.instance, T.key, T.bucket, T.vault];
    const prodGuarded = runs.prod.resources.filter((r) => guarded.includes(r.type));
    expect(prodGuarded.map((r) => r.name).sort()).toEqual(
      [
        "backups-dr-vault",
        "backups-vault",
        "buckets-access-logs",
        "buckets-audit-exports",
        "buckets-documents",
        "buckets-dr-access-logs",
        "buckets-dr-audit-exports",
        "buckets-dr-documents",
        "database-instance",
        "keys-backups",
        "keys-buckets",
        "keys-database",
        "keys-dr",
        "keys-monitoring",
        "keys-secrets",
      ].sort(),
    );
    for (const r of prodGuarded) expect([r.type, r.name, r.options.protect]).toEqual([r.type, r.name, true]);
    // and only those (a protected subnet group or role would only make `pulumi destroy` fail)
    const others = runs.prod.resources.filter((r) => !guarded.includes(r.type) && r.options.protect === true);
    expect(others.map((r) => `${r.type} ${r.name}`)).toEqual([]);
    // dev: nothing is protected (explicit false on the same resources)
    expect(runs.dev.resources.filter((r) => r.options.protect === true).map((r) => `${r.type} ${r.name}`)).toEqual([]);
    for (const r of runs.dev.resources.filter((x) => guarded.includes(x.type))) expect([r.type, r.name, r.options.protect]).toEqual([r.type, r.name, false]);
  });

  test("protect follows phi-db:deletionProtection, not the stack's name", async () => {
    const run = await runProgram("dev", { overrides: { "phi-db:deletionProtection": true } });
    expect(run.get(T.instance, "database-instance").options.protect).toBe(true);
    expect(run.get(T.instance, "database-instance").inputs.deletionProtection).toBe(true);
    for (const r of [...run.ofType(T.key), ...run.ofType(T.bucket), ...run.ofType(T.vault)]) expect([r.name, r.options.protect]).toEqual([r.name, true]);
  });

  test("log retention", () => {
    expect(runs.dev.get(T.logGroup, "database-log-postgresql").inputs.retentionInDays).toBe(30);
    expect(runs.prod.get(T.logGroup, "database-log-postgresql").inputs.retentionInDays).toBe(2192);
  });
});

describe("variants", () => {
  test("local creates no AWS resource at all", async () => {
    const run = await runProgram("local");
    expect(run.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("random:") || r.type === T.provider || r.type.startsWith("phi-db:"))).toEqual([]);
    expect(run.outputs).toEqual({ environment: "local" });
  });

  test("the endpoint override (SSM port-forward) is what clients are told to connect to", async () => {
    const run = await runProgram("dev", { overrides: { "phi-db:endpointHost": "127.0.0.1", "phi-db:endpointPort": 15432 } });
    expect(run.outputs.dbConnectHost).toBe("127.0.0.1");
    expect(run.outputs.dbConnectPort).toBe(15432);
    // the real endpoint is still exported, and the instance keeps listening on 5432
    expect(run.outputs.dbEndpoint).toMatch(/rds\.amazonaws\.com:5432$/);
    expect(run.get(T.instance, "database-instance").inputs.port).toBe(5432);
  });

  test("the parameter group family follows the engine major version", async () => {
    const run = await runProgram("dev", { overrides: { "phi-db:engineVersion": "16" } });
    expect(run.get(T.params, "database-params").inputs.family).toBe("postgres16");
    expect(run.get(T.instance, "database-instance").inputs.engineVersion).toBe("16");
  });

  test("a preview before RDS created the managed secret (first deploy, or the switch from a generated password) does not fail and reads no secret", async () => {
    const run = await runProgram("dev", {
      preview: true,
      state: ({ type, inputs }) =>
        type === T.instance
          ? { ...inputs, arn: "arn:aws:rds:us-east-1:111111111111:db:phi-db-dev", address: "phi-db-dev.example", port: 5432, endpoint: "phi-db-dev.example:5432", resourceId: "db-PREVIEW", masterUserSecrets: [] }
          : type === T.secret
            ? { ...inputs } // a login secret not created yet: its ARN is unknown in the preview
            : undefined,
    });
    expect(run.calls.filter((x) => x.token === "aws:secretsmanager/getSecretVersion:getSecretVersion")).toEqual([]);
    expect(isUnknown(run.get("pulumi-nodejs:dynamic/phi-db:DatabaseSchema", "schema").inputs.connection)).toBe(true);
    expect(isUnknown(run.get(T.secretRotation, "database-master-rotation").inputs.secretId)).toBe(true);
    expect(isUnknown(run.get(T.pgProvider, "access-provider").inputs.password)).toBe(true);
    expect(isUnknown(run.outputs.dbMasterSecretArn)).toBe(true);
  });

  test("an https endpoint (an on-call service) is subscribed over https, its URL kept secret", async () => {
    const url = "https://events.example-oncall.com/integration/abc123token/enqueue";
    const run = await runProgram("dev", { overrides: { "phi-db:alarmEndpoints": ["ops@example.com", url] } });
    const subs = run.ofType(T.topicSubscription);
    expect(subs.map((x) => [x.inputs.protocol, x.inputs.endpoint])).toEqual([
      ["email", "ops@example.com"],
      ["https", url],
    ]);
    expect(subs[1].secretInputs).toContain("endpoint");
    expect(JSON.stringify(withoutSecrets(subs[1].rawInputs))).not.toContain("abc123token");
  });

  test("a bad value stops the program with the named error", async () => {
    await expect(runProgram("prod", { overrides: { "phi-db:deletionProtection": false } })).rejects.toThrow("config phi-db:deletionProtection: must be true in prod, got false");
    await expect(runProgram("dev", { overrides: { "phi-db:allowedCidrBlocks": ["0.0.0.0/0"] } })).rejects.toThrow(/config phi-db:allowedCidrBlocks: expected a list of distinct private IPv4 CIDRs/);
    await expect(runProgram("prod", { overrides: { "phi-db:alarmEndpoints": [] } })).rejects.toThrow("config phi-db:alarmEndpoints: must name at least one subscriber in prod");
    await expect(runProgram("dev", { overrides: { "phi-db:drVpcId": "vpc-0e1d2c3b4a5f69799" } })).rejects.toThrow("config phi-db:drPrivateSubnetIds: drVpcId and drPrivateSubnetIds must be set together");
  });
});
