/**
 * The database adapter: connecting, the migration lock, and the ledger's own objects.
 *
 * `pg` is required inside `connect` (not at module load) so that the Pulumi dynamic provider,
 * which serializes these functions by value, resolves it from the project's node_modules at run time.
 */
import type { Client, ClientConfig } from "pg";
import type { HistoryKind, HistoryRow } from "./plan";

/** Connection parameters. `password` is a secret: it is never logged or echoed. */
export interface ConnectionParams {
  /** A full URL; when set, the discrete fields below override its parts. */
  connectionString?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** `disable` (local only), `require`, or `verify-full` (RDS: checks the server certificate). */
  sslmode?: "disable" | "require" | "verify-full";
  /** Path (relative to the working directory) of the PEM bundle of the CAs that may sign the server certificate (the RDS CA bundle), for verify-full. */
  sslrootcert?: string;
}

export const LEDGER_SCHEMA = "phi_ledger";
/** Key of the session advisory lock that serialises runs against one database. */
export const LOCK_KEY = BigInt("0x7068692d64622d31"); // "phi-db-1" as 8 bytes

export async function connect(params: ConnectionParams, applicationName: string): Promise<Client> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require("pg") as typeof import("pg");
  // pg lets the URL's parts override discrete fields; apply the discrete ones to the URL instead.
  let connectionString = params.connectionString;
  if (connectionString && (params.password !== undefined || params.user !== undefined)) {
    const u = new URL(connectionString);
    if (params.user !== undefined) u.username = encodeURIComponent(params.user);
    if (params.password !== undefined) u.password = encodeURIComponent(params.password);
    connectionString = u.toString();
  }
  const cfg: ClientConfig = {
    connectionString,
    host: params.host,
    port: params.port,
    database: params.database,
    user: connectionString ? undefined : params.user,
    password: connectionString ? undefined : params.password,
    application_name: applicationName.slice(0, 63),
  };
  if (params.sslmode === "require") cfg.ssl = { rejectUnauthorized: false };
  if (params.sslmode === "verify-full") {
    if (!params.sslrootcert) throw new Error("sslmode verify-full needs sslrootcert: the path of the server's CA bundle (the RDS CA bundle)");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require("fs") as typeof import("fs");
    let ca: string;
    try {
      ca = fs.readFileSync(params.sslrootcert, "utf8");
    } catch (e) {
      throw new Error(`cannot read the CA bundle ${params.sslrootcert} (sslrootcert): ${(e as Error).message}`);
    }
    cfg.ssl = { rejectUnauthorized: true, ca };
  }
  for (const k of Object.keys(cfg) as Array<keyof ClientConfig>) if (cfg[k] === undefined) delete cfg[k];
  const client = new pg.Client(cfg);
  try {
    await client.connect();
  } catch (e) {
    const where = params.host ? `${params.host}:${params.port ?? 5432}/${params.database ?? ""}` : redactUrl(params.connectionString ?? "");
    throw new Error(`cannot connect to PostgreSQL at ${where}: ${(e as Error).message}`);
  }
  // Errors from an idle client (server restart) must not crash the process without a message.
  client.on("error", () => undefined);
  return client;
}

/** The URL with its password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<connection string>";
  }
}

export interface LockHolder {
  pid: number;
  applicationName: string;
  user: string;
  clientAddr: string | null;
  since: string;
}

export class LockTimeoutError extends Error {
  constructor(
    public readonly holder: LockHolder | null,
    waitedSeconds: number,
  ) {
    super(
      holder
        ? `another migration run holds the phi-db lock (pid ${holder.pid}, application_name '${holder.applicationName}', user ${holder.user}` +
            `${holder.clientAddr ? `, from ${holder.clientAddr}` : ""}, connected since ${holder.since}); waited ${waitedSeconds}s`
        : `could not take the phi-db lock within ${waitedSeconds}s (its holder has gone; try again)`,
    );
    this.name = "LockTimeoutError";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the session advisory lock by polling `pg_try_advisory_lock` until `waitSeconds` pass.
 * A blocking `pg_advisory_lock` would hold a transaction open while waiting, which deadlocks
 * against a `CREATE INDEX CONCURRENTLY` run by the holder (it waits for older transactions).
 */
export async function acquireLock(client: Client, waitSeconds: number, onWait?: (h: LockHolder | null) => void): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  let delay = 50;
  let told = false;
  for (;;) {
    const r = await client.query("select pg_try_advisory_lock($1::bigint) as ok", [LOCK_KEY.toString()]);
    if (r.rows[0].ok) return;
    if (!told && onWait) {
      onWait(await lockHolder(client));
      told = true;
    }
    if (Date.now() >= deadline) throw new LockTimeoutError(await lockHolder(client), waitSeconds);
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    delay = Math.min(delay * 2, 1000);
  }
}

export async function releaseLock(client: Client): Promise<void> {
  await client.query("select pg_advisory_unlock($1::bigint)", [LOCK_KEY.toString()]);
}

/** Who holds the lock: a bigint advisory key shows in pg_locks as classid (high) / objid (low), objsubid 1. */
export async function lockHolder(client: Client): Promise<LockHolder | null> {
  const hi = Number(LOCK_KEY >> 32n);
  const lo = Number(LOCK_KEY & 0xffffffffn);
  const r = await client.query(
    `select a.pid, coalesce(a.application_name, '') as application_name, coalesce(a.usename::text, '') as usename,
            host(a.client_addr) as client_addr, to_char(a.backend_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as since
       from pg_catalog.pg_locks l
       join pg_catalog.pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_catalog.pg_database where datname = current_database())
        and l.classid = $1::bigint::oid and l.objid = $2::bigint::oid and l.objsubid = 1`,
    [hi, lo],
  );
  if (!r.rows.length) return null;
  const x = r.rows[0];
  return { pid: x.pid, applicationName: x.application_name, user: x.usename, clientAddr: x.client_addr, since: x.since };
}

/**
 * The ledger: `schema_history` (current state, one row per applied file) and `schema_events`
 * (append-only evidence: apply, revert, fail). Created by the migrator itself, idempotently, as the
 * owner role. Nobody but the owner may UPDATE/DELETE; events refuse UPDATE/DELETE/TRUNCATE outright.
 */
export const LEDGER_DDL = `
create schema if not exists ${LEDGER_SCHEMA};
comment on schema ${LEDGER_SCHEMA} is 'phi-db migration ledger: what was applied, when, by whom (audit evidence)';

create table if not exists ${LEDGER_SCHEMA}.schema_history (
  key           text primary key,
  kind          text not null check (kind in ('versioned', 'repeatable', 'seed')),
  version       text check (version ~ '^[0-9]{11}$'),
  name          text not null,
  script        text not null,
  checksum      text not null check (checksum ~ '^[0-9a-f]{64}$'),
  applied_by    text not null default session_user,
  applied_at    timestamptz not null default clock_timestamp(),
  environment   text not null,
  stack         text not null,
  duration_ms   integer not null check (duration_ms >= 0),
  check ((kind = 'versioned') = (version is not null))
);
comment on table ${LEDGER_SCHEMA}.schema_history is 'Current schema state: one row per applied migration, repeatable or seed file (sha256 of the rendered text)';

create table if not exists ${LEDGER_SCHEMA}.schema_events (
  id            bigint generated always as identity primary key,
  run_id        uuid not null,
  event         text not null check (event in ('apply', 'revert', 'fail')),
  kind          text not null check (kind in ('versioned', 'repeatable', 'seed')),
  key           text not null,
  version       text,
  script        text not null,
  checksum      text,
  environment   text not null,
  stack         text not null,
  actor         text not null default session_user,
  at            timestamptz not null default clock_timestamp(),
  duration_ms   integer,
  error         text
);
comment on table ${LEDGER_SCHEMA}.schema_events is 'Append-only evidence of every apply, revert and failure (who, when, stack, duration, checksum)';

create or replace function ${LEDGER_SCHEMA}.refuse_change() returns trigger
language plpgsql set search_path = '' as $fn$
begin
  raise exception 'phi_ledger.schema_events is append-only (% refused)', tg_op using errcode = '42501';
end
$fn$;

do $do$
begin
  if not exists (select 1 from pg_catalog.pg_trigger where tgname = 'schema_events_append_only'
                  and tgrelid = '${LEDGER_SCHEMA}.schema_events'::regclass) then
    create trigger schema_events_append_only before update or delete on ${LEDGER_SCHEMA}.schema_events
      for each row execute function ${LEDGER_SCHEMA}.refuse_change();
    create trigger schema_events_no_truncate before truncate on ${LEDGER_SCHEMA}.schema_events
      for each statement execute function ${LEDGER_SCHEMA}.refuse_change();
  end if;
end
$do$;

revoke all on ${LEDGER_SCHEMA}.schema_history, ${LEDGER_SCHEMA}.schema_events from public;
revoke all on function ${LEDGER_SCHEMA}.refuse_change() from public;
`;

export async function ensureLedger(client: Client): Promise<void> {
  const r = await client.query(
    `select count(*)::int as n from pg_catalog.pg_tables where schemaname = $1 and tablename in ('schema_history', 'schema_events')`,
    [LEDGER_SCHEMA],
  );
  if (r.rows[0].n === 2) return;
  await client.query("begin");
  try {
    await client.query(LEDGER_DDL);
    await client.query("commit");
  } catch (e) {
    await client.query("rollback");
    throw new Error(`cannot create the ledger in schema ${LEDGER_SCHEMA}: ${(e as Error).message}`);
  }
}

/** The whole history in ONE query; an absent ledger reads as empty (nothing applied yet). */
export async function readHistory(client: Client): Promise<HistoryRow[]> {
  const r = await client.query(
    `select h.key, h.kind, h.version, h.name, h.script, h.checksum, h.applied_by,
            to_char(h.applied_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as applied_at
       from ${LEDGER_SCHEMA}.schema_history h
      order by h.kind, h.key`,
  ).catch((e: { code?: string }) => {
    if (e.code === "42P01" || e.code === "3F000") return { rows: [] as Record<string, unknown>[] };
    throw e;
  });
  return r.rows.map((x: Record<string, unknown>) => ({
    key: String(x.key),
    kind: x.kind as HistoryKind,
    version: (x.version as string | null) ?? null,
    name: String(x.name),
    script: String(x.script),
    checksum: String(x.checksum),
    appliedAt: String(x.applied_at),
    appliedBy: String(x.applied_by),
  }));
}
