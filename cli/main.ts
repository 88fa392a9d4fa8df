/**
 * `phi-db`: the migrator from the command line (same engine as the Pulumi provider, no Pulumi).
 *
 *   phi-db up|plan|status|verify|lint|rollback|stop [--env <name>] [--local | --database-url <url>] [--json]
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import type { Client } from "pg";
import { parse as parseYaml } from "yaml";
import { DatabaseLayerConfig, parseDatabaseConfig, runRules, stackSettings } from "../components/config";
import { closeSession, openSession, readPlan, revert, RunContext } from "../migrator/apply";
import { ChecksFailedError, declaredPolicies, runChecks } from "../migrator/checks";
import { connect, ConnectionParams, redactUrl } from "../migrator/db";
import { loadLayerFiles, runLayer } from "../migrator/engine";
import { planJson } from "../migrator/plan";
import { localServerDir, startEmbedded, stopEmbedded } from "./embedded";
import { accessHooks } from "./access";

const USAGE = `usage: phi-db <command> [options]

commands:
  up         apply the access model (--local), pending migrations, changed repeatables; then (even with
             nothing pending) app.on_schema_apply: partition window, modules and request guard from the
             stack config; then verify
  plan       show what 'up' would apply (pending migrations, changed repeatables, errors)
  status     show the ledger: what is applied, when, by whom; and what is pending
  verify     run the post-apply checks (RLS forced + policies, orphan policies, extensions, ...) and print the RLS policy and attack matrices
  lint       lint pending migrations (squawk + phi-db rules)
  rollback   revert the newest migration(s) with their down files (local/dev only)
  report     write the audit report phi-db-report-<env>.md and .json (infrastructure posture + live database facts)
  stop       stop the local embedded PostgreSQL server (--local)

options:
  --env <name>          stack whose Pulumi.<name>.yaml gives the rules (default: local)
  --local               use the embedded PostgreSQL 17 in .phi-db/local (started if needed)
  --database-url <url>  PostgreSQL URL (default: $DATABASE_URL)
  --dir <path>          project root holding sql/ and Pulumi.<env>.yaml (default: found from cwd)
  --json                machine-readable output (plan, status, verify, lint)
  --format <f>          lint: text, json or github (annotations; the default when GITHUB_ACTIONS=true)
  --apply-access        up: apply the access model as SQL first (always with --local; on RDS Pulumi does it)
  --steps <n>           rollback: how many migrations to revert (default 1)
  --to <version>        rollback: revert every migration newer than this version
  --out <dir>           report: folder for the report files (default: the working directory)
  --stack-outputs <f>   report: JSON of 'pulumi stack output --json' for the stack (default: its configuration only)
  --policy-result <f>   report: engine event log of 'pulumi preview|up --event-log <f>' run with the policy pack
                        (default: the pack evaluated here over the program under Pulumi mocks)
`;

export class UsageError extends Error {}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

function findRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml")) && fs.existsSync(path.join(dir, "sql"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new UsageError(`no phi-db project found from ${start} upward (a folder with Pulumi.yaml and sql/); pass --dir`);
    dir = up;
  }
}

/** Reads the database-layer settings of `Pulumi.<env>.yaml`. */
export function readStackConfig(root: string, env: string): DatabaseLayerConfig {
  const file = path.join(root, `Pulumi.${env}.yaml`);
  if (!fs.existsSync(file)) throw new UsageError(`no stack config ${file}: --env names a stack (local, dev, prod, ...)`);
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const raw = doc?.config ?? {};
  try {
    return parseDatabaseConfig(raw);
  } catch (e) {
    throw new UsageError(`${path.basename(file)}: ${(e as Error).message}`);
  }
}

interface Target {
  /** Local server folder (holds the password file), when local. */
  baseDir?: string;
  connection: ConnectionParams;
  display: string;
  local: boolean;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = await connect({ connectionString: adminUrl }, "phi-db local setup");
  try {
    const r = await admin.query("select 1 from pg_catalog.pg_database where datname = $1", [name]);
    if (!r.rows.length) await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
}

async function target(root: string, cfg: DatabaseLayerConfig, opts: { local?: boolean; "database-url"?: string }, log: (s: string) => void): Promise<Target> {
  if (opts.local) {
    const baseDir = localServerDir(root);
    const server = await startEmbedded({ baseDir, log });
    await ensureDatabase(server.adminUrl, cfg.databaseName);
    const u = new URL(server.adminUrl);
    u.pathname = "/" + cfg.databaseName;
    return { connection: { connectionString: u.toString() }, display: redactUrl(u.toString()), local: true, baseDir };
  }
  const url = opts["database-url"] ?? process.env.DATABASE_URL;
  if (!url) throw new UsageError("no database: pass --local, --database-url <url>, or set DATABASE_URL");
  return { connection: { connectionString: url }, display: redactUrl(url), local: false };
}

function context(cfg: DatabaseLayerConfig, env: string, t: Target, ownerRole: string, log: (s: string) => void): RunContext {
  return { connection: t.connection, environment: cfg.environment, stack: env, rules: runRules(cfg), ownerRole, log };
}

export async function main(argv: string[], io: Io = { out: (s) => process.stdout.write(s + "\n"), err: (s) => process.stderr.write(s + "\n") }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        env: { type: "string", default: "local" },
        local: { type: "boolean" },
        "database-url": { type: "string" },
        dir: { type: "string" },
        json: { type: "boolean" },
        format: { type: "string" },
        "apply-access": { type: "boolean" },
        steps: { type: "string" },
        to: { type: "string" },
        out: { type: "string" },
        "stack-outputs": { type: "string" },
        "policy-result": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    io.err(`phi-db: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: opts, positionals } = parsed;
  const command = positionals[0];
  if (opts.help || !command) {
    io.out(USAGE);
    return command || opts.help ? 0 : 2;
  }
  const log = (s: string) => io.err(`phi-db: ${s}`);
  try {
    const root = findRoot(opts.dir ?? process.cwd());
    const env = opts.env ?? "local";
    const cfg = readStackConfig(root, env);
    const sqlRoot = path.join(root, "sql");
    const files = () => loadLayerFiles({ sqlRoot, environment: cfg.environment, placeholders: cfg.placeholders, loadSeed: cfg.loadSeed, seedSet: cfg.seedSet });

    if (command === "stop") {
      io.out(stopEmbedded(localServerDir(root)) ? "stopped the local PostgreSQL server" : "the local PostgreSQL server is not running");
      return 0;
    }
    if (!["up", "plan", "status", "verify", "lint", "rollback", "report"].includes(command)) throw new UsageError(`unknown command '${command}'\n\n${USAGE}`);

    if (command === "lint") {
      // Lint needs no database: without one it lints every migration file (cli/lint-command.ts).
      const { lintCommand } = await import("./lint-command");
      const lintTarget = opts.local || opts["database-url"] || process.env.DATABASE_URL ? await target(root, cfg, opts, log) : undefined;
      const lintAccess = accessHooks(root, cfg, false, log);
      const lintCtx = lintTarget ? context(cfg, env, lintTarget, lintAccess.owner, log) : undefined;
      return lintCommand(lintCtx, files(), { json: !!opts.json, format: opts.format, blocking: cfg.lintBlocking, managedSchemas: lintAccess.checks.managedSchemas, root, sqlRoot, stack: env }, io);
    }

    const t = await target(root, cfg, opts, log);
    const access = accessHooks(root, cfg, t.local || !!opts["apply-access"], log);
    const ctx = context(cfg, env, t, access.owner, log);

    switch (command) {
      case "up": {
        const started = Date.now();
        const result = await runLayer({
          ...ctx,
          sqlRoot,
          placeholders: cfg.placeholders,
          loadSeed: cfg.loadSeed,
          seedSet: cfg.seedSet,
          checks: access.checks,
          beforeMigrate: access.beforeMigrate,
          settings: stackSettings(cfg),
        });
        const n = result.applied.length + result.repeatables.length;
        if (n === 0) io.out(`phi-db up (${env}): nothing to apply; ${result.plan.applied.length} migration(s) already applied`);
        else {
          io.out(`phi-db up (${env}): applied ${result.applied.length} migration(s) and ${result.repeatables.length} repeatable/seed file(s) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
          for (const a of [...result.applied, ...result.repeatables]) io.out(`  ${a.file}  ${a.durationMs} ms`);
        }
        if (result.onApply.length) {
          io.out("after apply (app.on_schema_apply):");
          for (const r of result.onApply) io.out(`  ${r.task}: ${r.result}`);
        }
        io.out(`checks: ${result.checks.map((c) => `${c.name} ${c.ok ? "ok" : "FAILED"}`).join(", ")}`);
        io.out(`database: ${t.display}${t.baseDir ? `  (password in ${path.join(t.baseDir, "password")})` : ""}`);
        return 0;
      }
      case "plan":
      case "status": {
        const plan = await readPlan(ctx, files());
        const json = planJson(plan);
        if (opts.json) io.out(JSON.stringify(json, null, 2));
        else {
          if (command === "status") {
            io.out(`applied (${json.applied.length}):`);
            for (const a of json.applied) io.out(`  ${a.version}_${a.name}  ${a.appliedAt}  by ${a.appliedBy}  ${a.checksum.slice(0, 12)}`);
          }
          io.out(`pending (${json.pending.length}):`);
          for (const p of json.pending) io.out(`  ${p.file}${p.noTransaction ? "  [no-transaction]" : ""}`);
          io.out(`changed repeatables (${json.changedRepeatables.length}):`);
          for (const r of json.changedRepeatables) io.out(`  ${r.key}`);
          for (const nt of json.notices) io.out(`notice: ${nt}`);
          for (const e of json.errors) io.out(`error: ${e.file}: ${e.message}`);
        }
        return plan.errors.length ? 1 : 0;
      }
      case "verify": {
        const client: Client = await connect(t.connection, `phi-db verify (${env}/${cfg.environment})`);
        try {
          const results = await runChecks(client, { ...access.checks, declaredPolicies: await declaredPolicies(files()) });
          // RLS matrices (informational): per table x role x command from the catalog, and the attack
          // matrix measured with a rolled-back fixture where this session may act as every role.
          const { verifyMatrices, verifyMatricesText } = await import("../migrator/rls-matrix");
          const matrices = await verifyMatrices(client, { owner: access.owner, managedSchemas: access.checks.managedSchemas, environment: cfg.environment });
          if (opts.json) io.out(JSON.stringify({ checks: results, ...matrices }, null, 2));
          else {
            for (const r of results) io.out(`${r.ok ? "ok    " : "FAILED"} ${r.name}${r.failures.map((f) => "\n         " + f).join("")}`);
            for (const line of verifyMatricesText(matrices)) io.out(line);
          }
          return results.every((r) => r.ok) ? 0 : 1;
        } finally {
          await client.end();
        }
      }
      case "rollback": {
        const steps = opts.steps !== undefined ? Number(opts.steps) : undefined;
        if (steps !== undefined && !(Number.isInteger(steps) && steps > 0)) throw new UsageError(`--steps expects a positive whole number, got ${opts.steps}`);
        if (opts.to !== undefined && !/^\d{11}$/.test(opts.to)) throw new UsageError(`--to expects an 11-digit version, got ${opts.to}`);
        const r = await revert(ctx, files(), { steps, toVersion: opts.to });
        io.out(r.reverted.length ? `reverted ${r.reverted.map((x) => x.file).join(", ")}` : "nothing to revert");
        return 0;
      }
      case "report": {
        const { reportCommand } = await import("./report");
        const stackOutputsFile = opts["stack-outputs"] !== undefined ? path.resolve(opts["stack-outputs"]) : undefined;
        const policyResultFile = opts["policy-result"] !== undefined ? path.resolve(opts["policy-result"]) : undefined;
        return reportCommand({ root, env, connection: t.connection, display: t.display, files: files(), checks: access.checks, stackOutputsFile, policyResultFile, outDir: opts.out }, io);
      }
    }
    return 2;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`phi-db: ${e.message}`);
      return 2;
    }
    if (e instanceof ChecksFailedError) {
      io.err(`phi-db: ${e.message}`);
      return 1;
    }
    io.err(`phi-db: ${(e as Error).message}`);
    return 1;
  }
}

// Exposed for the lint command and tests.
export { openSession, closeSession };
