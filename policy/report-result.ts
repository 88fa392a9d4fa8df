/**
 * The HIPAA policy pack's result, for the audit report (`phi-db report`), from one of two sources:
 *
 * - a Pulumi engine event log (`pulumi preview|up --event-log <file>`, newline-delimited JSON
 *   engine events; CI uploads it): `policyEvent`s are the violations, `policyAnalyzeSummaryEvent` /
 *   `policyAnalyzeStackSummaryEvent` name the policies that passed and failed, `summaryEvent.PolicyPacks`
 *   the packs that ran. `pulumi preview --json` is NOT a source: the CLI leaves policy events out of
 *   that document, so a file of that shape is reported as unverifiable rather than as "no violations";
 * - a local evaluation: the pack (policy/policies.ts) run over the Pulumi program's resources under
 *   Pulumi mocks, in a child process (policy/evaluate-program.ts through policy/ts-require.js), the way
 *   the unit tests run it. That shows what this checkout's program would be judged, not a deployment.
 *
 * This module is part of the CLI build: it imports nothing from the pack or the test support.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type PolicyOutcome = "passed" | "violated" | "not applicable";

export interface PolicyPackViolation {
  policy: string;
  /** advisory | mandatory | remediate */
  enforcement: string;
  message: string;
  /** urn of the resource in violation; null for a stack-level violation without one. */
  urn: string | null;
  /** `name@version` of the pack. */
  pack: string | null;
}

export interface PolicyPackReport {
  /** Where the result comes from, in plain words. */
  source: string;
  kind: "event log" | "local evaluation";
  /** Stack the result is for (from the urns, or the evaluated stack). */
  stack: string | null;
  packs: string[];
  /** Per policy: its enforcement (when known), outcome and number of violations. */
  policies: Array<{ name: string; enforcement: string | null; outcome: PolicyOutcome; violations: number }>;
  violations: PolicyPackViolation[];
  /** Sentences naming what this result does not establish, each "not verified: ... (why)". */
  notVerified: string[];
}

const notVerified = (what: string, why: string) => `not verified: ${what} (${why})`;

/** The engine's level names -> the pack's: `warning` is how the engine spells advisory. */
const level = (l: unknown) => (l === "warning" ? "advisory" : typeof l === "string" && l !== "" ? l : "unknown");

const stackOfUrn = (urn: unknown) => (typeof urn === "string" && urn.startsWith("urn:pulumi:") ? urn.slice("urn:pulumi:".length).split("::")[0] : null);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The engine events the report reads from an event log (CI keeps only these lines of it). */
export const POLICY_EVENT_KINDS = ["policyEvent", "policyAnalyzeSummaryEvent", "policyAnalyzeStackSummaryEvent", "summaryEvent"] as const;

/** Parses a saved result; throws with a reason a reader can act on when the file is not usable at all. */
export function readPolicyResult(file: string, expectedStack?: string, expectedPack = "phi-db-hipaa"): PolicyPackReport {
  const text = fs.readFileSync(file, "utf8");
  const base = path.basename(file);
  let events: Json[];
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) events = JSON.parse(trimmed);
  else {
    let whole: Json;
    try {
      whole = JSON.parse(trimmed);
    } catch {
      whole = undefined;
    }
    if (whole && typeof whole === "object" && !Array.isArray(whole) && !("sequence" in whole)) {
      if ("steps" in whole || "changeSummary" in whole || "diagnostics" in whole || "config" in whole) {
        throw new Error(
          `${base} is the output of \`pulumi preview --json\`, which does not carry policy results (the CLI leaves policy events out of it); save the engine event log instead: \`pulumi preview --event-log <file>\``,
        );
      }
      throw new Error(`${base}: not a Pulumi engine event log (expected one JSON engine event per line, from \`pulumi preview --event-log <file>\`)`);
    }
    events = trimmed === "" ? [] : trimmed.split(/\r?\n/).filter((l) => l.trim() !== "").map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        throw new Error(`${base}:${i + 1}: not JSON (${(e as Error).message})`);
      }
    });
  }
  if (!Array.isArray(events) || !events.every((e) => e && typeof e === "object")) throw new Error(`${base}: not a Pulumi engine event log`);

  const violations: PolicyPackViolation[] = [];
  const passed = new Map<string, Set<string>>();
  const failed = new Set<string>();
  const packs = new Set<string>();
  const stacks = new Set<string>();
  let summary: Json;
  let sawAnalyzeSummary = false;
  for (const e of events) {
    if (e.policyEvent) {
      const p = e.policyEvent;
      const pack = p.policyPackName ? `${p.policyPackName}@${p.policyPackVersion || p.policyPackVersionTag || "?"}` : null;
      if (pack) packs.add(pack);
      violations.push({ policy: String(p.policyName), enforcement: level(p.enforcementLevel), message: String(p.message ?? "").trim(), urn: p.resourceUrn || null, pack });
      const s = stackOfUrn(p.resourceUrn);
      if (s) stacks.add(s);
    }
    for (const key of ["policyAnalyzeSummaryEvent", "policyAnalyzeStackSummaryEvent"]) {
      const s = e[key];
      if (!s) continue;
      sawAnalyzeSummary = true;
      if (s.policyPackName) packs.add(`${s.policyPackName}@${s.policyPackVersion || s.policyPackVersionTag || "?"}`);
      const st = stackOfUrn(s.resourceUrn);
      if (st) stacks.add(st);
      for (const n of s.passed ?? []) {
        if (!passed.has(n)) passed.set(n, new Set());
        passed.get(n)!.add(s.resourceUrn ?? "stack");
      }
      for (const n of s.failed ?? []) failed.add(n);
    }
    if (e.summaryEvent) summary = e.summaryEvent;
  }
  const ranPacks = summary?.PolicyPacks && typeof summary.PolicyPacks === "object" ? Object.entries(summary.PolicyPacks as Record<string, string>) : [];
  for (const [name, version] of ranPacks) if (![...packs].some((p) => p.startsWith(`${name}@`))) packs.add(`${name}@${String(version).replace(/^v/, "")}`);

  const nv: string[] = [];
  if (!summary) nv.push(notVerified("that the run completed", `${base} has no summary event: the preview or update may have stopped before the end, so policies may be missing`));
  if (packs.size === 0) {
    throw new Error(`${base}: no policy pack ran in this run (no policy events, and the summary names no policy pack): run it with \`--policy-pack policy --policy-pack-config policy/<env>.json\``);
  }
  if (![...packs].some((p) => p.startsWith(`${expectedPack}@`))) nv.push(notVerified(`that the ${expectedPack} pack ran`, `${base} names only ${[...packs].join(", ")}`));
  const stack = stacks.size === 1 ? [...stacks][0] : null;
  if (expectedStack && stack && stack !== expectedStack) nv.push(notVerified(`that this is the result for stack ${expectedStack}`, `${base} is about stack ${stack}`));
  if (stacks.size > 1) nv.push(notVerified("which stack this result is for", `${base} names several: ${[...stacks].join(", ")}`));
  if (!sawAnalyzeSummary) {
    nv.push(notVerified("which policies passed", `${base} has no policy summary events (a Pulumi CLI too old to write them): only the violations are listed`));
  }

  const names = new Set([...passed.keys(), ...failed, ...violations.map((v) => v.policy)]);
  const policies = [...names].sort().map((name) => {
    const mine = violations.filter((v) => v.policy === name);
    return {
      name,
      enforcement: mine[0]?.enforcement ?? null,
      outcome: (mine.length || failed.has(name) ? "violated" : "passed") as PolicyOutcome,
      violations: mine.length,
    };
  });
  const when = summary ? (summary.isPreview === false ? "pulumi up" : "pulumi preview") : "a pulumi run";
  return {
    source: `${when}${stack ? ` of stack ${stack}` : ""}, engine event log ${base}`,
    kind: "event log",
    stack,
    packs: [...packs].sort(),
    policies,
    violations,
    notVerified: nv,
  };
}

/** What the child process (policy/evaluate-program.ts) writes: the harness result plus the pack's policy list. */
export interface LocalEvaluation {
  stack: string;
  configFile: string | null;
  resources: number;
  pack: string;
  policies: Array<{ name: string; enforcement: string }>;
  result: {
    violations: Array<{ policy: string; enforcementLevel: string; message: string; urn?: string }>;
    notApplicable: Array<{ policy: string; urn?: string; reason: string }>;
    unknown: Array<{ policy: string; urn?: string; message: string }>;
    evaluated: Record<string, number>;
  };
}

/** A local evaluation as a report result. */
export function fromLocalEvaluation(e: LocalEvaluation): PolicyPackReport {
  const violations = e.result.violations.map((v) => ({ policy: v.policy, enforcement: level(v.enforcementLevel), message: v.message, urn: v.urn ?? null, pack: e.pack }));
  const policies = e.policies.map((p) => {
    const n = violations.filter((v) => v.policy === p.name).length;
    const judged = e.result.evaluated[p.name] ?? 0;
    return { name: p.name, enforcement: p.enforcement, outcome: (n ? "violated" : judged > 0 ? "passed" : "not applicable") as PolicyOutcome, violations: n };
  });
  const nv = [
    notVerified(
      `that stack ${e.stack} passed the pack when it was last previewed or deployed`,
      "this is the pack run over this checkout's program under Pulumi mocks, not against the stack; pass `--policy-result <file>` with the event log CI saves from `pulumi preview --event-log`",
    ),
  ];
  for (const u of e.result.unknown) nv.push(notVerified(`policy ${u.policy}${u.urn ? ` on ${u.urn}` : ""}`, `a value it needs is only known after deployment: ${u.message}`));
  return {
    source: `local evaluation: ${e.pack} over the Pulumi program for stack ${e.stack} under Pulumi mocks (${e.resources} resources), configuration ${e.configFile ?? "none (the pack's defaults, as strict as prod)"}`,
    kind: "local evaluation",
    stack: e.stack,
    packs: [e.pack],
    policies,
    violations,
    notVerified: nv,
  };
}

/**
 * Runs the pack over the program in a child process (its own Pulumi runtime and module registry),
 * from the TypeScript sources of `root`: `node -r policy/ts-require.js policy/evaluate-program.ts`.
 */
export async function evaluateLocally(root: string, env: string, timeoutMs = 180000): Promise<PolicyPackReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-pack-"));
  const out = path.join(dir, "result.json");
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        ["-r", path.join(root, "policy", "ts-require.js"), path.join(root, "policy", "evaluate-program.ts"), root, env, out],
        { cwd: root, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (err, _stdout, stderr) => {
          if (err) reject(new Error(`${(stderr || err.message).trim().split("\n").slice(-3).join(" ")}`));
          else resolve();
        },
      );
    });
    return fromLocalEvaluation(JSON.parse(fs.readFileSync(out, "utf8")) as LocalEvaluation);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
