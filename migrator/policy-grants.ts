/**
 * The table privileges the policy files (sql/policies/*.sql) set, read with the real PostgreSQL parser:
 * one `{ schema, table, role, privileges }` per (table, role) that ends up holding something. The Pulumi
 * program turns each into a `postgresql.Grant` (components/table-grants.ts), so every table grant is
 * its own resource in the stack diff; the policy files stay the source (they run in the schema
 * resource's transaction, next to the policies the grants back).
 *
 * The files are read the way PostgreSQL runs them, in order: `revoke all on <tables> from public, <roles>`
 * resets those tables for PUBLIC and every role the policy files decide (`policyGranteeRoles`), then
 * `grant <privileges> on <schema.table, ...> to <roles>` adds. Only what one Grant per (table, role) can
 * state is accepted; anything else fails with `PolicyGrantError` naming the file, the line and what was
 * expected: column lists, WITH GRANT OPTION, `grant all`, grants on ALL TABLES IN SCHEMA, an
 * unqualified table, a grantee that is not one of the roles (PUBLIC included), a revoke that is not
 * `revoke all` from PUBLIC and every one of the roles, and a grant whose table the same file has not
 * revoked first (grants and policies together: a table's privileges are reset and granted in one file).
 * Grants on other objects (functions, sequences) are not table privileges and are left alone.
 *
 * No Pulumi import here (the migrator runs without Pulumi).
 */
import { TABLE_PRIVILEGES, TablePrivilege } from "./access-model";
import type { SqlText } from "./files";
import { splitStatements } from "./statements";

export interface TableGrant {
  schema: string;
  table: string;
  role: string;
  /** Sorted. */
  privileges: TablePrivilege[];
}

export interface PolicyGrantIssue {
  file: string;
  line: number;
  message: string;
}

export class PolicyGrantError extends Error {
  constructor(public readonly issues: PolicyGrantIssue[]) {
    super(`the policy files set table privileges that cannot be represented one Grant per table and role:\n` + issues.map((i) => `  ${i.file}:${i.line}: ${i.message}`).join("\n"));
    this.name = "PolicyGrantError";
  }
}

/** The parts of libpg-query's GrantStmt read here. */
interface GrantStmt {
  is_grant?: boolean;
  targtype: string;
  objtype: string;
  objects?: Array<{ RangeVar?: { schemaname?: string; relname: string }; String?: { sval: string } }>;
  privileges?: Array<{ AccessPriv: { priv_name?: string; cols?: unknown[] } }>;
  grantees: Array<{ RoleSpec: { roletype: string; rolename?: string } }>;
  grant_option?: boolean;
}

const EXPECTED_GRANT = "expected `grant <privileges> on <schema.table>, ... to <roles>`";

/**
 * Reads the policy files (in the order they run) and returns the table privileges they leave, sorted
 * by schema, table and role. `roles` are the roles the files decide (`policyGranteeRoles(model)`).
 * Throws PolicyGrantError listing every statement it cannot represent, or SqlSyntaxError.
 */
export async function policyTableGrants(files: ReadonlyArray<Pick<SqlText, "file" | "sql">>, roles: readonly string[]): Promise<TableGrant[]> {
  const issues: PolicyGrantIssue[] = [];
  /** `schema.table` -> the table and what each role holds on it. */
  const held = new Map<string, { schema: string; table: string; byRole: Map<string, Set<TablePrivilege>> }>();
  const expectedFrom = ["public", ...roles].join(", ");

  for (const f of files) {
    /** Tables this file has reset with `revoke all`. */
    const reset = new Set<string>();
    for (const s of await splitStatements(f.sql, f.file)) {
      const g = s.tree.GrantStmt as GrantStmt | undefined;
      if (!g || g.objtype !== "OBJECT_TABLE") continue;
      const issue = (message: string) => issues.push({ file: f.file, line: s.line, message });
      const grantees = g.grantees.map(({ RoleSpec: r }) =>
        r.roletype === "ROLESPEC_CSTRING" ? r.rolename! : r.roletype === "ROLESPEC_PUBLIC" ? "public" : r.roletype.replace("ROLESPEC_", "").toLowerCase(),
      );

      if (g.targtype !== "ACL_TARGET_OBJECT") {
        if (g.is_grant) {
          issue(`a grant on ALL TABLES IN SCHEMA cannot be one Grant per table; ${EXPECTED_GRANT}`);
          continue;
        }
        // `revoke ... on all tables in schema s`: the tables of s granted so far lose it too.
        const schemas = new Set((g.objects ?? []).map((o) => o.String?.sval));
        for (const t of held.values()) if (schemas.has(t.schema)) for (const r of grantees) t.byRole.delete(r);
        continue;
      }
      const tables: Array<{ schema: string; table: string; name: string }> = [];
      for (const o of g.objects ?? []) {
        const rv = o.RangeVar!;
        if (!rv.schemaname) issue(`table ${rv.relname} is not schema-qualified; ${EXPECTED_GRANT}`);
        else tables.push({ schema: rv.schemaname, table: rv.relname, name: `${rv.schemaname}.${rv.relname}` });
      }
      const names = tables.map((t) => t.name).join(", ");

      if (!g.is_grant) {
        const missing = ["public", ...roles].filter((r) => !grantees.includes(r));
        if (g.privileges || g.grant_option) issue(`only \`revoke all\` is understood here (a table's privileges are reset, then granted); expected \`revoke all on ${names} from ${expectedFrom}\``);
        else if (missing.length) issue(`revoke all on ${names} leaves ${missing.join(", ")} as they were; expected \`revoke all on ${names} from ${expectedFrom}\``);
        else {
          for (const t of tables) {
            reset.add(t.name);
            held.delete(t.name);
          }
        }
        continue;
      }

      const unknown = grantees.filter((r) => !roles.includes(r));
      if (unknown.length) issue(`grant to ${unknown.join(", ")}: not a role the policy files decide; expected one of ${roles.join(", ")}`);
      if (g.grant_option) issue(`WITH GRANT OPTION is not allowed (nothing in phi-db is granted with it); ${EXPECTED_GRANT}`);
      if (!g.privileges) issue(`\`grant all\` would also grant privileges no policy backs; spell them out (${TABLE_PRIVILEGES.join(", ").toLowerCase()})`);
      const privileges: TablePrivilege[] = [];
      for (const { AccessPriv: p } of g.privileges ?? []) {
        const name = (p.priv_name ?? "").toUpperCase();
        if (p.cols) issue(`a column list (${name.toLowerCase()} (...)) cannot be one Grant per table; ${EXPECTED_GRANT}`);
        else if (!(TABLE_PRIVILEGES as readonly string[]).includes(name)) issue(`unknown table privilege ${name.toLowerCase()}; expected one of ${TABLE_PRIVILEGES.join(", ").toLowerCase()}`);
        else privileges.push(name as TablePrivilege);
      }
      for (const t of tables) {
        if (!reset.has(t.name)) issue(`grant on ${t.name} is not preceded by \`revoke all on ${t.name} from ${expectedFrom}\` in this file (a table's privileges are reset and granted in one file)`);
        const entry = held.get(t.name) ?? { schema: t.schema, table: t.table, byRole: new Map<string, Set<TablePrivilege>>() };
        held.set(t.name, entry);
        for (const r of grantees.filter((x) => roles.includes(x))) entry.byRole.set(r, new Set([...(entry.byRole.get(r) ?? []), ...privileges]));
      }
    }
  }
  if (issues.length) throw new PolicyGrantError(issues);

  const out = [...held.values()].flatMap(({ schema, table, byRole }) =>
    [...byRole].filter(([, set]) => set.size > 0).map(([role, set]): TableGrant => ({ schema, table, role, privileges: [...set].sort() })),
  );
  const key = (g: TableGrant) => `${g.schema}.${g.table} ${g.role}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
