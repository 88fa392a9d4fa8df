/**
 * The schema of one environment as a Pulumi resource: a thin `pulumi.dynamic.Resource` over the
 * migrator (`migrator/provider.ts`). Its inputs are computed at program time without touching the
 * database: one checksum per migration and per repeatable, so `pulumi preview` lists each pending
 * migration by name and an edit to an applied file shows up in the diff. The stack's modules and
 * request guard are inputs too: a change to them is an update that runs `app.on_schema_apply`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RunRules } from "../migrator/apply";
import type { ConnectionParams } from "../migrator/db";
import type { StackSettings } from "../migrator/engine";
import { loadProject, migrationMap, repeatableMap, SqlProject } from "../migrator/files";
import { schemaProvider, SchemaInputs } from "../migrator/provider";

export interface DatabaseSchemaArgs {
  environment: string;
  /** Connection to the application database; made a secret here as a whole (it holds the password). */
  connection: pulumi.Input<ConnectionParams>;
  rules: RunRules;
  /** NOLOGIN owner role the migrations run as. Defaults to none (the login itself). */
  ownerRole?: string;
  /** Extra `${name}` placeholders. Defaults to none (`${env}` is always set). */
  placeholders?: Record<string, string>;
  /** Apply `sql/seed/<env>/` (local/dev only). Defaults to false. */
  loadSeed?: boolean;
  /** What the post-apply checks require. */
  checks: SchemaInputs["checks"];
  /** The `sql/` folder relative to the program directory. Defaults to `sql`. */
  sqlDir?: string;
  /**
   * Lint errors on pending migrations fail `pulumi preview` (the provider's check); otherwise they
   * are warnings on the resource. Pass the stack's `lintBlocking`. Defaults to true in prod only.
   */
  lintBlocking?: boolean;
  /**
   * Optional modules on/off and the RLS request guard that `app.on_schema_apply` makes the database
   * match after every create/update (pass `stackSettings(config)`). They are inputs, so a change shows
   * in `pulumi preview` and is applied as an update. Defaults to none: modules and guard rows are left
   * as they are.
   */
  settings?: StackSettings;
}

type Wrapped<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class DatabaseSchema extends pulumi.dynamic.Resource {
  public readonly lastVersion!: pulumi.Output<string>;
  public readonly lastApplied!: pulumi.Output<string[]>;
  public readonly migrations!: pulumi.Output<Record<string, string>>;
  public readonly repeatables!: pulumi.Output<Record<string, string>>;
  public readonly modules!: pulumi.Output<Record<string, boolean> | undefined>;
  public readonly lastOnApply!: pulumi.Output<string[]>;
  /** The SQL files read at program time (their checksums are this resource's inputs); not an output. */
  public readonly sqlProject: SqlProject;

  constructor(name: string, args: DatabaseSchemaArgs, opts?: pulumi.CustomResourceOptions) {
    const sqlDir = args.sqlDir ?? "sql";
    const placeholders = args.placeholders ?? {};
    const loadSeed = args.loadSeed ?? false;
    const project = loadProject(sqlDir, { environment: args.environment, placeholders, includeSeeds: loadSeed });
    if (project.problems.length) {
      throw new Error(`phi-db: the SQL files have problems:\n` + project.problems.map((p) => `  ${p.file}: ${p.message}`).join("\n"));
    }
    // The whole connection is a secret input (it carries the password), so state keeps it encrypted.
    const connection = pulumi.secret(args.connection);
    const inputs: Wrapped<SchemaInputs> & { lastVersion: undefined; lastApplied: undefined; lastOnApply: undefined } = {
      environment: args.environment,
      stack: pulumi.getStack(),
      sqlDir,
      migrations: migrationMap(project),
      repeatables: repeatableMap(project),
      connection: connection as pulumi.Input<ConnectionParams>,
      rules: args.rules,
      ownerRole: args.ownerRole,
      placeholders,
      loadSeed,
      checks: args.checks,
      lintBlocking: args.lintBlocking,
      modules: args.settings?.modules,
      requestGuard: args.settings?.requestGuard,
      lastVersion: undefined,
      lastApplied: undefined,
      lastOnApply: undefined,
    };
    super(schemaProvider, name, inputs, { ...opts, additionalSecretOutputs: ["connection"] }, "phi-db", "DatabaseSchema");
    this.sqlProject = project;
  }
}
