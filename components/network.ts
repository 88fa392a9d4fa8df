/**
 * Network placement of the database inside an existing VPC: a DB subnet group over the given
 * private subnets and a security group that admits PostgreSQL only from the configured client
 * security groups / private CIDRs. No egress rule at all on it (the instance never initiates
 * connections), and nothing here can make the instance public.
 *
 * With `rotationFunction` (the primary region) it also places the login-password rotation Lambda
 * (components/rotation.ts): its own security group, which the database's group admits on the
 * PostgreSQL port, with egress only to the database (PostgreSQL) and to the Secrets Manager API
 * (HTTPS), and optionally a Secrets Manager interface endpoint in the same private subnets. The
 * function must reach the Secrets Manager API from the VPC: through that endpoint (private DNS, so
 * the standard host name resolves to it for the whole VPC: it also admits the database's allowed
 * clients, and its policy only this account's principals), or an endpoint / NAT route the VPC already has (AWS Secrets
 * Manager User Guide, "Configuring your network to support rotating secrets", awsdocs/aws-secrets-manager-docs
 * doc_source/rotation-network-rqmts.md). Security groups do not filter DNS queries to the VPC resolver.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The PostgreSQL port; the security group opens this port and nothing else. */
export const POSTGRES_PORT = 5432;
/** The Secrets Manager API (HTTPS). */
export const HTTPS_PORT = 443;

/** Where the login-password rotation function runs (see the module header). */
export interface RotationFunctionPlacement {
  /** Region of the VPC (the endpoint's service name `com.amazonaws.<region>.secretsmanager`). */
  region: string;
  /** Account whose principals may use the endpoint (its endpoint policy). */
  accountId: string;
  /**
   * Create a Secrets Manager interface endpoint (private DNS) in the subnets, reachable only from the
   * function's security group; otherwise the function's group may open HTTPS to any address (an
   * endpoint or NAT route of the VPC). Defaults to the default of phi-db:secretsManagerEndpoint (true).
   */
  secretsManagerEndpoint: boolean;
}

export interface NetworkArgs {
  /** Environment name (descriptions, tags). */
  environment: string;
  /** Existing VPC. */
  vpcId: pulumi.Input<string>;
  /** Existing private subnets (two AZs at least) for the DB subnet group. */
  subnetIds: pulumi.Input<string>[];
  /** Client security groups allowed in on the PostgreSQL port. Defaults to none. */
  allowedSecurityGroupIds?: pulumi.Input<string>[];
  /** Client IPv4 CIDRs (private ranges) allowed in on the PostgreSQL port. Defaults to none. */
  allowedCidrBlocks?: string[];
  /** Port opened to clients. Defaults to 5432. */
  port?: number;
  /** Place the login-password rotation function in these subnets. Defaults to none (no function here). */
  rotationFunction?: RotationFunctionPlacement;
}

/** Endpoint policy of the Secrets Manager interface endpoint: only this account's principals. */
export function secretsManagerEndpointPolicy(accountId: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "OnlyThisAccount",
        Effect: "Allow",
        Principal: "*",
        Action: "secretsmanager:*",
        Resource: "*",
        Condition: { StringEquals: { "aws:PrincipalAccount": accountId } },
      },
    ],
  });
}

/** The rotation function's place in the VPC, as components/rotation.ts takes it. */
export interface RotationFunctionNetwork {
  /** The function's security group (the database's group admits it on the PostgreSQL port). */
  securityGroupId: pulumi.Output<string>;
  /** Subnets the function runs in (the database's private subnets). */
  subnetIds: pulumi.Input<string>[];
  /** Everything the function needs to reach the database and Secrets Manager (rules, endpoint): a rotation's test run waits for it. */
  path: pulumi.Resource[];
}

export class Network extends pulumi.ComponentResource {
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly subnetGroupName: pulumi.Output<string>;
  public readonly securityGroup: aws.ec2.SecurityGroup;
  public readonly subnetGroup: aws.rds.SubnetGroup;
  /** Where the login-password rotation function runs (when `rotationFunction` was given). */
  public readonly rotationNetwork?: RotationFunctionNetwork;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:network:Network", name, {}, opts);
    const port = args.port ?? POSTGRES_PORT;

    this.subnetGroup = new aws.rds.SubnetGroup(
      `${name}-db`,
      { description: `phi-db ${args.environment}: private subnets of the PostgreSQL instance`, subnetIds: args.subnetIds },
      { parent: this },
    );

    // No inline rules on any group here: the provider then removes AWS's default allow-all egress rule.
    const group = (logical: string, description: string) =>
      new aws.ec2.SecurityGroup(logical, { description, vpcId: args.vpcId, revokeRulesOnDelete: true }, { parent: this });
    const ingress = (logical: string, on: pulumi.Input<string>, description: string, from: { sg?: pulumi.Input<string>; cidr?: string }, p = port) =>
      new aws.vpc.SecurityGroupIngressRule(
        logical,
        { securityGroupId: on, description, ipProtocol: "tcp", fromPort: p, toPort: p, referencedSecurityGroupId: from.sg, cidrIpv4: from.cidr },
        { parent: this },
      );

    this.securityGroup = group(`${name}-db`, `phi-db ${args.environment}: PostgreSQL ${port} from allowed clients only`);
    (args.allowedSecurityGroupIds ?? []).forEach((sg, i) => ingress(`${name}-from-sg-${i}`, this.securityGroup.id, "PostgreSQL from an allowed client security group", { sg }));
    (args.allowedCidrBlocks ?? []).forEach((cidr, i) => ingress(`${name}-from-cidr-${i}`, this.securityGroup.id, `PostgreSQL from ${cidr}`, { cidr }));

    const rf = args.rotationFunction;
    if (rf) {
      const fn = group(`${name}-rotation`, `phi-db ${args.environment}: login-password rotation function (PostgreSQL to the database, HTTPS to Secrets Manager)`);
      const egress = (logical: string, description: string, p: number, to: { sg?: pulumi.Input<string>; cidr?: string }) =>
        new aws.vpc.SecurityGroupEgressRule(
          logical,
          { securityGroupId: fn.id, description, ipProtocol: "tcp", fromPort: p, toPort: p, referencedSecurityGroupId: to.sg, cidrIpv4: to.cidr },
          { parent: this },
        );
      const path: pulumi.Resource[] = [];
      path.push(
        ingress(`${name}-from-rotation`, this.securityGroup.id, "PostgreSQL from the login-password rotation function", { sg: fn.id }),
        egress(`${name}-rotation-to-db`, "PostgreSQL to the database", port, { sg: this.securityGroup.id }),
      );
      if (rf.secretsManagerEndpoint) {
        // With private DNS every Secrets Manager call in the VPC goes to this endpoint, so it admits the
        // database's clients too (the schema runner and the application read the login secrets).
        const endpointGroup = group(`${name}-secretsmanager`, `phi-db ${args.environment}: Secrets Manager endpoint, HTTPS from the rotation function and the database's clients`);
        (args.allowedSecurityGroupIds ?? []).forEach((sg, i) => ingress(`${name}-secretsmanager-from-sg-${i}`, endpointGroup.id, "HTTPS from an allowed database client security group", { sg }, HTTPS_PORT));
        (args.allowedCidrBlocks ?? []).forEach((cidr, i) => ingress(`${name}-secretsmanager-from-cidr-${i}`, endpointGroup.id, `HTTPS from ${cidr}`, { cidr }, HTTPS_PORT));
        path.push(
          ingress(`${name}-secretsmanager-from-rotation`, endpointGroup.id, "HTTPS from the login-password rotation function", { sg: fn.id }, HTTPS_PORT),
          egress(`${name}-rotation-to-secretsmanager`, "HTTPS to the Secrets Manager endpoint", HTTPS_PORT, { sg: endpointGroup.id }),
          new aws.ec2.VpcEndpoint(
            `${name}-secretsmanager`,
            {
              vpcId: args.vpcId,
              serviceName: `com.amazonaws.${rf.region}.secretsmanager`,
              vpcEndpointType: "Interface",
              privateDnsEnabled: true,
              subnetIds: args.subnetIds,
              securityGroupIds: [endpointGroup.id],
              policy: secretsManagerEndpointPolicy(rf.accountId),
            },
            { parent: this },
          ),
        );
      } else {
        // The VPC's own endpoint or NAT route: its addresses are not known here.
        path.push(egress(`${name}-rotation-to-secretsmanager`, "HTTPS to the Secrets Manager API (the VPC's endpoint or NAT route)", HTTPS_PORT, { cidr: "0.0.0.0/0" }));
      }
      this.rotationNetwork = { securityGroupId: fn.id, subnetIds: args.subnetIds, path };
    }

    this.securityGroupId = this.securityGroup.id;
    this.subnetGroupName = this.subnetGroup.name;
    this.registerOutputs({ securityGroupId: this.securityGroupId, subnetGroupName: this.subnetGroupName, rotationSecurityGroupId: this.rotationNetwork?.securityGroupId });
  }
}
