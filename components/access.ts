/**
 * The access model (sql/access.json) as @pulumi/postgresql resources, so auditors see every role,
 * schema, extension, grant and default privilege in the stack diff.
 *
 * One resource per model entry, named after it (`<name>-role-authenticator`,
 * `<name>-grant-authenticated-app-table`, ...). Login passwords are RandomPassword secrets written to
 * Secrets Manager (KMS key passed in). The provider connects as the RDS master user with
 * `superuser: false` (RDS has no superuser) and `sslmode: verify-full` against the RDS CA bundle.
 *
 * Login passwords rotate (components/rotation.ts: AWS's single-user rotation Lambda), so the
 * RandomPassword is only the *initial* password, set when the role is created. A later update of the
 * Role resource (a membership, a connection limit) does not reset a rotated password: the provider
 * (terraform-provider-postgresql, resource_postgresql_role.go, `setRolePassword`) runs
 * `ALTER ROLE … PASSWORD` only when the `password` input (or the role name) changed, and with
 * `superuser: false` a refresh reads the password back from state, never from the server, so no drift
 * is reported either. The input changes only if the RandomPassword is replaced; then the role and a
 * new secret version get the same new value. Whoever connects as a login at deploy time reads the
 * secret's current value (`currentPassword`), never the RandomPassword.
 *
 * Local databases get the same model as SQL (migrator/access-sql.ts). Differences, on purpose:
 *   - role and schema comments exist only in the SQL rendering (the provider has no comment argument);
 *   - the SQL rendering also revokes privileges of the model's roles that the model does not list;
 *     here each Grant/DefaultPrivileges resource owns exactly its (role, schema, object type) and
 *     nothing else, which is the same on a fresh database.
 * Role memberships are the Role resource's `roles` list, not separate GrantRole resources: the
 * provider's Role update revokes any membership it does not list, so the two would fight.
 *
 * Table privileges in RLS-managed schemas are not resources here: the model has none (grants and
 * policies together: each table's privileges live in its policy file, sql/policies, applied by the
 * schema resource, and restated one Grant per table and role by components/table-grants.ts after it).
 * A Grant of objectType "table" on ALL TABLES of such a schema would fight with those files (its
 * create and update revoke and re-grant ALL TABLES IN SCHEMA, and a refresh reports per-table grants
 * as drift), so none is made, and no DefaultPrivileges for tables there either: a new table is dark
 * until its policy file grants it. Upgrading a stack deployed with the former bulk grants: before the
 * first `pulumi up`, `pulumi state delete` the `<name>-grant-<role>-<schema>-table` resources of the
 * RLS-managed schemas, because deleting them runs REVOKE ALL ON ALL TABLES IN SCHEMA after the policy
 * files have granted (Pulumi deletes removed resources last); let the `<name>-default-...-table`
 * resources be deleted normally (that revokes the old default table privileges, as intended).
 */
import * as aws from "@pulumi/aws";
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
  AccessModel,
  extensionSchemas,
  loadAccessModel,
  OBJECT_KINDS,
  ObjectKind,
  RDS_IAM_ROLE,
  rlsSchemas,
  rolesInCreationOrder,
  validateAccessModel,
} from "../migrator/access-model";
import { passwordInSecret } from "./database";

/** @pulumi/postgresql object types for the model's object kinds. */
const OBJECT_TYPE: Record<ObjectKind, "table" | "sequence" | "function"> = { tables: "table", sequences: "sequence", functions: "function" };

export interface AccessModelArgs {
  /** Address of the database server (the RDS endpoint address, without port). */
  host: pulumi.Input<string>;
  /** Port of the database server. Defaults to 5432. */
  port?: pulumi.Input<number>;
  /**
   * Where the provider actually connects, e.g. `{ host: "127.0.0.1", port: 15432 }` for an SSM port
   * forward. The secrets keep the real endpoint. With `verify-full` the certificate must match the
   * host the provider dials: keep the real host name (resolved to the tunnel) and override only the
   * port, or set `sslmode: "verify-ca"`. Defaults to no override (connect to host:port).
   */
  endpointOverride?: { host?: pulumi.Input<string>; port?: pulumi.Input<number> };
  /** Database that holds the schemas, extensions and grants. */
  databaseName: pulumi.Input<string>;
  /** The RDS master user name (member of rds_superuser, not a superuser). */
  masterUsername: pulumi.Input<string>;
  /** The RDS master password; treated as a secret whatever is passed. */
  masterPassword: pulumi.Input<string>;
  /** Path (on the machine running Pulumi) of the PEM bundle of the RDS certificate authorities. */
  sslRootCert: pulumi.Input<string>;
  /** How the server certificate is checked. Defaults to "verify-full" (never weaker than verify-ca). */
  sslmode?: "verify-full" | "verify-ca";
  /** KMS key (ARN or id) that encrypts the login secrets in Secrets Manager. */
  secretsKmsKeyId: pulumi.Input<string>;
  /** Prefix of the Secrets Manager secret names; the role name is appended. Defaults to `phi-db/<stack>/`. */
  secretNamePrefix?: string;
  /** Days a deleted login secret can be restored. Defaults to 30. */
  secretRecoveryWindowInDays?: number;
  /** The access model. Defaults to sql/access.json (validated). */
  model?: AccessModel;
  /** Grant rds_iam to the model's IAM login roles. Defaults to true (the role exists on RDS only). */
  rdsIam?: boolean;
  /** Model extensions not to create on this server (e.g. pg_cron outside the cron database). Defaults to none. */
  skipExtensions?: string[];
  /** Seconds the provider waits for a connection. Defaults to 15. */
  connectTimeout?: number;
  /** Tags for the Secrets Manager secrets. Defaults to none. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** A generated login: the password (secret) and where it is kept. */
export interface LoginSecret {
  password: random.RandomPassword;
  secret: aws.secretsmanager.Secret;
  version: aws.secretsmanager.SecretVersion;
}

export class AccessModelComponent extends pulumi.ComponentResource {
  public readonly provider: postgresql.Provider;
  public readonly roles: Record<string, postgresql.Role> = {};
  public readonly schemas: Record<string, postgresql.Schema> = {};
  public readonly extensions: Record<string, postgresql.Extension> = {};
  public readonly grants: postgresql.Grant[] = [];
  public readonly defaultPrivileges: postgresql.DefaultPrivileges[] = [];
  public readonly logins: Record<string, LoginSecret> = {};
  /** Everything the schema (migrations) must wait for: `dependsOn: access.ready`. */
  public readonly ready: pulumi.Resource[];
  /** Login role -> ARN of its Secrets Manager secret. */
  public readonly secretArns: pulumi.Output<Record<string, string>>;
  /** Schemas where every table must have forced RLS (for the migrator's checks). */
  public readonly rlsSchemas: string[];

  constructor(name: string, args: AccessModelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:access:AccessModel", name, {}, opts);
    const model = validateAccessModel(args.model ?? loadAccessModel());
    const sslmode = args.sslmode ?? "verify-full";
    if (sslmode !== "verify-full" && sslmode !== "verify-ca") {
      throw new Error(`AccessModel ${name}: sslmode must be verify-full or verify-ca, got ${JSON.stringify(sslmode)}`);
    }
    const skip = args.skipExtensions ?? [];
    for (const e of skip) {
      if (!model.extensions.some((x) => x.name === e)) throw new Error(`AccessModel ${name}: skipExtensions names ${JSON.stringify(e)}, which is not an extension of the model`);
    }
    const rdsIam = args.rdsIam ?? true;
    const port = args.port ?? 5432;
    const database = args.databaseName;
    const owner = model.owner;

    this.provider = new postgresql.Provider(
      `${name}-provider`,
      {
        host: args.endpointOverride?.host ?? args.host,
        port: args.endpointOverride?.port ?? port,
        database,
        username: args.masterUsername,
        password: pulumi.secret(args.masterPassword),
        superuser: false,
        sslmode,
        sslrootcert: args.sslRootCert,
        connectTimeout: args.connectTimeout ?? 15,
      },
      { parent: this },
    );
    const pg = (dependsOn: pulumi.Resource[] = []): pulumi.CustomResourceOptions => ({ parent: this, provider: this.provider, dependsOn });

    // Roles, each after the roles it is a member of; memberships are the role's `roles` list.
    const prefix = args.secretNamePrefix ?? `phi-db/${pulumi.getStack()}/`;
    for (const r of rolesInCreationOrder(model)) {
      let password: pulumi.Output<string> | undefined;
      if (r.auth === "password") {
        const pw = new random.RandomPassword(`${name}-${r.name}-password`, { length: 48, special: false }, { parent: this });
        password = pw.result;
        const secret = new aws.secretsmanager.Secret(
          `${name}-${r.name}-secret`,
          {
            name: `${prefix}${r.name}`,
            description: `phi-db login ${r.name}: ${r.comment}`.slice(0, 2048),
            kmsKeyId: args.secretsKmsKeyId,
            recoveryWindowInDays: args.secretRecoveryWindowInDays ?? 30,
            tags: args.tags,
          },
          { parent: this },
        );
        const version = new aws.secretsmanager.SecretVersion(
          `${name}-${r.name}-secret-version`,
          {
            secretId: secret.id,
            // The layout RDS and its rotation functions use for database credentials; `ssl: true` so the
            // rotation function never falls back to a connection without TLS. After a rotation, a change
            // of this value (port, database name) writes the *initial* password back as AWSCURRENT:
            // rotate the secret right after such a change (the function then logs in with AWSPREVIOUS).
            secretString: pulumi.secret(
              pulumi.all([args.host, port, database, pw.result]).apply(([host, p, dbname, pwd]) =>
                JSON.stringify({ engine: "postgres", host, port: p, dbname, username: r.name, password: pwd, ssl: true }),
              ),
            ),
          },
          { parent: this },
        );
        this.logins[r.name] = { password: pw, secret, version };
      }
      const memberOf = [...r.memberOf, ...(r.auth === "rds_iam" && rdsIam ? [RDS_IAM_ROLE] : [])];
      this.roles[r.name] = new postgresql.Role(
        `${name}-role-${r.name}`,
        {
          name: r.name,
          login: r.login,
          inherit: r.inherit,
          bypassRowLevelSecurity: r.bypassRls,
          superuser: false,
          createDatabase: false,
          createRole: false,
          replication: false,
          connectionLimit: r.connectionLimit,
          roles: memberOf,
          // The initial password only: rotation changes it later, and an update of this resource does
          // not set it again unless the RandomPassword itself changes (see the header).
          password: password ? pulumi.secret(password) : undefined,
          // Never REASSIGN/DROP OWNED on delete: that would drop every table the owner holds.
          skipReassignOwned: true,
        },
        pg(r.memberOf.map((m) => this.roles[m])),
      );
    }

    // Schemas, owned by the owner role.
    for (const s of model.schemas) {
      this.schemas[s.name] = new postgresql.Schema(
        `${name}-schema-${s.name}`,
        { name: s.name, database, owner, ifNotExists: true, dropCascade: false },
        pg([this.roles[owner]]),
      );
    }

    // Extensions.
    for (const e of model.extensions) {
      if (skip.includes(e.name)) continue;
      this.extensions[e.name] = new postgresql.Extension(
        `${name}-extension-${e.name}`,
        { name: e.name, database, schema: e.schema ?? undefined, createCascade: false, dropCascade: false },
        pg(e.schema ? [this.schemas[e.schema]] : []),
      );
    }

    const grant = (logical: string, a: postgresql.GrantArgs, deps: pulumi.Resource[]) => {
      this.grants.push(new postgresql.Grant(`${name}-grant-${logical}`, a, pg(deps)));
    };
    const allRoles = Object.values(this.roles);

    // The database: PUBLIC gets nothing; the model's roles get what the model says.
    grant("public-database", { database, role: "public", objectType: "database", privileges: [] }, []);
    for (const d of model.database) {
      grant(`${d.role}-database`, { database, role: d.role, objectType: "database", privileges: [...d.privileges] }, [this.roles[d.role]]);
    }
    // Schema public: PUBLIC may neither use it nor create in it.
    grant("public-schema-public", { database, role: "public", objectType: "schema", schema: "public", privileges: [] }, []);

    // Per schema: functions not executable by PUBLIC (in schemas holding extensions: their tables and views
    // not readable by PUBLIC instead), then the model's grants.
    const hostsExtensions = extensionSchemas(model);
    for (const s of model.schemas) {
      if (!hostsExtensions.includes(s.name)) {
        grant(`public-${s.name}-function`, { database, role: "public", objectType: "function", schema: s.name, privileges: [] }, [this.schemas[s.name]]);
      } else {
        // Extension views and tables (pg_stat_statements: query texts) are not for PUBLIC either.
        const installed = model.extensions.filter((e) => e.schema === s.name && this.extensions[e.name]).map((e) => this.extensions[e.name]);
        grant(`public-${s.name}-table`, { database, role: "public", objectType: "table", schema: s.name, privileges: [] }, [this.schemas[s.name], ...installed]);
      }
    }
    for (const g of model.grants) {
      const deps = [this.roles[g.role], this.schemas[g.schema]];
      if (g.schemaPrivileges.length) {
        grant(`${g.role}-${g.schema}-schema`, { database, role: g.role, objectType: "schema", schema: g.schema, privileges: [...g.schemaPrivileges] }, deps);
      }
      for (const kind of OBJECT_KINDS) {
        const privileges = [...g[kind]];
        if (!privileges.length) continue;
        const objectType = OBJECT_TYPE[kind];
        // Objects that exist now ...
        grant(`${g.role}-${g.schema}-${objectType}`, { database, role: g.role, objectType, schema: g.schema, privileges }, deps);
        // ... and the ones the owner creates later (no grant drift when migrations add tables).
        this.defaultPrivileges.push(
          new postgresql.DefaultPrivileges(
            `${name}-default-${g.role}-${g.schema}-${objectType}`,
            { database, owner, role: g.role, schema: g.schema, objectType, privileges },
            pg([...deps, this.roles[owner]]),
          ),
        );
      }
    }
    // Functions the owner creates anywhere are not executable by PUBLIC.
    this.defaultPrivileges.push(
      new postgresql.DefaultPrivileges(
        `${name}-default-public-function`,
        { database, owner, role: "public", objectType: "function", privileges: [] },
        pg([this.roles[owner]]),
      ),
    );

    this.ready = [...allRoles, ...Object.values(this.schemas), ...Object.values(this.extensions), ...this.grants, ...this.defaultPrivileges];
    this.rlsSchemas = rlsSchemas(model);
    const arns: Record<string, pulumi.Output<string>> = {};
    for (const [role, l] of Object.entries(this.logins)) arns[role] = l.secret.arn;
    this.secretArns = pulumi.output(arns);
    this.registerOutputs({ secretArns: this.secretArns, rlsSchemas: this.rlsSchemas, roles: Object.keys(this.roles) });
  }

  /**
   * The password a login's secret holds now (AWSCURRENT, read when the program runs, after the secret's
   * first version exists): rotation changes it outside Pulumi. A Pulumi secret; never export it.
   */
  public currentPassword(role: string): pulumi.Output<string> {
    const login = this.logins[role];
    if (!login) throw new Error(`AccessModel: ${JSON.stringify(role)} is not a password login of the model`);
    const current = aws.secretsmanager.getSecretVersionOutput({ secretId: login.secret.arn }, { parent: this, dependsOn: [login.version] });
    return pulumi.secret(current.secretString.apply((s) => passwordInSecret(s, `the login secret of ${role}`)));
  }
}
