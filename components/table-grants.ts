/**
 * Every table privilege the policy files set (sql/policies, read by migrator/policy-grants.ts) as its
 * own `postgresql.Grant`, so auditors see each (table, role, privileges) in the stack diff instead of
 * only the checksum of the file that holds it. Resource names read `<name>-<schema>.<table>-<role>`.
 *
 * The policy files remain the source: they run inside the schema resource (in one transaction with the
 * table's policies; `revoke all` from PUBLIC and every NOLOGIN role, then `grant` what a policy backs),
 * and a new table is dark until its file grants it. These resources restate the result, which is why
 * each `dependsOn` the schema resource: the tables exist and the files have run before any Grant does.
 *
 * Lifecycle (the @pulumi/postgresql Grant on `objects: [table]`):
 *   - create runs `REVOKE <privileges> ON TABLE s.t FROM role; GRANT <privileges> ON TABLE s.t TO role`
 *     in one transaction: the state the policy file has just set, so it changes nothing;
 *   - a privilege added to or removed from a file: the file (schema resource, first) grants or revokes
 *     it, then the Grant's update revokes the old list and grants the new one: the same state again;
 *   - a role's last privilege on a table removed, a table renamed or dropped: the file has already
 *     revoked it (or the table is gone), and the Grant leaves the stack. `retainOnDelete` makes that
 *     delete touch nothing: the provider's delete would `REVOKE` on the table, which fails once a
 *     migration dropped it, and there is nothing left to revoke otherwise;
 *   - refresh reads the role's privileges on the table; a hand-made change to an ordinary table shows
 *     as drift and the next `pulumi up` puts the file's privileges back. (The provider reads only
 *     relkind 'r': drift on partitioned tables and views is caught by `phi-db verify` and the checks.)
 * Nothing is granted WITH GRANT OPTION (the provider's default, false) and the database test
 * test/db/table-grants.test.ts proves the catalog holds exactly these grants after a full apply, so
 * the resources and the database cannot drift apart.
 *
 * The grants are read with the WebAssembly parser, which loads asynchronously: the Grant resources are
 * created once it has read the files, and `grants` (registered as the component's output, which keeps
 * the program running until then) resolves after them. A policy file it cannot represent fails the
 * program with PolicyGrantError naming the file and line.
 */
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import type { TableGrant } from "../migrator/policy-grants";

export interface TableGrantsArgs {
  /** The access model's provider (`AccessModelComponent.provider`): the master user, verify-full TLS. */
  provider: postgresql.Provider;
  /** Database that holds the tables. */
  databaseName: pulumi.Input<string>;
  /** The schema resource: migrations and policy files have run before any Grant is created. */
  schema: pulumi.Resource;
  /** The table privileges the policy files set (`policyTableGrants`). */
  grants: Promise<TableGrant[]>;
}

export class TableGrants extends pulumi.ComponentResource {
  /** `<schema>.<table> <role>: <privileges>` of every Grant created; resolves once they all are. */
  public readonly grants: pulumi.Output<string[]>;

  constructor(name: string, args: TableGrantsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phi-db:access:TableGrants", name, {}, opts);
    const created = args.grants.then((list) =>
      list.map((g) => {
        new postgresql.Grant(
          `${name}-${g.schema}.${g.table}-${g.role}`,
          { database: args.databaseName, role: g.role, objectType: "table", schema: g.schema, objects: [g.table], privileges: [...g.privileges], withGrantOption: false },
          { parent: this, provider: args.provider, dependsOn: [args.schema], retainOnDelete: true },
        );
        return `${g.schema}.${g.table} ${g.role}: ${g.privileges.join(", ")}`;
      }),
    );
    this.grants = pulumi.output(created);
    this.registerOutputs({ grants: this.grants });
  }
}
