/**
 * Shared set-up for the schema tests (test/db/schema*.test.ts): a fresh database with the real
 * access model (sql/access.json via migrator/access-sql.ts) applied, then the repository's
 * migrations, repeatable functions/views and (optionally) the dev seed, through the real engine
 * (migrator/engine.ts runLayer), followed by the migrator's post-apply checks.
 *
 * sql/policies/ is left out on purpose: those files belong to the RLS issue and may be mid-work;
 * these tests prove the schema with its baseline deny-all policies.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Client } from "pg";
import { loadAccessModel, rlsSchemas } from "../../migrator/access-model";
import type { LayerResult } from "../../migrator/engine";
import { createDatabase, TestDatabase } from "../support/db";
import { applyPlatform } from "../support/platform";

export const REPO_SQL = path.resolve(__dirname, "../../sql");

/**
 * A temporary copy of the platform's SQL folders (policies included: the platform as shipped). The dev seed is copied to
 * seed/local too, because the platform helper runs as environment `local` (the engine reads
 * seed/<environment>/).
 */
export function schemaSqlRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-schema-"));
  const copies: Array<[string, string]> = [
    ["migrations", "migrations"],
    ["functions", "functions"],
    ["views", "views"],
    ["policies", "policies"],
    ["seed/dev", "seed/dev"],
    ["seed/dev", "seed/local"],
  ];
  for (const [fromDir, toDir] of copies) {
    const from = path.join(REPO_SQL, fromDir);
    const to = path.join(root, toDir);
    fs.mkdirSync(to, { recursive: true });
    if (fs.existsSync(from)) {
      for (const f of fs.readdirSync(from)) if (f.endsWith(".sql")) fs.copyFileSync(path.join(from, f), path.join(to, f));
    }
  }
  return root;
}

export interface SchemaDatabase extends TestDatabase {
  result: LayerResult;
  sqlRoot: string;
}

/** Creates a database and applies access model + schema (+ seed) with the real engine; the checks must pass. */
export async function createSchemaDatabase(prefix: string, opts: { seed?: boolean } = {}): Promise<SchemaDatabase> {
  const db = await createDatabase(prefix);
  const sqlRoot = schemaSqlRoot();
  try {
    const result = await applyPlatform(db.url, { sqlRoot, loadSeed: opts.seed ?? false });
    return {
      ...db,
      result,
      sqlRoot,
      async drop() {
        fs.rmSync(sqlRoot, { recursive: true, force: true });
        await db.drop();
      },
    };
  } catch (e) {
    fs.rmSync(sqlRoot, { recursive: true, force: true });
    await db.drop().catch(() => undefined);
    throw e;
  }
}

/** Runs `fn` in a transaction as `role` (default: the owner, as jobs and migrations do), with optional claims. */
export async function inTx<T>(
  client: Client,
  fn: (c: Client) => Promise<T>,
  opts: { role?: string; claims?: Record<string, unknown>; settings?: Record<string, string> } = {},
): Promise<T> {
  await client.query("begin");
  try {
    if (opts.claims) await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(opts.claims)]);
    for (const [k, v] of Object.entries(opts.settings ?? {})) await client.query("select set_config($1, $2, true)", [k, v]);
    await client.query(`set local role ${opts.role ?? "phi_owner"}`);
    const out = await fn(client);
    await client.query("commit");
    return out;
  } catch (e) {
    await client.query("rollback").catch(() => undefined);
    throw e;
  }
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function errorOf(p: Promise<unknown>): Promise<Error & { code?: string; constraint?: string; detail?: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error("expected the statement to fail, but it succeeded");
}

/** A random 256-bit data key as the application would hold it after KMS Decrypt (base64). */
export function newDataKey(): string {
  return crypto.randomBytes(32).toString("base64");
}

/** Every table (incl. partitions) of the managed schemas, as schema.table. */
export async function managedTables(client: Client): Promise<string[]> {
  const r = await client.query(
    `select n.nspname || '.' || c.relname as t
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname = any($1::text[])
      order by 1`,
    [rlsSchemas(loadAccessModel())],
  );
  return r.rows.map((x) => x.t as string);
}

/**
 * Every relation that stores rows (plain tables, partitioned tables' leaves, materialized views) in
 * every schema that holds data, whose rows (as text) contain `needle` (case-insensitive), read as
 * superuser: proves a value is stored nowhere. All non-system schemas are scanned, not only the
 * access model's (analytics_private, holding the materialized views, is created by a migration).
 * Partitioned parents ('p') are scanned too: they return their leaves' rows, named by the parent.
 */
export async function tablesContaining(client: Client, needle: string): Promise<string[]> {
  const tables = await client.query(
    `select format('%I.%I', n.nspname, c.relname) as t
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'm')
        and (c.relkind <> 'm' or c.relispopulated)
        and not c.relispartition
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
      order by 1`,
  );
  const hits: string[] = [];
  for (const { t } of tables.rows) {
    const r = await client.query(`select count(*)::int as n from ${t} x where strpos(lower(x::text), lower($1)) > 0`, [needle]);
    if (r.rows[0].n > 0) hits.push(t);
  }
  return hits;
}
