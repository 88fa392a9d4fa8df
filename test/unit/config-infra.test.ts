/**
 * The infrastructure section of the stack config: real stack files parse, defaults are the strict
 * choice, every bad value fails with an error naming its key, cross-key rules and the production
 * floor hold, and `local` needs no AWS keys at all.
 */
import {
  INFRA_SPEC,
  InfraConfig,
  PROD_FLOOR,
  RawConfig,
  infraDefault,
  isPrivateCidr,
  parameterGroupFamily,
  parseInfraConfig,
  parseStackConfig,
  partitionOf,
  windowsOverlap,
} from "../../components/config";
import { readStackFile, toEngineConfig } from "../support/mocks";
import { configError } from "../support/config-error";

/** The smallest valid AWS stack: only the required keys. */
const MINIMAL: RawConfig = {
  "phi-db:environment": "staging",
  "phi-db:accountId": "123456789012",
  "phi-db:region": "eu-central-1",
  "phi-db:drRegion": "eu-west-1",
  "phi-db:vpcId": "vpc-0123456789abcdef0",
  "phi-db:privateSubnetIds": JSON.stringify(["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]),
  "phi-db:allowedSecurityGroupIds": JSON.stringify(["sg-0123456789abcdef0"]),
};

const REQUIRED = ["accountId", "region", "drRegion", "vpcId", "privateSubnetIds"];

/** A valid DR-region network. */
const DR_VPC = "vpc-0fedcba9876543210";
const DR_SUBNETS = JSON.stringify(["subnet-0fedcba9876543210", "subnet-0fedcba9876543211"]);
const DR_SGS = JSON.stringify(["sg-0fedcba9876543210"]);

function infra(overrides: RawConfig = {}, env: "dev" | "staging" | "prod" = "staging"): InfraConfig {
  const raw: RawConfig = { ...MINIMAL, "phi-db:environment": env, ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete raw[k];
  return parseStackConfig(raw, env).infra as InfraConfig;
}

describe("stack files", () => {
  const dev = parseStackConfig(toEngineConfig(readStackFile("dev")), "dev");
  const prod = parseStackConfig(toEngineConfig(readStackFile("prod")), "prod");

  test("dev is small and cheap but keeps its final snapshot", () => {
    const i = dev.infra!;
    expect(i.multiAz).toBe(false);
    expect(i.backupRetentionDays).toBe(7);
    expect(i.deletionProtection).toBe(false);
    expect(i.instanceClass).toBe("db.t4g.medium");
    expect(i.crossRegionBackupReplication).toBe(false);
    expect(i.backupVaultLockMode).toBe("none");
    expect(i.restoreTesting).toBe(false);
    expect(i.bucketForceDestroy).toBe(true);
    expect(i.drVpcId).toBeNull();
  });

  test("prod is strict", () => {
    const i = prod.infra!;
    expect(i.multiAz).toBe(true);
    expect(i.backupRetentionDays).toBe(35);
    expect(i.deletionProtection).toBe(true);
    expect(i.crossRegionBackupReplication).toBe(true);
    expect(i.bucketReplication).toBe(true);
    expect(i.backupVaultLockMode).toBe("compliance");
    expect(i.restoreTesting).toBe(true);
    expect(i.bucketForceDestroy).toBe(false);
    expect(i.auditObjectLockMode).toBe("COMPLIANCE");
    expect(i.logRetentionDays).toBe(2192);
    expect(i.alarmEndpoints.length).toBeGreaterThan(0);
    expect(i.drVpcId).toMatch(/^vpc-/);
    expect(i.drPrivateSubnetIds.length).toBeGreaterThanOrEqual(2);
    expect(i.drRegion).not.toBe(i.region);
  });

  test("the database layer keys are still read unchanged", () => {
    expect(dev.database.environment).toBe("dev");
    expect(dev.database.allowRollback).toBe(true);
    expect(prod.database.allowRollback).toBe(false);
    expect(prod.database.migrationLockWaitSeconds).toBe(300);
  });

  test("local has no AWS: no infra keys needed, infra is undefined", () => {
    const local = parseStackConfig(toEngineConfig(readStackFile("local")), "local");
    expect(local.infra).toBeUndefined();
    expect(local.database.environment).toBe("local");
    // and local ignores infra keys rather than validating them
    expect(parseStackConfig({ "phi-db:environment": "local", "phi-db:region": "nowhere" }, "local").infra).toBeUndefined();
  });
});

describe("defaults are the strict choice", () => {
  const c = infra();
  test.each([
    ["multiAz", true],
    ["deletionProtection", true],
    ["backupRetentionDays", 35],
    ["crossRegionBackupReplication", true],
    ["bucketReplication", true],
    ["backupVaultLockMode", "compliance"],
    ["restoreTesting", true],
    ["bucketForceDestroy", false],
    ["autoMinorVersionUpgrade", true],
    ["applyImmediately", false],
    ["storageType", "gp3"],
    ["engineVersion", "17"],
    ["keyDeletionWindowDays", 30],
    ["masterPasswordRotationDays", 7],
    ["loginPasswordRotationDays", 30],
    ["secretsManagerEndpoint", true],
    ["auditObjectLockMode", "COMPLIANCE"],
    ["logRetentionDays", 2192],
    ["endpointHost", null],
    ["endpointPort", null],
    ["drVpcId", null],
    ["drPrivateSubnetIds", []],
    ["alarmEndpoints", []],
    ["alarmCpuUtilizationPercent", 80],
    ["alarmFreeStorageSpaceGb", 10],
    ["alarmMaximumUsedTransactionIds", 1000000000],
  ] as Array<[keyof InfraConfig, unknown]>)("%s defaults to %p", (key, value) => {
    expect(c[key]).toEqual(value);
    expect(infraDefault(key)).toEqual(value);
  });

  test("every key is documented; only the account, regions and network are required", () => {
    for (const [key, spec] of Object.entries(INFRA_SPEC)) {
      expect(spec.doc.length).toBeGreaterThan(10);
      expect(spec.default === undefined).toBe(REQUIRED.includes(key));
    }
  });

  test("infraDefault refuses a required key", () => {
    expect(() => infraDefault("accountId")).toThrow(/phi-db:accountId has no default/);
  });
});

describe("missing required keys", () => {
  test.each(REQUIRED)("%s", (key) => {
    const e = configError(() => infra({ [`phi-db:${key}`]: undefined }));
    expect(e.key).toBe(key);
    expect(e.message).toBe(`config phi-db:${key}: is required`);
  });
});

/** One bad value per key (at least), with the words its error must contain. */
const BAD: Array<[string, unknown, RegExp]> = [
  ["accountId", "12345", /expected a 12-digit AWS account id, got "12345"/],
  ["region", "moon-1", /expected an AWS region/],
  ["drRegion", "US-WEST-2", /expected an AWS region/],
  ["administratorArns", JSON.stringify(["arn:aws:iam::123456789012:group/admins"]), /IAM role\/user ARNs/],
  ["administratorArns", "not json", /expected a list of strings/],
  ["tags", JSON.stringify(["a"]), /expected a map of strings/],
  ["vpcId", "vpc-xyz", /expected a VPC id/],
  ["privateSubnetIds", JSON.stringify(["subnet-0123456789abcdef0"]), /at least two distinct private subnet ids/],
  ["privateSubnetIds", JSON.stringify(["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]), /at least two distinct/],
  ["allowedSecurityGroupIds", JSON.stringify(["sg-1"]), /security group ids/],
  ["allowedCidrBlocks", JSON.stringify(["0.0.0.0/0"]), /private IPv4 CIDRs/],
  ["allowedCidrBlocks", JSON.stringify(["52.1.2.3/32"]), /private IPv4 CIDRs/],
  ["endpointHost", "", /expected a non-empty string/],
  ["endpointPort", "70000", /1 to 65535/],
  ["endpointPort", "abc", /expected a whole number/],
  ["drVpcId", "vpc-xyz", /expected a VPC id \(vpc-…\) in drRegion, got "vpc-xyz"/],
  ["drPrivateSubnetIds", JSON.stringify(["subnet-0123456789abcdef0"]), /none, or at least two distinct private subnet ids/],
  ["drPrivateSubnetIds", JSON.stringify(["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]), /none, or at least two distinct/],
  ["drAllowedSecurityGroupIds", JSON.stringify(["sg-1"]), /security group ids \(sg-…\) of drVpcId/],
  ["drAllowedCidrBlocks", JSON.stringify(["0.0.0.0/0"]), /private IPv4 CIDRs/],
  ["engineVersion", "14.9", /PostgreSQL version 15\/16\/17/],
  ["engineVersion", "latest", /PostgreSQL version/],
  ["instanceClass", "db.t4g.micro", /medium or larger/],
  ["instanceClass", "m5.large", /instance class/],
  ["storageType", "gp2", /expected one of gp3, io2, got "gp2"/],
  ["allocatedStorageGb", "10", /20 to 65536 GiB/],
  ["maxAllocatedStorageGb", "99999", /21 to 65536 GiB/],
  ["multiAz", "yes", /expected true or false, got "yes"/],
  ["masterUsername", "postgres", /other than postgres/],
  ["masterUsername", "Admin", /lower-case identifier/],
  ["caCertIdentifier", "rds-ca-2019", /expected one of rds-ca-rsa2048-g1/],
  ["applyImmediately", "1", /expected true or false/],
  ["autoMinorVersionUpgrade", "no", /expected true or false/],
  ["maintenanceWindow", "sunday:04:00-sunday:05:00", /ddd:hh:mm-ddd:hh:mm/],
  ["maintenanceWindow", "sun:04:00-sun:04:10", /at least 30 minutes/],
  ["deletionProtection", "maybe", /expected true or false/],
  ["monitoringIntervalSeconds", "0", /expected one of 1, 5, 10, 15, 30, 60, got 0/],
  ["performanceInsightsRetentionDays", "30", /7, a multiple of 31/],
  ["logRetentionDays", "0", /expected one of 1, 3, 5/],
  ["logRetentionDays", "10", /expected one of 1, 3, 5/],
  ["rdsLogRetentionMinutes", "60", /1440 to 10080 minutes/],
  ["logMinDurationStatementMs", "-5", /-1 to 3600000/],
  ["idleInTransactionSessionTimeoutMs", "0", /1000 to 86400000 ms/],
  ["pgauditLog", "ddl,everything", /comma list of pgaudit classes/],
  ["pgauditLog", "none", /not none/],
  ["pgauditRole", "Audit Role", /lower-case role name/],
  ["masterPasswordRotationDays", "0", /1 to 90 days, got 0/],
  ["masterPasswordRotationDays", "365", /1 to 90 days/],
  ["loginPasswordRotationDays", "0", /1 to 90 days, got 0/],
  ["loginPasswordRotationDays", "91", /1 to 90 days, got 91/],
  ["loginPasswordRotationDays", "monthly", /expected a whole number, got "monthly"/],
  ["secretsManagerEndpoint", "yes", /expected true or false, got "yes"/],
  ["keyDeletionWindowDays", "3", /7 to 30 days/],
  ["backupRetentionDays", "0", /1 to 35 days/],
  ["backupRetentionDays", "36", /1 to 35 days/],
  ["backupWindow", "3:00-3:30", /hh:mm-hh:mm/],
  ["backupWindow", "03:00-03:15", /at least 30 minutes/],
  ["backupSnapshotRetentionDays", "1", /7 to 36500 days/],
  ["crossRegionBackupReplication", "on", /expected true or false/],
  ["backupVaultLockMode", "strict", /expected one of compliance, governance, none/],
  ["backupVaultLockChangeableDays", "1", /3 to 365 days/],
  ["restoreTesting", "weekly", /expected true or false/],
  ["restoreTestingSchedule", "every sunday", /schedule expression/],
  ["bucketReplication", "2", /expected true or false/],
  ["bucketForceDestroy", "please", /expected true or false/],
  ["bucketArchiveAfterDays", "0", /1 to 3650 days/],
  ["bucketArchiveStorageClass", "STANDARD_IA", /expected one of GLACIER_IR, GLACIER, DEEP_ARCHIVE/],
  ["noncurrentVersionExpireDays", "0", /1 to 36500 days/],
  ["auditObjectLockMode", "compliance", /expected one of COMPLIANCE, GOVERNANCE/],
  ["auditObjectLockDays", "0", /1 to 36500 days/],
  ["alarmEndpoints", JSON.stringify(["oncall"]), /a list of distinct email addresses or https:\/\/ URLs, got \["oncall"\]/],
  ["alarmEndpoints", JSON.stringify(["http://hooks.example.com/alarm"]), /email addresses or https:\/\/ URLs/],
  ["alarmEndpoints", JSON.stringify(["ops@example.com", "ops@example.com"]), /distinct/],
  ["alarmEndpoints", "ops@example.com", /expected a list of strings/],
  ["alarmCpuUtilizationPercent", "101", /1 to 100 %/],
  ["alarmFreeStorageSpaceGb", "0", /1 to 65536 GiB/],
  ["alarmFreeableMemoryMb", "8", /16 to 1048576 MiB/],
  ["alarmSwapUsageMb", "0", /1 to 1048576 MiB/],
  ["alarmDatabaseConnections", "0", /1 to 100000/],
  ["alarmIoLatencyMs", "0", /1 to 10000 ms/],
  ["alarmDiskQueueDepth", "lots", /expected a whole number/],
  ["alarmMaximumUsedTransactionIds", "3000000000", /100000000 to 2000000000/],
];

describe("each bad value gives its named error", () => {
  test("the table covers every infrastructure key", () => {
    expect(new Set(BAD.map(([k]) => k))).toEqual(new Set(Object.keys(INFRA_SPEC)));
  });

  test.each(BAD)("%s = %p", (key, value, words) => {
    // endpointHost/Port are validated as a pair; give the other one a valid value.
    const partner = key === "endpointHost" ? { "phi-db:endpointPort": "15432" } : key === "endpointPort" ? { "phi-db:endpointHost": "127.0.0.1" } : {};
    const e = configError(() => infra({ ...partner, [`phi-db:${key}`]: value }));
    expect(e.key).toBe(key);
    expect(e.message.startsWith(`config phi-db:${key}: `)).toBe(true);
    expect(e.message).toMatch(words);
  });

  test("structured YAML values are accepted as the engine passes them (JSON strings)", () => {
    const c = infra({ "phi-db:allowedCidrBlocks": JSON.stringify(["10.0.0.0/8", "100.64.1.0/24"]), "phi-db:tags": JSON.stringify({ Team: "x" }) });
    expect(c.allowedCidrBlocks).toEqual(["10.0.0.0/8", "100.64.1.0/24"]);
    expect(c.tags).toEqual({ Team: "x" });
  });
});

describe("rules across keys", () => {
  test.each<[string, RawConfig, string, RegExp]>([
    ["DR region equal to the region", { "phi-db:drRegion": "eu-central-1" }, "drRegion", /must differ from region/],
    ["DR region in another partition", { "phi-db:drRegion": "us-gov-west-1" }, "drRegion", /same partition/],
    ["autoscaling ceiling not above the allocation", { "phi-db:allocatedStorageGb": "500", "phi-db:maxAllocatedStorageGb": "500" }, "maxAllocatedStorageGb", /greater than allocatedStorageGb \(500\)/],
    ["pinned minor with auto minor upgrades", { "phi-db:engineVersion": "17.4" }, "engineVersion", /pin only the major version \(e\.g\. 17\)/],
    ["no client can reach the database", { "phi-db:allowedSecurityGroupIds": "[]" }, "allowedSecurityGroupIds", /at least one client security group/],
    ["endpoint host without port", { "phi-db:endpointHost": "127.0.0.1" }, "endpointPort", /set together/],
    ["endpoint port without host", { "phi-db:endpointPort": "15432" }, "endpointHost", /set together/],
    ["maintenance overlapping the backup window", { "phi-db:backupWindow": "04:00-05:00", "phi-db:maintenanceWindow": "wed:04:30-wed:05:30" }, "maintenanceWindow", /must not overlap backupWindow/],
    ["force destroy outside local/dev", { "phi-db:bucketForceDestroy": "true" }, "bucketForceDestroy", /must be false in staging/],
    ["vault lock shorter than PITR", { "phi-db:backupSnapshotRetentionDays": "30" }, "backupSnapshotRetentionDays", /at least backupRetentionDays \(35\)/],
    ["aws:region disagreeing", { "aws:region": "us-east-1" }, "region", /must agree with aws:region/],
    ["DR subnets without the DR VPC", { "phi-db:drPrivateSubnetIds": DR_SUBNETS }, "drVpcId", /drVpcId and drPrivateSubnetIds must be set together/],
    ["DR VPC without DR subnets", { "phi-db:drVpcId": DR_VPC }, "drPrivateSubnetIds", /drVpcId and drPrivateSubnetIds must be set together/],
    ["DR client groups without a DR network", { "phi-db:drAllowedSecurityGroupIds": DR_SGS }, "drAllowedSecurityGroupIds", /needs drVpcId/],
    ["DR client CIDRs without a DR network", { "phi-db:drAllowedCidrBlocks": '["10.40.0.0/16"]' }, "drAllowedCidrBlocks", /needs drVpcId/],
    ["a DR network nobody can reach", { "phi-db:drVpcId": DR_VPC, "phi-db:drPrivateSubnetIds": DR_SUBNETS }, "drAllowedSecurityGroupIds", /at least one DR client security group or drAllowedCidrBlocks/],
    [
      "a DR network without replicated backups to restore",
      { "phi-db:drVpcId": DR_VPC, "phi-db:drPrivateSubnetIds": DR_SUBNETS, "phi-db:drAllowedSecurityGroupIds": DR_SGS, "phi-db:crossRegionBackupReplication": "false" },
      "drVpcId",
      /needs crossRegionBackupReplication: true/,
    ],
    ["free-storage alarm at the allocation", { "phi-db:allocatedStorageGb": "20", "phi-db:maxAllocatedStorageGb": "100", "phi-db:alarmFreeStorageSpaceGb": "20" }, "alarmFreeStorageSpaceGb", /less than allocatedStorageGb \(20\)/],
  ])("%s", (_what, overrides, key, words) => {
    const e = configError(() => infra(overrides));
    expect(e.key).toBe(key);
    expect(e.message).toMatch(words);
  });

  test("the same values pass when consistent", () => {
    expect(infra({ "phi-db:engineVersion": "17.4", "phi-db:autoMinorVersionUpgrade": "false" }).engineVersion).toBe("17.4");
    expect(infra({ "phi-db:endpointHost": "127.0.0.1", "phi-db:endpointPort": "15432" }).endpointPort).toBe(15432);
    expect(infra({ "phi-db:allowedSecurityGroupIds": "[]", "phi-db:allowedCidrBlocks": '["10.1.0.0/16"]' }).allowedCidrBlocks).toEqual(["10.1.0.0/16"]);
    expect(infra({ "aws:region": "eu-central-1" }).region).toBe("eu-central-1");
    expect(infra({ "phi-db:bucketForceDestroy": "true" }, "dev").bucketForceDestroy).toBe(true);
    const dr = infra({ "phi-db:drVpcId": DR_VPC, "phi-db:drPrivateSubnetIds": DR_SUBNETS, "phi-db:drAllowedCidrBlocks": '["10.40.0.0/16"]' });
    expect([dr.drVpcId, dr.drPrivateSubnetIds, dr.drAllowedSecurityGroupIds, dr.drAllowedCidrBlocks]).toEqual([DR_VPC, JSON.parse(DR_SUBNETS), [], ["10.40.0.0/16"]]);
    expect(infra({ "phi-db:allocatedStorageGb": "20", "phi-db:maxAllocatedStorageGb": "100", "phi-db:alarmFreeStorageSpaceGb": "19" }).alarmFreeStorageSpaceGb).toBe(19);
    expect(infra({ "phi-db:alarmEndpoints": '["ops@example.com","https://events.example.com/hook/x"]' }).alarmEndpoints).toEqual(["ops@example.com", "https://events.example.com/hook/x"]);
  });
});

describe("production floor", () => {
  const prodRaw = toEngineConfig(readStackFile("prod"));
  const relaxed: Record<string, string> = {
    deletionProtection: "false",
    multiAz: "false",
    bucketForceDestroy: "true",
    crossRegionBackupReplication: "false",
    bucketReplication: "false",
    backupVaultLockMode: "governance",
    restoreTesting: "false",
    auditObjectLockMode: "GOVERNANCE",
    alarmEndpoints: "[]",
  };

  test("covers every floor entry", () => {
    expect(Object.keys(relaxed).sort()).toEqual(PROD_FLOOR.map((f) => f.key).sort());
  });

  test.each(Object.entries(relaxed))("prod refuses %s = %s", (key, value) => {
    const e = configError(() => parseInfraConfig({ ...prodRaw, [`phi-db:${key}`]: value }, "prod"));
    expect(e.key).toBe(key);
    expect(e.message).toMatch(/in prod/);
  });

  test.each(Object.entries(relaxed))("dev may set %s = %s", (key, value) => {
    const devRaw = toEngineConfig(readStackFile("dev"));
    expect(() => parseInfraConfig({ ...devRaw, [`phi-db:${key}`]: value }, "dev")).not.toThrow();
  });
});

describe("helpers", () => {
  test("windowsOverlap", () => {
    expect(windowsOverlap("03:00-03:30", "sun:04:30-sun:05:30")).toBe(false);
    expect(windowsOverlap("03:00-03:30", "sun:03:15-sun:04:00")).toBe(true);
    expect(windowsOverlap("23:45-00:30", "mon:00:00-mon:01:00")).toBe(true); // backup wraps midnight
    expect(windowsOverlap("01:00-01:30", "sun:23:00-mon:01:15")).toBe(true); // maintenance wraps the day
    expect(windowsOverlap("03:00-03:30", "sat:23:00-sun:03:00")).toBe(false); // touching is not overlapping
    expect(windowsOverlap("12:00-12:30", "sun:23:30-mon:00:30")).toBe(false); // maintenance wraps the week
  });

  test("isPrivateCidr", () => {
    for (const ok of ["10.0.0.0/8", "10.20.0.0/16", "172.16.0.0/12", "172.31.255.0/24", "192.168.1.0/24", "100.64.0.0/10"]) expect(isPrivateCidr(ok)).toBe(true);
    for (const bad of ["0.0.0.0/0", "10.0.0.0/7", "172.32.0.0/16", "8.8.8.8/32", "192.169.0.0/16", "10.0.0.256/32", "10.0.0.0", "fd00::/8"]) expect(isPrivateCidr(bad)).toBe(false);
  });

  test("parameterGroupFamily follows the major version", () => {
    expect(parameterGroupFamily("17")).toBe("postgres17");
    expect(parameterGroupFamily("16.4")).toBe("postgres16");
  });

  test("partitionOf", () => {
    expect(partitionOf("us-east-1")).toBe("aws");
    expect(partitionOf("us-gov-west-1")).toBe("aws-us-gov");
    expect(partitionOf("cn-north-1")).toBe("aws-cn");
  });
});
