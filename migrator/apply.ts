/**
 * Applying a plan: lock, one transaction per versioned file together with its ledger rows,
 * repeatables after, checks at the end. Reverting (down files) where the environment allows it.
 */
import * as crypto from "crypto";
import type { Client } from "pg";
import { acquireLock, connect, ConnectionParams, ensureLedger, LEDGER_SCHEMA, LockHolder, readHistory, releaseLock } from "./db";
import type { Migration, Repeatable, SqlProject, SqlText } from "./files";
import { HistoryKind, makePlan, Plan, PlanError } from "./plan";
import { lineAt, splitStatements, SqlSyntaxError, Statement } from "./statements";

export interface RunRules {
  allowOutOfOrder: boolean;
  allowRollback: boolean;
  /** `lock_timeout` inside each migration (e.g. `5s`). */
  lockTimeout: string;
  /** `statement_timeout` inside each migration (e.g. `15min`). */
  statementTimeout: string;
  /** How long to wait for another run's lock. */
  lockWaitSeconds: number;
}

export interface RunContext {
  connection: ConnectionParams;
  environment: string;
  stack: string;
  rules: RunRules;
  /** NOLOGIN role that owns everything: the run does `SET ROLE` to it. Unset: run as the login. */
  ownerRole?: string;
  log?: (line: string) => void;
}

export interface AppliedFile {
  key: string;
  file: string;
  checksum: string;
  durationMs: number;
}

export interface RunResult {
  applied: AppliedFile[];
  repeatables: AppliedFile[];
  notices: string[];
  durationMs: number;
  plan: Plan;
}

export class PlanFailedError extends Error {
  constructor(public readonly errors: PlanError[]) {
    super(`the plan has ${errors.length} error(s); nothing was applied:\n` + errors.map((e) => `  ${e.file}: ${e.message}`).join("\n"));
    this.name = "PlanFailedError";
  }
}

/** A SQL error while applying a file: names the file, the line, and the server's message. */
export class MigrationError extends Error {
  constructor(
    public readonly file: string,
    public readonly line: number,
    public readonly serverMessage: string,
    public readonly sqlState: string | undefined,
    note: string,
  ) {
    super(`${file}:${line}: ${serverMessage}${sqlState ? ` (SQLSTATE ${sqlState})` : ""}. ${note}`);
    this.name = "MigrationError";
  }
}

type PgError = Error & { code?: string; position?: string; internalPosition?: string; where?: string };

/** Line in the file of a server error raised by `stmt`. */
function errorLine(stmt: Statement, e: PgError): number {
  const pos = Number(e.position);
  if (pos > 0) return stmt.startLine + stmt.sql.slice(0, pos - 1).split("\n").length - 1;
  // Inside a function or DO body: `where` reads "PL/pgSQL function ... line N at ..." relative to the body.
  return stmt.line;
}

/**
 * UTF-16 index in `text` of the server's 1-based error `position`, which counts characters (code
 * points): a comment with an emoji before the error must not shift the line.
 */
function offsetOf(text: string, position: number): number {
  let i = 0;
  for (let chars = 1; chars < position && i < text.length; chars++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
  }
  return i;
}

/** Runs statements one by one; a failure becomes a MigrationError naming file and line. */
async function runStatements(client: Client, file: string, statements: Statement[], note: string): Promise<void> {
  for (const [i, stmt] of statements.entries()) {
    try {
      await client.query(stmt.sql);
    } catch (err) {
      const e = err as PgError;
      const context = e.where ? ` [${e.where.split("\n")[0]}]` : "";
      throw new MigrationError(file, errorLine(stmt, e), e.message + context, e.code, note.replace("{n}", String(i)));
    }
  }
}


const quoteIdent = (s: string) => '"' + s.replace(/"/g, '""') + '"';

async function setOwner(client: Client, ownerRole: string | undefined): Promise<void> {
  if (!ownerRole) return;
  const r = await client.query("select 1 from pg_catalog.pg_roles where rolname = $1", [ownerRole]);
  if (!r.rows.length) throw new Error(`owner role ${ownerRole} does not exist: apply the access model first (phi-db up applies it locally; Pulumi creates it on RDS)`);
  await client.query(`set role ${quoteIdent(ownerRole)}`);
}

interface Ledger {
  client: Client;
  runId: string;
  environment: string;
  stack: string;
}

/** Literal for SQL text built by the engine (values never come from users; still escaped). */
const lit = (v: string | number | null) => (v === null ? "null" : typeof v === "number" ? String(v) : "'" + v.replace(/'/g, "''") + "'");

/**
 * The ledger rows of an applied file as SQL, so they travel in the same round trip as the file.
 * `duration_ms` is measured by the server from the start of that round trip.
 */
function ledgerSql(l: Ledger, kind: HistoryKind, key: string, version: string | null, name: string, t: SqlText): string {
  const ms = "(extract(epoch from clock_timestamp() - statement_timestamp()) * 1000)::int";
  return `insert into ${LEDGER_SCHEMA}.schema_history (key, kind, version, name, script, checksum, environment, stack, duration_ms)
values (${lit(key)}, ${lit(kind)}, ${lit(version)}, ${lit(name)}, ${lit(t.file)}, ${lit(t.checksum)}, ${lit(l.environment)}, ${lit(l.stack)}, ${ms})
on conflict (key) do update set checksum = excluded.checksum, script = excluded.script, name = excluded.name,
  applied_by = session_user, applied_at = clock_timestamp(), environment = excluded.environment,
  stack = excluded.stack, duration_ms = excluded.duration_ms;
insert into ${LEDGER_SCHEMA}.schema_events (run_id, event, kind, key, version, script, checksum, environment, stack, duration_ms)
values (${lit(l.runId)}, 'apply', ${lit(kind)}, ${lit(key)}, ${lit(version)}, ${lit(t.file)}, ${lit(t.checksum)}, ${lit(l.environment)}, ${lit(l.stack)}, ${ms});`;
}

async function recordEvent(
  l: Ledger,
  event: "apply" | "revert" | "fail",
  kind: HistoryKind,
  key: string,
  version: string | null,
  script: string,
  checksum: string | null,
  ms: number | null,
  error: string | null,
) {
  await l.client.query(
    `insert into ${LEDGER_SCHEMA}.schema_events (run_id, event, kind, key, version, script, checksum, environment, stack, duration_ms, error)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [l.runId, event, kind, key, version, script, checksum, l.environment, l.stack, ms, error],
  );
}

/** `lock_timeout` / `statement_timeout` of the rules, for the transaction (`local`) or the session. */
export function setTimeouts(client: Client, rules: Pick<RunRules, "lockTimeout" | "statementTimeout">, local: boolean) {
  return client.query("select set_config('lock_timeout', $1, $3), set_config('statement_timeout', $2, $3)", [rules.lockTimeout, rules.statementTimeout, local]);
}

const TX_NOTE = "Nothing of this file was applied (its transaction was rolled back).";

/**
 * Runs a file and its ledger rows as ONE transaction in ONE round trip:
 * `begin; <timeouts, local>; <file>; <ledger rows>; commit`. On an error the transaction is rolled
 * back; the line comes from the server's error position when it gives one, otherwise from replaying
 * the file statement by statement in a transaction that is rolled back as well.
 */
async function runAtomically(l: Ledger, ctx: RunContext, t: SqlText, statements: Statement[] | undefined, ledger: string): Promise<void> {
  const { client } = l;
  const prefix =
    "begin;\n" +
    `select pg_catalog.set_config('lock_timeout', ${lit(ctx.rules.lockTimeout)}, true), pg_catalog.set_config('statement_timeout', ${lit(ctx.rules.statementTimeout)}, true);\n`;
  const body = t.sql + "\n;\n";
  const text = prefix + body + ledger + "\ncommit;";
  try {
    await client.query(text);
    return;
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    const e = err as PgError;
    const at = Number(e.position) > 0 ? offsetOf(text, Number(e.position)) : -1;
    if (at >= prefix.length && at < prefix.length + t.sql.length) {
      const context = e.where ? ` [${e.where.split("\n")[0]}]` : "";
      throw new MigrationError(t.file, lineAt(t.sql, at - prefix.length), e.message + context, e.code, TX_NOTE);
    }
    if (at >= prefix.length + body.length) throw new Error(`${t.file}: could not record it in the ledger: ${e.message}. ${TX_NOTE}`);
    // No position (a run-time error): find the statement by replaying, then roll that back too.
    const replay = statements ?? (await splitStatements(t.sql, t.file));
    try {
      await client.query("begin");
      await setTimeouts(client, ctx.rules, true);
      await runStatements(client, t.file, replay, TX_NOTE);
    } catch (located) {
      if (located instanceof MigrationError) throw located;
      throw err;
    } finally {
      await client.query("rollback").catch(() => undefined);
    }
    throw new MigrationError(t.file, replay[0]?.line ?? 1, e.message, e.code, TX_NOTE);
  }
}

/** One versioned migration: a transaction with its ledger rows, or statement by statement. */
async function applyMigration(l: Ledger, ctx: RunContext, m: Migration, statements: Statement[] | undefined): Promise<AppliedFile> {
  const { client } = l;
  const started = Date.now();
  const ledger = ledgerSql(l, "versioned", m.key, m.version, m.name, m);
  try {
    if (m.noTransaction) {
      await setTimeouts(client, ctx.rules, false);
      try {
        await runStatements(
          client,
          m.file,
          statements!,
          "This is a no-transaction file: the {n} statement(s) before this one stay applied; make the file re-runnable (IF NOT EXISTS, DROP INDEX CONCURRENTLY IF EXISTS for an invalid index) and run again.",
        );
      } finally {
        await client.query("reset lock_timeout; reset statement_timeout");
      }
      await client.query(`begin;\n${ledger}\ncommit;`);
    } else {
      await runAtomically(l, ctx, m, statements, ledger);
    }
  } catch (e) {
    await client.query("rollback").catch(() => undefined);
    await recordEvent(l, "fail", "versioned", m.key, m.version, m.file, m.checksum, Date.now() - started, (e as Error).message).catch(() => undefined);
    throw e;
  }
  return { key: m.key, file: m.file, checksum: m.checksum, durationMs: Date.now() - started };
}

async function applyRepeatable(l: Ledger, ctx: RunContext, r: Repeatable, statements: Statement[] | undefined): Promise<AppliedFile> {
  const started = Date.now();
  const kind = r.kind === "seed" ? "seed" : "repeatable";
  try {
    await runAtomically(l, ctx, r, statements, ledgerSql(l, kind, r.key, null, r.key, r));
  } catch (e) {
    await recordEvent(l, "fail", kind, r.key, null, r.file, r.checksum, Date.now() - started, (e as Error).message).catch(() => undefined);
    throw e;
  }
  return { key: r.key, file: r.file, checksum: r.checksum, durationMs: Date.now() - started };
}

/** Transaction control a transactional file may not contain (it would split the file's transaction). */
const SPLITTING = ["TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE", "TRANS_STMT_COMMIT_PREPARED", "TRANS_STMT_ROLLBACK_PREPARED"];

/**
 * The words a transaction-control statement starts with (BEGIN, START TRANSACTION, COMMIT, END,
 * ROLLBACK, ABORT, PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED). Keywords cannot be escaped or
 * split, so a file in which none of them appears, anywhere, contains no transaction control; a file
 * in which one does (a PL/pgSQL BEGIN ... END, a CASE ... END) is parsed to decide.
 */
const TX_WORDS = /\b(begin|start|commit|end|rollback|abort|prepare)\b/i;

function refuseTransactionControl(t: SqlText, statements: Statement[], applied: string): void {
  const bad = statements.find((s) => s.transactionKind && SPLITTING.includes(s.transactionKind));
  if (bad) {
    throw new MigrationError(
      t.file,
      bad.line,
      `transaction control (${bad.sql.trim().split(/\s+/)[0].toUpperCase()}) is not allowed here: the migrator runs each file in one transaction`,
      undefined,
      `Remove it, or mark the file '-- phi-db:no-transaction' if it must run outside a transaction. ${applied}`,
    );
  }
}

/**
 * Before a file runs: a no-transaction file is split into its statements with the real parser
 * (libpg-query), which also reports its syntax errors. A transactional file travels whole, so it is
 * parsed only when it might hold transaction control, which is refused (a COMMIT inside would end
 * the file's transaction half-way); its syntax is checked by the server (`checkSyntax`). The
 * statements of a file that was not parsed here are parsed only if it fails without an error position.
 */
async function prepare(t: SqlText, transactional: boolean): Promise<Statement[] | undefined> {
  if (transactional && !TX_WORDS.test(t.sql)) return undefined;
  const statements = await splitStatements(t.sql, t.file);
  if (transactional) refuseTransactionControl(t, statements, "Nothing was applied.");
  return statements;
}

/**
 * A statement that fails at plan time without executing anything: `select 1/0` (constant folding,
 * SQLSTATE 22012, no position).
 */
const PROBE = "select 1/0;\n";

/**
 * The first syntax error, by the server's own parser, among `texts`, or null. The simple-query
 * protocol parses a whole query string before it executes its first statement, so
 * `select 1/0; <text>` answers either the text's syntax error (with its position) or the probe's own
 * division by zero, having executed nothing. It is the target server's grammar (15, 16 or 17),
 * not a copy of it.
 */
async function firstSyntaxError(client: Client, texts: SqlText[]): Promise<SqlSyntaxError | null> {
  const starts: number[] = [];
  let query = PROBE;
  for (const t of texts) {
    starts.push(query.length);
    query += t.sql + "\n;\n";
  }
  try {
    await client.query(query);
  } catch (err) {
    const e = err as PgError;
    const at = Number(e.position) > 0 ? offsetOf(query, Number(e.position)) : -1;
    if (e.code === "22012" && at < 0) return null;
    if (texts.length === 1) {
      const t = texts[0];
      return new SqlSyntaxError(t.file, at >= starts[0] ? lineAt(t.sql, at - starts[0]) : 1, e.message);
    }
    // Several texts: probe them one by one up to the one the error points at (an unterminated
    // quote in one file could make the error surface in a later one).
    const upTo = at < 0 ? texts.length : starts.filter((s) => s <= at).length;
    for (const t of texts.slice(0, Math.max(1, upTo))) {
      const found = await firstSyntaxError(client, [t]);
      if (found) return found;
    }
    // Each text parses alone: the error belongs to the combination; name it without a line.
    return new SqlSyntaxError(texts[0].file, 1, `${e.message} (while checking the syntax of ${texts.length} files together)`);
  }
  throw new Error("the syntax check returned no error, which it always does (SELECT 1/0): is this PostgreSQL?");
}

/** Checks the syntax of every transactional file in one round trip; the first error stops the run. */
async function checkSyntax(client: Client, texts: SqlText[]): Promise<void> {
  if (!texts.length) return;
  const found = await firstSyntaxError(client, texts);
  if (found) throw found;
}

/**
 * Opens a session, takes the lock, runs `asLogin` (as the login role: locally the access model),
 * sets the owner role, makes sure the ledger exists.
 */
export async function openSession(ctx: RunContext, purpose: string, asLogin?: (client: Client) => Promise<void>): Promise<Client> {
  const log = ctx.log ?? (() => undefined);
  const client = await connect(ctx.connection, `phi-db ${purpose} (${ctx.stack}/${ctx.environment})`);
  try {
    await acquireLock(client, ctx.rules.lockWaitSeconds, (h: LockHolder | null) =>
      log(`waiting for the phi-db lock${h ? ` held by pid ${h.pid} (${h.applicationName})` : ""} ...`),
    );
    if (asLogin) await asLogin(client);
    await setOwner(client, ctx.ownerRole);
    await ensureLedger(client);
    return client;
  } catch (e) {
    await client.end().catch(() => undefined);
    throw e;
  }
}

export async function closeSession(client: Client): Promise<void> {
  try {
    await releaseLock(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Applies everything pending: versioned files in version order, then changed repeatables
 * (functions, views, policies, then seeds). Any plan error stops the run before it changes anything.
 * `beforeMigrate` and `afterApply` run on the same session while the lock is held (locally the
 * access model before; the post-apply checks after).
 */
export async function migrate(
  ctx: RunContext,
  project: SqlProject,
  afterApply?: (client: Client, result: RunResult) => Promise<void>,
  beforeMigrate?: (client: Client) => Promise<void>,
): Promise<RunResult> {
  const log = ctx.log ?? (() => undefined);
  const started = Date.now();
  const client = await openSession(ctx, "up", beforeMigrate);
  try {
    const plan = makePlan(project, await readHistory(client), ctx.rules);
    if (plan.errors.length) throw new PlanFailedError(plan.errors);
    for (const n of plan.notices) log(`notice: ${n}`);
    // Every pending file is checked before any is applied: a syntax error, or transaction control
    // in a transactional file, stops the run with nothing applied.
    const parsed = new Map<string, Statement[] | undefined>();
    for (const m of plan.pending) parsed.set(m.key, await prepare(m, !m.noTransaction));
    for (const r of plan.changedRepeatables) parsed.set(r.key, await prepare(r, true));
    await checkSyntax(client, [...plan.pending.filter((m) => !m.noTransaction), ...plan.changedRepeatables]);

    const l: Ledger = { client, runId: crypto.randomUUID(), environment: ctx.environment, stack: ctx.stack };
    const applied: AppliedFile[] = [];
    for (const [i, m] of plan.pending.entries()) {
      log(`applying ${m.file} (${i + 1}/${plan.pending.length})${m.noTransaction ? " [no-transaction]" : ""}`);
      applied.push(await applyMigration(l, ctx, m, parsed.get(m.key)));
    }
    const repeatables: AppliedFile[] = [];
    for (const r of plan.changedRepeatables) {
      log(`applying ${r.kind === "seed" ? "seed" : "repeatable"} ${r.file}`);
      repeatables.push(await applyRepeatable(l, ctx, r, parsed.get(r.key)));
    }
    const result: RunResult = { applied, repeatables, notices: plan.notices, durationMs: 0, plan };
    if (afterApply) await afterApply(client, result);
    result.durationMs = Date.now() - started;
    return result;
  } finally {
    await closeSession(client);
  }
}

/** Reads the plan without applying (no lock needed: one read of the ledger). */
export async function readPlan(ctx: RunContext, project: SqlProject): Promise<Plan> {
  const client = await connect(ctx.connection, `phi-db plan (${ctx.stack}/${ctx.environment})`);
  try {
    return makePlan(project, await readHistory(client), ctx.rules);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface RevertResult {
  reverted: AppliedFile[];
}

/**
 * Reverts the newest applied migrations with their down files, newest first, each in its own
 * transaction with its ledger rows. Only where the environment allows rollback (local/dev).
 * `target`: revert everything newer than this version; default: the newest one only.
 */
export async function revert(ctx: RunContext, project: SqlProject, target?: { toVersion?: string; steps?: number }): Promise<RevertResult> {
  if (!ctx.rules.allowRollback) {
    throw new Error(`rollback is not allowed in environment ${ctx.environment}: it is refused everywhere but local and dev; write a new forward migration instead`);
  }
  const log = ctx.log ?? (() => undefined);
  const client = await openSession(ctx, "rollback");
  try {
    const history = await readHistory(client);
    const plan = makePlan(project, history, { allowOutOfOrder: true });
    const drift = plan.errors.filter((e) => e.code !== "out-of-order");
    if (drift.length) throw new PlanFailedError(drift);
    const applied = [...plan.applied].reverse();
    const chosen = target?.toVersion !== undefined ? applied.filter((h) => (h.version ?? "") > target.toVersion!) : applied.slice(0, target?.steps ?? 1);
    const byKey = new Map(project.migrations.map((m) => [m.key, m]));
    const missing = chosen.filter((h) => !byKey.get(h.key)?.down);
    if (missing.length) {
      throw new Error(`cannot roll back: no down file for ${missing.map((h) => h.script).join(", ")} (expected ${missing.map((h) => h.script.replace(/\.sql$/, ".down.sql")).join(", ")}); nothing was reverted`);
    }
    // Parse every down file first: a syntax error reverts nothing.
    const parsed = new Map<string, Statement[]>();
    for (const h of chosen) {
      const down = byKey.get(h.key)!.down!;
      const statements = await splitStatements(down.sql, down.file);
      refuseTransactionControl(down, statements, "Nothing was reverted.");
      parsed.set(h.key, statements);
    }
    const l: Ledger = { client, runId: crypto.randomUUID(), environment: ctx.environment, stack: ctx.stack };
    const reverted: AppliedFile[] = [];
    for (const h of chosen) {
      const m = byKey.get(h.key)!;
      const down = m.down!;
      const started = Date.now();
      log(`reverting ${m.file} with ${down.file}`);
      const statements = parsed.get(h.key)!;
      try {
        await client.query("begin");
        await setTimeouts(client, ctx.rules, true);
        await runStatements(client, down.file, statements, "Nothing of this down file was applied (its transaction was rolled back).");
        await client.query(`delete from ${LEDGER_SCHEMA}.schema_history where key = $1`, [m.key]);
        await recordEvent(l, "revert", "versioned", m.key, m.version, down.file, down.checksum, Date.now() - started, null);
        await client.query("commit");
      } catch (e) {
        await client.query("rollback").catch(() => undefined);
        await recordEvent(l, "fail", "versioned", m.key, m.version, down.file, down.checksum, Date.now() - started, (e as Error).message).catch(() => undefined);
        throw e;
      }
      reverted.push({ key: m.key, file: down.file, checksum: down.checksum, durationMs: Date.now() - started });
    }
    return { reverted };
  } finally {
    await closeSession(client);
  }
}

export { SqlSyntaxError };
