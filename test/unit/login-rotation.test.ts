/**
 * Rotation of the access model's login passwords (components/rotation.ts, the rotation parts of
 * components/network.ts) in the composed program under mocks, dev and prod: AWS's single-user
 * PostgreSQL rotation function from the Serverless Application Repository with its parameters, one
 * SecretRotation per login secret, the Lambda's network path and key, and the schema resource reading
 * the migrator's current password from its secret (never the initial RandomPassword).
 */
import { isUnknown } from "@pulumi/pulumi";
import { InfraConfig } from "../../components/config";
import { POSTGRES_SINGLE_USER_ROTATION_APP, ROTATION_EXCLUDE_CHARACTERS, rotationLambdaArnOf, rotationStackParameters } from "../../components/rotation";
import { loadAccessModel } from "../../migrator/access-model";
import { mockCurrentLoginPassword, ProgramRun, runProgram, runStacks, urnKey } from "../support/mocks";

const T = {
  sar: "aws:serverlessrepository/cloudFormationStack:CloudFormationStack",
  rotation: "aws:secretsmanager/secretRotation:SecretRotation",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  password: "random:index/randomPassword:RandomPassword",
  role: "postgresql:index/role:Role",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  key: "aws:kms/key:Key",
  schema: "pulumi-nodejs:dynamic/phi-db:DatabaseSchema",
};
const READ = "aws:secretsmanager/getSecretVersion:getSecretVersion";
const LOGINS = loadAccessModel().roles.filter((r) => r.auth === "password").map((r) => r.name).sort();

let runs: Record<string, ProgramRun> = {};
let cfg: Record<string, InfraConfig> = {};
beforeAll(async () => {
  ({ runs, cfg } = await runStacks(["dev", "prod"]));
}, 120000);

test("the model has at least the two password logins the platform needs", () => {
  expect(LOGINS).toEqual(expect.arrayContaining(["authenticator", "phi_migrator"]));
});

describe.each(["dev", "prod"])("%s stack", (env) => {
  const run = () => runs[env];
  const c = () => cfg[env];
  const lambdaArn = () => `arn:aws:lambda:${c().region}:${c().accountId}:function:phi-db-${env}-login-rotation`;

  test("AWS's single-user PostgreSQL rotation function, from the Serverless Application Repository, in the database's subnets", () => {
    const stacks = run().ofType(T.sar);
    expect(stacks).toHaveLength(1);
    const app = stacks[0];
    expect(app.providerName).toBe("aws-primary");
    expect(app.inputs).toMatchObject({
      name: `phi-db-${env}-login-rotation`,
      applicationId: "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser",
      capabilities: ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
    });
    expect(app.inputs.parameters).toEqual({
      endpoint: `https://secretsmanager.${c().region}.amazonaws.com`,
      functionName: `phi-db-${env}-login-rotation`,
      vpcSubnetIds: c().privateSubnetIds.join(","),
      vpcSecurityGroupIds: run().get(T.sg, "network-rotation").id,
      kmsKeyArn: run().get(T.key, "keys-secrets").state.arn,
      excludeCharacters: ROTATION_EXCLUDE_CHARACTERS,
    });
    // its only parameters; no master secret (that would be the alternating-users strategy)
    expect(Object.keys(app.inputs.parameters).sort()).toEqual(["endpoint", "excludeCharacters", "functionName", "kmsKeyArn", "vpcSecurityGroupIds", "vpcSubnetIds"]);
  });

  test("one SecretRotation per login secret: the function's ARN, every loginPasswordRotationDays, not immediately", () => {
    const rotations = run().ofType(T.rotation).filter((r) => r.name.startsWith("login-rotation-"));
    expect(rotations.map((r) => r.name).sort()).toEqual(LOGINS.map((l) => `login-rotation-${l}`));
    expect(run().ofType(T.secret).map((s) => s.name).sort()).toEqual(LOGINS.map((l) => `access-${l}-secret`));
    for (const role of LOGINS) {
      const r = run().get(T.rotation, `login-rotation-${role}`);
      expect(r.inputs).toEqual({
        secretId: run().get(T.secret, `access-${role}-secret`).state.arn,
        rotationLambdaArn: lambdaArn(),
        rotationRules: { automaticallyAfterDays: c().loginPasswordRotationDays },
        rotateImmediately: false,
      });
      expect(r.providerName).toBe("aws-primary");
      // Secrets Manager runs the function's test step when the schedule is set: the role, the first
      // secret version and the network path exist by then
      const deps = new Set(r.options.dependencies.map(urnKey));
      for (const d of [`${T.role}::access-role-${role}`, `${T.secretVersion}::access-${role}-secret-version`, `${T.ingress}::network-from-rotation`, `${T.egress}::network-rotation-to-db`, `${T.egress}::network-rotation-to-secretsmanager`]) {
        expect([r.name, deps.has(d) ? d : `missing ${d}`]).toEqual([r.name, d]);
      }
    }
    expect(c().loginPasswordRotationDays).toBe(30);
    // the master secret keeps its managed rotation (no Lambda)
    expect(run().get(T.rotation, "database-master-rotation").inputs.rotationLambdaArn).toBeUndefined();
  });

  test("the database's group admits the function's group on 5432; the function may open only 5432 to the database and 443 to Secrets Manager", () => {
    const fn = run().get(T.sg, "network-rotation");
    expect([fn.providerName, fn.inputs.vpcId, fn.inputs.ingress ?? [], fn.inputs.egress ?? []]).toEqual(["aws-primary", c().vpcId, [], []]);
    expect(run().get(T.ingress, "network-from-rotation").inputs).toMatchObject({ securityGroupId: "network-db-id", referencedSecurityGroupId: fn.id, ipProtocol: "tcp", fromPort: 5432, toPort: 5432 });
    expect(run().ofType(T.ingress).filter((r) => r.inputs.referencedSecurityGroupId === fn.id).map((r) => r.name).sort()).toEqual(
      c().secretsManagerEndpoint ? ["network-from-rotation", "network-secretsmanager-from-rotation"] : ["network-from-rotation"],
    );
    const egress = run().ofType(T.egress).map((r) => [r.name, r.inputs.securityGroupId, r.inputs.ipProtocol, r.inputs.fromPort, r.inputs.toPort, r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4]);
    expect(egress.sort()).toEqual(
      [
        ["network-rotation-to-db", fn.id, "tcp", 5432, 5432, "network-db-id"],
        ["network-rotation-to-secretsmanager", fn.id, "tcp", 443, 443, c().secretsManagerEndpoint ? "network-secretsmanager-id" : "0.0.0.0/0"],
      ].sort(),
    );
    // the DR-region network has no rotation function
    expect(run().resources.filter((r) => r.name.startsWith("network-dr-") && /rotation|secretsmanager/.test(r.name))).toEqual([]);
  });

  test("the rotation function may use the secrets key through Secrets Manager (its role is no output, so the key admits the account via the service)", () => {
    const doc = JSON.parse(run().get(T.key, "keys-secrets").inputs.policy);
    const via = doc.Statement.find((s: { Sid: string }) => s.Sid === "UseThroughServices");
    expect(via).toMatchObject({
      Effect: "Allow",
      Principal: { AWS: "*" },
      Condition: { StringEquals: { "kms:CallerAccount": c().accountId, "kms:ViaService": [`secretsmanager.${c().region}.amazonaws.com`] } },
    });
    expect(via.Action).toEqual(expect.arrayContaining(["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]));
  });

  test("the schema resource connects as phi_migrator with the password its secret holds now, read at deploy time, not the RandomPassword", () => {
    const secret = run().get(T.secret, "access-phi_migrator-secret");
    const reads = run().calls.filter((x) => x.token === READ && x.inputs.secretId === secret.state.arn);
    expect(reads).toHaveLength(1);
    expect(reads[0].provider).toMatch(/::aws-primary::/);
    const schema = run().get(T.schema, "schema");
    expect(schema.secretInputs).toContain("connection");
    expect(schema.inputs.connection.user).toBe("phi_migrator");
    expect(schema.inputs.connection.password).toBe(mockCurrentLoginPassword(secret.state.arn));
    expect(schema.inputs.connection.password).not.toBe(run().get(T.password, "access-phi_migrator-password").state.result);
    // nothing else reads a login secret, and no output carries one
    expect(run().calls.filter((x) => x.token === READ && !String(x.inputs.secretId).includes(":secret:rds!")).map((x) => x.inputs.secretId)).toEqual([secret.state.arn]);
    const outputs = JSON.stringify(run().outputs);
    for (const s of run().ofType(T.secret)) expect(outputs).not.toContain(mockCurrentLoginPassword(s.state.arn));
    expect(run().outputs.loginSecretArns).toEqual(Object.fromEntries(LOGINS.map((l) => [l, run().get(T.secret, `access-${l}-secret`).state.arn])));
  });
});

test("prod gets a private Secrets Manager endpoint, reachable only from the function, limited to the account; dev (NAT) has none", () => {
  const p = cfg.prod;
  expect([cfg.dev.secretsManagerEndpoint, p.secretsManagerEndpoint]).toEqual([false, true]);
  const ep = runs.prod.get(T.endpoint, "network-secretsmanager");
  expect(ep.providerName).toBe("aws-primary");
  expect(ep.inputs).toMatchObject({
    vpcId: p.vpcId,
    serviceName: `com.amazonaws.${p.region}.secretsmanager`,
    vpcEndpointType: "Interface",
    privateDnsEnabled: true,
    subnetIds: p.privateSubnetIds,
    securityGroupIds: ["network-secretsmanager-id"],
  });
  expect(JSON.parse(ep.inputs.policy).Statement).toEqual([
    { Sid: "OnlyThisAccount", Effect: "Allow", Principal: "*", Action: "secretsmanager:*", Resource: "*", Condition: { StringEquals: { "aws:PrincipalAccount": p.accountId } } },
  ]);
  // private DNS sends every Secrets Manager call of the VPC here: the function and the database's clients (the schema runner) may use it
  const rules = runs.prod.ofType(T.ingress).filter((r) => r.inputs.securityGroupId === "network-secretsmanager-id");
  expect(rules.map((r) => [r.inputs.ipProtocol, r.inputs.fromPort, r.inputs.toPort, r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4]).sort()).toEqual(
    ["network-rotation-id", ...p.allowedSecurityGroupIds, ...p.allowedCidrBlocks].map((src) => ["tcp", 443, 443, src]).sort(),
  );
  expect(runs.dev.ofType(T.endpoint)).toEqual([]);
  expect(runs.dev.resources.filter((r) => r.name.startsWith("network-secretsmanager"))).toEqual([]);
});

test("a shorter schedule from the stack config reaches every login rotation", async () => {
  const run = await runProgram("prod", { overrides: { "phi-db:loginPasswordRotationDays": 14 } });
  const rotations = run.ofType(T.rotation).filter((r) => r.name.startsWith("login-rotation-"));
  expect(rotations).toHaveLength(LOGINS.length);
  for (const r of rotations) expect(r.inputs.rotationRules).toEqual({ automaticallyAfterDays: 14 });
});

test("the local stack has no rotation (no AWS, no passwords)", async () => {
  const run = await runProgram("local");
  expect([...run.ofType(T.sar), ...run.ofType(T.rotation), ...run.ofType(T.secret)]).toEqual([]);
});

test("rotationStackParameters: the endpoint follows the region's partition; the function's ARN must be reported", () => {
  const p = rotationStackParameters({ region: "cn-north-1", functionName: "f", subnetIds: ["subnet-a", "subnet-b"], securityGroupId: "sg-1", kmsKeyArn: "arn:aws-cn:kms:cn-north-1:1:key/k" });
  expect(p).toMatchObject({ endpoint: "https://secretsmanager.cn-north-1.amazonaws.com.cn", vpcSubnetIds: "subnet-a,subnet-b", vpcSecurityGroupIds: "sg-1" });
  expect(POSTGRES_SINGLE_USER_ROTATION_APP).toMatch(/:applications\/SecretsManagerRDSPostgreSQLRotationSingleUser$/);
  // the function's own default exclusions (:/@"'\) stay excluded, and nothing a connection URI needs escaped is generated
  for (const ch of [":", "/", "@", '"', "'", "\\", "?", "#", "%", "&", "+", "=", "$", "`"]) expect([ch, ROTATION_EXCLUDE_CHARACTERS.includes(ch)]).toEqual([ch, true]);
  expect(ROTATION_EXCLUDE_CHARACTERS).not.toMatch(/[A-Za-z0-9]/);
  expect(rotationLambdaArnOf("s", { RotationLambdaARN: "arn:aws:lambda:us-east-1:1:function:f" }, false)).toBe("arn:aws:lambda:us-east-1:1:function:f");
  expect(isUnknown(rotationLambdaArnOf("s", undefined, true))).toBe(true);
  expect(() => rotationLambdaArnOf("phi-db-prod-login-rotation", {}, false)).toThrow("phi-db-prod-login-rotation: the rotation application reported no output RotationLambdaARN");
});
