/**
 * A fresh database per test file on the run's server (see global-setup.ts).
 * Roles are cluster-wide: tests that create roles must use names unique to the file or idempotent SQL.
 */
import * as crypto from "crypto";
import { Client } from "pg";

export function adminUrl(): string {
  const url = process.env.PHI_TEST_ADMIN_URL;
  if (!url) throw new Error("PHI_TEST_ADMIN_URL is not set: run the tests through jest (global setup starts the server)");
  return url;
}

export function urlFor(database: string, base = adminUrl()): string {
  const u = new URL(base);
  u.pathname = "/" + database;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A connected client on the database (superuser); closed by drop(). */
  client: Client;
  /** Opens another connection to the same database. */
  connect(): Promise<Client>;
  drop(): Promise<void>;
}

export async function createDatabase(prefix = "t"): Promise<TestDatabase> {
  const name = `${prefix}_${crypto.randomBytes(5).toString("hex")}`.toLowerCase();
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = urlFor(name);
  const extra: Client[] = [];
  const connect = async () => {
    const c = new Client({ connectionString: url });
    await c.connect();
    extra.push(c);
    return c;
  };
  const client = await connect();
  return {
    name,
    url,
    client,
    connect,
    async drop() {
      await Promise.all(extra.map((c) => c.end().catch(() => undefined)));
      const a = new Client({ connectionString: adminUrl() });
      await a.connect();
      try {
        await a.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}
