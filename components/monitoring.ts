/**
 * Monitoring of the database: one SNS topic (SSE-KMS under the monitoring CMK, a topic policy that
 * lets only this account's CloudWatch alarms and RDS events publish, TLS only) with the subscribers
 * the stack names, CloudWatch alarms on the instance's metrics, and RDS event subscriptions for the
 * instance and its parameter group.
 *
 * The alarm set follows what terraform-aws-modules users pair with their rds module (the community
 * rds-alarms / rds-cloudwatch-sns-alarms modules) and AWS's recommended RDS alarms: CPU, free
 * storage, freeable memory, swap, connections, read/write latency, disk queue depth and, for
 * PostgreSQL, transaction-id wraparound. ReplicaLag is left out (there is no read replica) and so is
 * TransactionLogsDiskUsage (no replication slots; FreeStorageSpace catches its effect). The RDS events
 * cover what no metric shows: failover, failure, maintenance, low storage, configuration changes
 * (Security Hub RDS.20 and RDS.21 ask for exactly these subscriptions).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { infraDefault, partitionOf } from "./config";
import type { AlarmTopicNames, PolicyDocument } from "./keys";

/** Thresholds of the instance alarms (the phi-db:alarm* keys). */
export interface AlarmThresholds {
  cpuUtilizationPercent: number;
  freeStorageSpaceGb: number;
  freeableMemoryMb: number;
  swapUsageMb: number;
  databaseConnections: number;
  ioLatencyMs: number;
  diskQueueDepth: number;
  maximumUsedTransactionIds: number;
}

/** One CloudWatch alarm on an AWS/RDS metric of the instance. */
export interface AlarmSpec {
  /** Suffix of the alarm name (`<prefix><slug>`) and of the resource name. */
  slug: string;
  metricName: string;
  statistic: "Average" | "Maximum" | "Minimum";
  comparisonOperator: "GreaterThanThreshold" | "LessThanThreshold";
  /** In the metric's unit (bytes, seconds, percent, count). */
  threshold: number;
  period: number;
  evaluationPeriods: number;
  description: string;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** Sustained problems: 3 periods of 5 minutes. */
const SUSTAINED = { period: 300, evaluationPeriods: 3 };
/** Conditions that do not go away by themselves: one 5-minute period. */
const AT_ONCE = { period: 300, evaluationPeriods: 1 };

/** The instance alarms for these thresholds (pure; snapshot-tested). */
export function instanceAlarms(t: AlarmThresholds): AlarmSpec[] {
  return [
    { slug: "cpu-utilization", metricName: "CPUUtilization", statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: t.cpuUtilizationPercent, ...SUSTAINED, description: `CPU above ${t.cpuUtilizationPercent}% for 15 minutes` },
    {
      slug: "free-storage-space",
      metricName: "FreeStorageSpace",
      statistic: "Minimum",
      comparisonOperator: "LessThanThreshold",
      threshold: t.freeStorageSpaceGb * GIB,
      ...AT_ONCE,
      description: `less than ${t.freeStorageSpaceGb} GiB of storage free (autoscaling did not keep up or reached its ceiling)`,
    },
    { slug: "freeable-memory", metricName: "FreeableMemory", statistic: "Average", comparisonOperator: "LessThanThreshold", threshold: t.freeableMemoryMb * MIB, ...SUSTAINED, description: `less than ${t.freeableMemoryMb} MiB of memory free for 15 minutes` },
    { slug: "swap-usage", metricName: "SwapUsage", statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: t.swapUsageMb * MIB, ...SUSTAINED, description: `more than ${t.swapUsageMb} MiB of swap in use for 15 minutes` },
    { slug: "database-connections", metricName: "DatabaseConnections", statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: t.databaseConnections, ...SUSTAINED, description: `more than ${t.databaseConnections} connections for 15 minutes` },
    { slug: "read-latency", metricName: "ReadLatency", statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: t.ioLatencyMs / 1000, ...SUSTAINED, description: `read latency above ${t.ioLatencyMs} ms for 15 minutes` },
    { slug: "write-latency", metricName: "WriteLatency", statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: t.ioLatencyMs / 1000, ...SUSTAINED, description: `write latency above ${t.ioLatencyMs} ms for 15 minutes` },
    { slug: "disk-queue-depth", metricName: "DiskQueueDepth", statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: t.diskQueueDepth, ...SUSTAINED, description: `more than ${t.diskQueueDepth} outstanding I/O requests for 15 minutes` },
    {
      slug: "maximum-used-transaction-ids",
      metricName: "MaximumUsedTransactionIDs",
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: t.maximumUsedTransactionIds,
      ...AT_ONCE,
      description: `more than ${t.maximumUsedTransactionIds} transaction ids in use: vacuum is behind, PostgreSQL stops writes near 2.1 billion (wraparound)`,
    },
  ];
}

/** RDS event categories of the instance the topic receives (everything but routine backups, creation and read replicas). */
export const INSTANCE_EVENT_CATEGORIES = [
  "availability",
  "configuration change",
  "deletion",
  "failover",
  "failure",
  "low storage",
  "maintenance",
  "notification",
  "recovery",
  "restoration",
  "security patching",
];

/** RDS event categories of the parameter group (Security Hub RDS.21). */
export const PARAMETER_GROUP_EVENT_CATEGORIES = ["configuration change"];

/** SNS protocol of a subscriber (config.ts allows only email addresses and https URLs). */
export function subscriptionProtocol(endpoint: string): "email" | "https" {
  return endpoint.startsWith("https://") ? "https" : "email";
}

/**
 * Topic policy (pure; snapshot-tested): the account manages the topic; CloudWatch may publish only for
 * this account's alarms named with the prefix, RDS only for this account's RDS resources in the
 * region (both confused-deputy guarded); nothing is accepted over plain HTTP.
 */
export function alarmTopicPolicy(a: { topicArn: string; accountId: string; region: string; alarmNamePrefix: string }): PolicyDocument {
  const partition = partitionOf(a.region);
  const fromThisAccount = { StringEquals: { "aws:SourceAccount": a.accountId } };
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountManagesTopic",
        Effect: "Allow",
        Principal: { AWS: `arn:${partition}:iam::${a.accountId}:root` },
        Action: ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"],
        Resource: a.topicArn,
      },
      {
        Sid: "CloudWatchAlarmsPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "sns:Publish",
        Resource: a.topicArn,
        Condition: { ...fromThisAccount, ArnLike: { "aws:SourceArn": `arn:${partition}:cloudwatch:${a.region}:${a.accountId}:alarm:${a.alarmNamePrefix}*` } },
      },
      {
        Sid: "RdsEventsPublish",
        Effect: "Allow",
        Principal: { Service: "events.rds.amazonaws.com" },
        Action: "sns:Publish",
        Resource: a.topicArn,
        Condition: { ...fromThisAccount, ArnLike: { "aws:SourceArn": `arn:${partition}:rds:${a.region}:${a.accountId}:*` } },
      },
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: ["sns:Publish", "sns:Subscribe"],
        Resource: a.topicArn,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

export interface MonitoringArgs extends AlarmTopicNames {
  environment: string;
  accountId: string;
  region: string;
  /** The watched instance. */
  instanceIdentifier: pulumi.Input<string>;
  /** Its parameter group (configuration changes are reported). */
  parameterGroupName: pulumi.Input<string>;
  /** Key of the topic (its policy must admit CloudWatch and RDS events: keys.ts alarmPublisherStatements). */
  kmsKeyArn: pulumi.Input<string>;
  /** Email addresses and https:// URLs subscribed to the topic. Defaults to none. */
  endpoints?: string[];
  /** Alarm thresholds. Each defaults to the default of its phi-db:alarm* key. */
  thresholds?: Partial<AlarmThresholds>;
}

export class Monitoring extends pulumi.ComponentResource {
  public readonly topicArn: pulumi.Output<string>;
  public readonly alarmNames: pulumi.Output<string>[];
  public readonly topic: aws.sns.Topic;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:monitoring:Monitoring", name, {}, opts);
    const t = args.thresholds ?? {};
    const thresholds: AlarmThresholds = {
      cpuUtilizationPercent: t.cpuUtilizationPercent ?? infraDefault("alarmCpuUtilizationPercent"),
      freeStorageSpaceGb: t.freeStorageSpaceGb ?? infraDefault("alarmFreeStorageSpaceGb"),
      freeableMemoryMb: t.freeableMemoryMb ?? infraDefault("alarmFreeableMemoryMb"),
      swapUsageMb: t.swapUsageMb ?? infraDefault("alarmSwapUsageMb"),
      databaseConnections: t.databaseConnections ?? infraDefault("alarmDatabaseConnections"),
      ioLatencyMs: t.ioLatencyMs ?? infraDefault("alarmIoLatencyMs"),
      diskQueueDepth: t.diskQueueDepth ?? infraDefault("alarmDiskQueueDepth"),
      maximumUsedTransactionIds: t.maximumUsedTransactionIds ?? infraDefault("alarmMaximumUsedTransactionIds"),
    };

    this.topic = new aws.sns.Topic(
      `${name}-alarms`,
      { name: args.topicName, displayName: `phi-db ${args.environment} database alarms`, kmsMasterKeyId: args.kmsKeyArn },
      { parent: this },
    );
    const policy = new aws.sns.TopicPolicy(
      `${name}-alarms`,
      {
        arn: this.topic.arn,
        policy: this.topic.arn.apply((topicArn) => JSON.stringify(alarmTopicPolicy({ topicArn, accountId: args.accountId, region: args.region, alarmNamePrefix: args.alarmNamePrefix }))),
      },
      { parent: this },
    );
    (args.endpoints ?? []).forEach((endpoint, i) => {
      const protocol = subscriptionProtocol(endpoint);
      new aws.sns.TopicSubscription(
        `${name}-subscriber-${i}`,
        // An https URL may carry an integration token: kept secret in state.
        { topic: this.topic.arn, protocol, endpoint: protocol === "https" ? pulumi.secret(endpoint) : endpoint },
        { parent: this },
      );
    });

    const publishers = { parent: this, dependsOn: [policy] };
    this.alarmNames = instanceAlarms(thresholds).map(
      (a) =>
        new aws.cloudwatch.MetricAlarm(
          `${name}-${a.slug}`,
          {
            name: `${args.alarmNamePrefix}${a.slug}`,
            alarmDescription: `phi-db ${args.environment}: ${a.description}`,
            namespace: "AWS/RDS",
            metricName: a.metricName,
            dimensions: { DBInstanceIdentifier: args.instanceIdentifier },
            statistic: a.statistic,
            comparisonOperator: a.comparisonOperator,
            threshold: a.threshold,
            period: a.period,
            evaluationPeriods: a.evaluationPeriods,
            datapointsToAlarm: a.evaluationPeriods,
            // No data (instance stopped or gone) keeps the last state; the RDS events report why.
            treatMissingData: "missing",
            alarmActions: [this.topic.arn],
            okActions: [this.topic.arn],
          },
          publishers,
        ).name,
    );

    new aws.rds.EventSubscription(
      `${name}-instance-events`,
      { name: `${args.topicName}-instance`, snsTopic: this.topic.arn, sourceType: "db-instance", sourceIds: [args.instanceIdentifier], eventCategories: INSTANCE_EVENT_CATEGORIES, enabled: true },
      publishers,
    );
    new aws.rds.EventSubscription(
      `${name}-parameter-group-events`,
      { name: `${args.topicName}-parameter-group`, snsTopic: this.topic.arn, sourceType: "db-parameter-group", sourceIds: [args.parameterGroupName], eventCategories: PARAMETER_GROUP_EVENT_CATEGORIES, enabled: true },
      publishers,
    );

    this.topicArn = this.topic.arn;
    this.registerOutputs({ topicArn: this.topicArn, alarmNames: this.alarmNames });
  }
}
