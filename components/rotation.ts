/**
 * Rotation of the access model's login passwords (`phi_migrator`, `authenticator`, any password login
 * in sql/access.json): AWS's own rotation function for PostgreSQL, single-user strategy (the Lambda
 * logs in as the login and changes its own password, `ALTER USER ... WITH PASSWORD`; no clone users,
 * which the access model would report as undeclared roles), deployed from the Serverless Application
 * Repository, and one SecretRotation per login secret.
 *
 * Sources for the application's parameters and behaviour (no AWS account is reachable from here):
 *   - parameters `endpoint` (`https://secretsmanager.<region>.<dns suffix>`), `functionName`,
 *     `vpcSubnetIds` (comma-separated), `vpcSecurityGroupIds`, `excludeCharacters`, `kmsKeyArn` (the
 *     key of the rotated secret): what the AWS CDK passes to these applications, aws/aws-cdk
 *     packages/@aws-cdk/aws-secretsmanager/lib/secret-rotation.ts (class SecretRotation), which also
 *     notes that the application itself creates the permission for Secrets Manager to invoke the
 *     function;
 *   - capabilities `CAPABILITY_IAM`, `CAPABILITY_RESOURCE_POLICY` and the single output
 *     `RotationLambdaARN`: the Pulumi/Terraform docs example of aws.serverlessrepository.CloudFormationStack
 *     with this very application, and hashicorp/terraform-provider-aws's acceptance test of the resource
 *     (`outputs.% = 1`, `outputs.RotationLambdaARN` set);
 *   - the execution role the template creates is not an output (aws-samples/aws-secrets-manager-rotation-lambdas
 *     issues #7 and #42), so the secrets key is granted the AWS-documented way: its key policy lets any
 *     principal of this account use it through Secrets Manager (`kms:ViaService` secretsmanager +
 *     `kms:CallerAccount`, components/keys.ts), and with `kmsKeyArn` the template's role policy allows
 *     the key (Secrets Manager User Guide, "Lambda rotation function execution role permissions");
 *   - the function's code (aws-samples/aws-secrets-manager-rotation-lambdas,
 *     SecretsManagerRDSPostgreSQLRotationSingleUser/lambda_function.py): it reads
 *     {engine: "postgres", host, username, password, dbname, port, ssl} from the secret, connects with
 *     `sslmode=verify-full` (and, without an `ssl` key, falls back to a plain connection: the login
 *     secrets say `ssl: true`), and generates the new password with GetRandomPassword minus
 *     `excludeCharacters` (its own default is `:/@"'\`).
 *
 * `rotateImmediately: false`: the deployment that sets a schedule does not rotate under itself, but
 * Secrets Manager then runs the function's testSecret step once (RotateSecret API reference), so each
 * SecretRotation waits for the login's role in the database, its first secret version and the network
 * path (`dependsOn`). After a rotation the password in the database differs from the RandomPassword
 * in state; whoever connects as a login at deploy time reads the secret's current value instead
 * (`AccessModelComponent.currentPassword`), and a later update of the Role resource does not reset it
 * (see components/access.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { dnsSuffixOf, infraDefault } from "./config";
import type { RotationFunctionNetwork } from "./network";

/** The AWS Serverless Application Repository application (us-east-1 publishes it for the `aws` partition). */
export const POSTGRES_SINGLE_USER_ROTATION_APP = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser";

/**
 * Characters the function leaves out of the passwords it generates: the function's own default
 * (`:/@"'\`) plus what breaks a password inside a connection URI or a shell command line unquoted, so
 * a rotated password works wherever the initial one (letters and digits only) did.
 */
export const ROTATION_EXCLUDE_CHARACTERS = ":/@\"'\\?#[]%&+=$`!*(){}<>|;,^~";

export interface LoginRotationArgs {
  environment: string;
  region: string;
  /** Secrets to rotate: login role -> its Secrets Manager secret (ARN) and what must exist before the first test run. */
  secrets: Record<string, { secretArn: pulumi.Input<string>; dependsOn: pulumi.Resource[] }>;
  /** KMS key the secrets are encrypted with (the function's role may use it). */
  secretsKmsKeyArn: pulumi.Input<string>;
  /** Where the function runs: subnets, security group, and the rules/endpoint it needs (`Network.rotationNetwork`). */
  network: RotationFunctionNetwork;
  /** Days between rotations. Defaults to the default of phi-db:loginPasswordRotationDays (30). */
  rotationDays?: number;
  /** Version of the application. Defaults to the latest one when the stack is created (CloudFormationStack's default). */
  semanticVersion?: string;
}

/** The stack parameters of the rotation application (pure; tested). */
export function rotationStackParameters(a: {
  region: string;
  functionName: string;
  subnetIds: string[];
  securityGroupId: string;
  kmsKeyArn: string;
}): Record<string, string> {
  return {
    endpoint: `https://secretsmanager.${a.region}.${dnsSuffixOf(a.region)}`,
    functionName: a.functionName,
    vpcSubnetIds: a.subnetIds.join(","),
    vpcSecurityGroupIds: a.securityGroupId,
    kmsKeyArn: a.kmsKeyArn,
    excludeCharacters: ROTATION_EXCLUDE_CHARACTERS,
  };
}

/** ARN of the rotation function from the application stack's outputs (unknown during a first preview). */
export function rotationLambdaArnOf(stackName: string, outputs: Record<string, string> | undefined, preview: boolean): string {
  const arn = outputs?.RotationLambdaARN;
  if (arn) return arn;
  if (preview) return pulumi.unknown as unknown as string;
  throw new Error(`${stackName}: the rotation application reported no output RotationLambdaARN`);
}

export class LoginRotation extends pulumi.ComponentResource {
  /** The rotation function (output RotationLambdaARN of the application stack). */
  public readonly rotationLambdaArn: pulumi.Output<string>;
  public readonly application: aws.serverlessrepository.CloudFormationStack;
  /** Login role -> its SecretRotation. */
  public readonly rotations: Record<string, aws.secretsmanager.SecretRotation> = {};

  constructor(name: string, args: LoginRotationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:rotation:LoginRotation", name, {}, opts);
    const functionName = `phi-db-${args.environment}-login-rotation`;
    this.application = new aws.serverlessrepository.CloudFormationStack(
      `${name}-function`,
      {
        // CloudFormation prefixes it: serverlessrepo-phi-db-<env>-login-rotation.
        name: functionName,
        applicationId: POSTGRES_SINGLE_USER_ROTATION_APP,
        semanticVersion: args.semanticVersion,
        capabilities: ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
        parameters: pulumi
          .all([pulumi.output(args.network.subnetIds), args.network.securityGroupId, args.secretsKmsKeyArn])
          .apply(([subnetIds, securityGroupId, kmsKeyArn]) => rotationStackParameters({ region: args.region, functionName, subnetIds, securityGroupId, kmsKeyArn })),
      },
      { parent: this, dependsOn: args.network.path },
    );
    this.rotationLambdaArn = this.application.outputs.apply((o) => rotationLambdaArnOf(functionName, o, pulumi.runtime.isDryRun()));

    const days = args.rotationDays ?? infraDefault("loginPasswordRotationDays");
    for (const [role, s] of Object.entries(args.secrets)) {
      this.rotations[role] = new aws.secretsmanager.SecretRotation(
        `${name}-${role}`,
        {
          secretId: s.secretArn,
          rotationLambdaArn: this.rotationLambdaArn,
          rotationRules: { automaticallyAfterDays: days },
          rotateImmediately: false,
        },
        { parent: this, dependsOn: [...s.dependsOn, ...args.network.path] },
      );
    }
    this.registerOutputs({ rotationLambdaArn: this.rotationLambdaArn });
  }
}
