/**
 * Network placement of the database inside an existing VPC: a DB subnet group over the given
 * private subnets and a security group that admits PostgreSQL only from the configured client
 * security groups / private CIDRs. No egress rule at all (the instance never initiates
 * connections), and nothing here can make the instance public.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The PostgreSQL port; the security group opens this port and nothing else. */
export const POSTGRES_PORT = 5432;

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
}

export class Network extends pulumi.ComponentResource {
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly subnetGroupName: pulumi.Output<string>;
  public readonly securityGroup: aws.ec2.SecurityGroup;
  public readonly subnetGroup: aws.rds.SubnetGroup;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:network:Network", name, {}, opts);
    const port = args.port ?? POSTGRES_PORT;

    this.subnetGroup = new aws.rds.SubnetGroup(
      `${name}-db`,
      { description: `phi-db ${args.environment}: private subnets of the PostgreSQL instance`, subnetIds: args.subnetIds },
      { parent: this },
    );

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-db`,
      {
        description: `phi-db ${args.environment}: PostgreSQL ${port} from allowed clients only`,
        vpcId: args.vpcId,
        // No inline rules: the provider then removes AWS's default allow-all egress rule.
        revokeRulesOnDelete: true,
      },
      { parent: this },
    );

    (args.allowedSecurityGroupIds ?? []).forEach((sg, i) => {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-from-sg-${i}`,
        {
          securityGroupId: this.securityGroup.id,
          description: "PostgreSQL from an allowed client security group",
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          referencedSecurityGroupId: sg,
        },
        { parent: this },
      );
    });
    (args.allowedCidrBlocks ?? []).forEach((cidr, i) => {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-from-cidr-${i}`,
        {
          securityGroupId: this.securityGroup.id,
          description: `PostgreSQL from ${cidr}`,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          cidrIpv4: cidr,
        },
        { parent: this },
      );
    });

    this.securityGroupId = this.securityGroup.id;
    this.subnetGroupName = this.subnetGroup.name;
    this.registerOutputs({ securityGroupId: this.securityGroupId, subnetGroupName: this.subnetGroupName });
  }
}
