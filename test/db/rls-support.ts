/**
 * Shared set-up of the RLS tests (test/db/rls*.test.ts): a fresh database with the whole layer
 * (access model, migrations, repeatables INCLUDING sql/policies, checks) through the real engine,
 * the attack-matrix fixture (migrator/rls-matrix.ts) committed as the owner, and a real LOGIN
 * connection as `authenticator` (the API's connection role) that switches per transaction to a
 * request role and sets the claims exactly like the API does:
 *
 *   begin; set local role authenticated; select set_config('request.jwt.claims', '{...}', true); ...
 */
import * as crypto from "crypto";
import { Client } from "pg";
import { actAs, fixtureLabels, fixtureSql, Persona, PERSONAS } from "../../migrator/rls-matrix";
import { adminUrl, createDatabase, TestDatabase } from "../support/db";
import { applyPlatform } from "../support/platform";

export interface RlsDatabase extends TestDatabase {
  /** Logged in as `authenticator` (NOINHERIT: holds nothing until it switches role). */
  api: Client;
  apiUrl: string;
}

/**
 * `authenticator` needs a password to log in (scram on the test server). Roles are cluster-wide and
 * test files run in parallel, so every file derives the SAME password from the server's admin URL
 * (setting it again is harmless); nothing is stored.
 */
function authenticatorPassword(adminUrl: string): string {
  return crypto.createHash("sha256").update(`phi-db rls tests:authenticator:${adminUrl}`).digest("base64url");
}

export async function createRlsDatabase(prefix: string): Promise<RlsDatabase> {
  const db = await createDatabase(prefix);
  try {
    await applyPlatform(db.url);
    await db.client.query("begin");
    await db.client.query("set local role phi_owner");
    for (const stmt of fixtureSql()) await db.client.query(stmt);
    await db.client.query("commit");

    const password = authenticatorPassword(adminUrl());
    const u = new URL(db.url);
    u.username = "authenticator";
    u.password = password;
    const login = async () => {
      const c = new Client({ connectionString: u.toString(), application_name: "rls-test-api" });
      await c.connect();
      return c;
    };
    let api: Client | undefined;
    for (let attempt = 0; !api; attempt++) {
      try {
        api = await login();
      } catch (e) {
        if (attempt >= 5) throw e;
        // First file of the run (or a concurrent ALTER ROLE: "tuple concurrently updated"): set it, retry.
        await db.client.query(`alter role authenticator password '${password}'`).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
    const apiClient = api as Client;
    return {
      ...db,
      api: apiClient,
      apiUrl: u.toString(),
      async drop() {
        await apiClient.end().catch(() => undefined);
        await db.drop();
      },
    };
  } catch (e) {
    await db.drop().catch(() => undefined);
    throw e;
  }
}

export const persona = (name: string): Persona => {
  const p = PERSONAS.find((x) => x.name === name);
  if (!p) throw new Error(`unknown persona ${name}`);
  return p;
};

const LABELS = fixtureLabels();

/** The fixture label of a row id in a table (undefined for rows outside the fixture). */
export function labelOf(table: string, key: string): string | undefined {
  return LABELS.get(table.replace(/ \(partition\)$/, ""))?.get(key);
}

/** The roles the API's `authenticator` login switches to; the others (auditor, analytics_reader) are granted to human logins. */
const REQUEST_ROLES = ["anon", "authenticated", "service_role"];

/**
 * Runs `fn` in a transaction as the persona (role + claims, and optional request settings such as
 * request.client_ip), then rolls back: on the authenticator login for the request roles, and for
 * auditor / analytics_reader (NOLOGIN roles granted to named logins) on the superuser connection
 * with SET LOCAL ROLE, which is what such a login's session amounts to.
 */
export async function asPersona<T>(db: RlsDatabase, who: string | Persona, fn: (c: Client) => Promise<T>, settings: Record<string, string> = {}): Promise<T> {
  const p = typeof who === "string" ? persona(who) : who;
  const c = REQUEST_ROLES.includes(p.role) ? db.api : db.client;
  await c.query("begin");
  try {
    for (const [k, v] of Object.entries(settings)) await c.query("select set_config($1, $2, true)", [k, v]);
    await actAs(c, p);
    return await fn(c);
  } finally {
    await c.query("rollback");
  }
}

/** Labels of the fixture rows the persona can SELECT from `relation` (sorted), or the SQLSTATE of the refusal. */
export async function visible(db: RlsDatabase, who: string | Persona, table: string, relation = table, settings: Record<string, string> = {}): Promise<string[] | string> {
  try {
    return await asPersona(
      db,
      who,
      async (c) => {
        const key = table === "audit.hash_salts" ? "period_start" : table === "audit.chain_heads" ? "chain_id" : "id";
        const r = await c.query(`select ${key}::text as k from ${relation}`);
        return r.rows.map((x) => labelOf(table, x.k)).filter((x): x is string => !!x).sort();
      },
      settings,
    );
  } catch (e) {
    return `error ${(e as { code?: string }).code}`;
  }
}

/** The error a promise rejects with (fails when it resolves). */
export async function refusal(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error("expected the statement to be refused, but it succeeded");
}

export { fixtureId } from "../../migrator/rls-matrix";
