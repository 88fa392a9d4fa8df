/**
 * The plan: files + ledger history -> what is pending, what changed, and what is wrong.
 * Pure (no I/O), so it can be printed, tested and diffed before anything touches the database.
 */
import type { Migration, Repeatable, SqlProject } from "./files";

export type HistoryKind = "versioned" | "repeatable" | "seed";

/** One row of `phi_ledger.schema_history` (the current state). */
export interface HistoryRow {
  key: string;
  kind: HistoryKind;
  version: string | null;
  name: string;
  script: string;
  checksum: string;
  appliedAt: string;
  appliedBy: string;
}

export interface PlanRules {
  /** Allow a new migration older than the newest applied one. */
  allowOutOfOrder: boolean;
}

export interface PlanError {
  code: "file" | "drift" | "missing" | "out-of-order";
  file: string;
  message: string;
}

export interface Plan {
  applied: HistoryRow[];
  pending: Migration[];
  /** Repeatables (and seeds) whose checksum differs from the ledger, or that never ran. */
  changedRepeatables: Repeatable[];
  errors: PlanError[];
  notices: string[];
}

export function makePlan(project: SqlProject, history: HistoryRow[], rules: PlanRules): Plan {
  const errors: PlanError[] = project.problems.map((p) => ({ code: "file" as const, file: p.file, message: p.message }));
  const notices: string[] = [];
  const applied = history.filter((h) => h.kind === "versioned").sort((a, b) => (a.version ?? "").localeCompare(b.version ?? ""));
  const byVersion = new Map(project.migrations.map((m) => [m.version, m]));
  const appliedVersions = new Set<string>();

  for (const h of applied) {
    const version = h.version ?? "";
    appliedVersions.add(version);
    const m = byVersion.get(version);
    if (!m) {
      errors.push({
        code: "missing",
        file: h.script,
        message: `applied migration ${h.key} is missing on disk (expected ${h.script}); restore the file, applied migrations are never removed`,
      });
    } else if (m.key !== h.key) {
      errors.push({
        code: "drift",
        file: m.file,
        message: `version ${version} was applied as ${h.script} but the file on disk is ${m.file}; applied migrations are never renamed`,
      });
    } else if (m.checksum !== h.checksum) {
      errors.push({
        code: "drift",
        file: m.file,
        message: `${m.file} was edited after it was applied (applied checksum ${h.checksum}, file checksum ${m.checksum}); write a new migration instead`,
      });
    }
  }

  const newest = applied.length ? applied[applied.length - 1].version ?? "" : "";
  const pending = project.migrations.filter((m) => !appliedVersions.has(m.version));
  for (const m of pending) {
    if (m.version < newest) {
      if (rules.allowOutOfOrder) {
        notices.push(`${m.file} is older than the newest applied migration ${newest}; applying out of order (allowed in this environment)`);
      } else {
        errors.push({
          code: "out-of-order",
          file: m.file,
          message: `${m.file} is older than the newest applied migration ${newest}; out-of-order migrations are not allowed in this environment (give it a newer version)`,
        });
      }
    }
  }

  const ran = new Map(history.filter((h) => h.kind !== "versioned").map((h) => [h.key, h]));
  const current = [...project.repeatables, ...project.seeds];
  const changedRepeatables = current.filter((r) => ran.get(r.key)?.checksum !== r.checksum);
  const onDisk = new Set(current.map((r) => r.key));
  for (const h of ran.values()) {
    if (!onDisk.has(h.key) && h.kind === "repeatable") {
      notices.push(`repeatable ${h.key} is no longer on disk; the objects it created remain (drop them in a migration)`);
    }
  }
  return { applied, pending, changedRepeatables, errors, notices };
}

/** The plan as the plain JSON the CLI prints with `--json`. */
export function planJson(plan: Plan) {
  return {
    applied: plan.applied.map((h) => ({ version: h.version, name: h.name, checksum: h.checksum, appliedAt: h.appliedAt, appliedBy: h.appliedBy })),
    pending: plan.pending.map((m) => ({ version: m.version, name: m.name, file: m.file, checksum: m.checksum, noTransaction: m.noTransaction })),
    changedRepeatables: plan.changedRepeatables.map((r) => ({ key: r.key, kind: r.kind, checksum: r.checksum })),
    errors: plan.errors,
    notices: plan.notices,
  };
}
