/**
 * `phi-db lint`: lint pending migrations (squawk + phi-db rules, see migrator/lint.ts).
 *
 *  - With a database (`--local`, `--database-url`, `$DATABASE_URL`): the files the ledger has not
 *    applied yet. Without one: every migration file (what a fresh database would apply; CI on a
 *    pull request has no database to ask).
 *  - Output: text (`file:line: severity rule: message`), `--json`, or GitHub workflow annotations
 *    (`::error file=...,line=...,title=<rule>::<message>`) with `--format github` or whenever
 *    `GITHUB_ACTIONS=true` and no other format was asked for.
 *  - Exit 1 when there are errors and the stack's `lintBlocking` is true (prod by default);
 *    otherwise the errors are printed as warnings and the exit code is 0.
 */
import * as path from "path";
import { readPlan, RunContext } from "../migrator/apply";
import type { SqlProject } from "../migrator/files";
import { LintFinding, lintMigrations, lintSummary } from "../migrator/lint";

export const LINT_FORMATS = ["text", "json", "github"] as const;
export type LintFormat = (typeof LINT_FORMATS)[number];

export interface LintCommandOptions {
  /** `--json` (same as `--format json`). */
  json?: boolean;
  /** `--format text|json|github`. Defaults to json with --json, github under GitHub Actions, else text. */
  format?: string;
  /** The stack's `lintBlocking`: errors fail the command. */
  blocking: boolean;
  /** Schemas whose new tables must enable and force RLS (the access model's rls schemas). */
  managedSchemas: string[];
  /** Project root (holds Pulumi.yaml); paths are printed relative to it. */
  root: string;
  /** The SQL root (`<root>/sql`); migration files are relative to it. */
  sqlRoot: string;
  /** Stack name, for the summary line. */
  stack?: string;
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Chooses the output format; an unknown `--format` is a usage error (undefined). */
export function lintFormat(opts: { json?: boolean; format?: string }, env: NodeJS.ProcessEnv = process.env): LintFormat | undefined {
  if (opts.format !== undefined) return (LINT_FORMATS as readonly string[]).includes(opts.format) ? (opts.format as LintFormat) : undefined;
  if (opts.json) return "json";
  return env.GITHUB_ACTIONS === "true" ? "github" : "text";
}

/** Escapes for workflow commands (https://github.com/actions/toolkit, `core.issueCommand`). */
const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** One finding as a GitHub annotation line. */
export function githubAnnotation(f: LintFinding, level: "error" | "warning"): string {
  return `::${level} file=${escapeProperty(f.file)},line=${f.line},title=${escapeProperty(f.rule)}::${escapeData(f.message)}`;
}

const NOT_BLOCKING = " (an error where phi-db:lintBlocking is true)";

export async function lintCommand(ctx: RunContext | undefined, project: SqlProject, opts: LintCommandOptions, io: Io): Promise<number> {
  const format = lintFormat(opts);
  if (!format) {
    io.err(`phi-db: --format expects one of ${LINT_FORMATS.join(", ")}, got ${opts.format}`);
    return 2;
  }

  // Which files: pending against the ledger, or all of them without a database.
  let pending = project.migrations;
  let scope: string;
  if (ctx) {
    const plan = await readPlan(ctx, project);
    pending = plan.pending;
    scope = `${pending.length} pending migration(s)`;
    const planErrors = plan.errors.filter((e) => e.code !== "file");
    if (planErrors.length) io.err(`phi-db: note: the plan has ${planErrors.length} error(s) that 'phi-db plan' explains; lint does not judge them`);
  } else {
    scope = `${pending.length} migration file(s) (no database given: every file is linted)`;
  }

  // Files that cannot even be loaded (bad name, unknown placeholder) are errors too.
  const problems: LintFinding[] = project.problems.map((p) => {
    const m = /^line (\d+):/.exec(p.message);
    return { file: p.file, line: m ? Number(m[1]) : 1, rule: "phi-db/files", severity: "error", message: p.message };
  });
  const found = [...problems, ...(await lintMigrations(pending, { managedSchemas: opts.managedSchemas }))];

  // Paths relative to the project root (sql/migrations/...); under GitHub Actions relative to the
  // workspace, which is what annotations need when the project is a sub-folder of the repository.
  const workspace = format === "github" ? process.env.GITHUB_WORKSPACE : undefined;
  const base = workspace && !path.relative(workspace, opts.root).startsWith("..") ? workspace : opts.root;
  const findings = found.map((f) => ({ ...f, file: path.relative(base, path.join(opts.sqlRoot, f.file)).split(path.sep).join("/") }));
  const { errors, warnings } = lintSummary(findings);
  const failed = errors > 0 && opts.blocking;
  const stack = opts.stack ? ` (${opts.stack})` : "";
  const summary =
    `phi-db lint${stack}: ${errors} error(s), ${warnings} warning(s) in ${scope}` +
    (errors > 0 && !opts.blocking ? "; errors do not block this stack (phi-db:lintBlocking is false)" : "");

  if (format === "json") {
    io.out(
      JSON.stringify(
        {
          blocking: opts.blocking,
          ok: !failed,
          linted: pending.map((m) => path.relative(base, path.join(opts.sqlRoot, m.file)).split(path.sep).join("/")),
          summary: { errors, warnings },
          findings,
        },
        null,
        2,
      ),
    );
  } else if (format === "github") {
    for (const f of findings) {
      const level = f.severity === "error" && opts.blocking ? "error" : "warning";
      io.out(githubAnnotation(f.severity === "error" && !opts.blocking ? { ...f, message: f.message + NOT_BLOCKING } : f, level));
    }
    io.out(summary);
  } else {
    for (const f of findings) {
      const blockingError = f.severity === "error" && opts.blocking;
      const label = blockingError || f.severity === "warning" ? f.severity : "warning";
      io.out(`${f.file}:${f.line}: ${label} ${f.rule}: ${f.message}${f.severity === "error" && !opts.blocking ? NOT_BLOCKING : ""}`);
    }
    io.out(summary);
  }
  return failed ? 1 : 0;
}
