/**
 * The GitHub workflows (.github/workflows) are checked like code: they parse; test.yml runs the
 * README's test command on Node 20 for every push and pull request; every script, CLI command, npm
 * script, stack file, path and reusable workflow they name exists; the pulumi/actions steps use only
 * inputs the action (v6) has, attach the policy pack with the configuration of the stack they run
 * against, and preview.yml comments on the pull request; nothing prints secrets or stores AWS keys;
 * deploy.yml deploys dev on main and prod only behind the `production` environment.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { LINT_FORMATS } from "../../cli/lint-command";
import { validatePackConfig } from "../../policy/harness";
import { policies } from "../../policy/policies";
import { POLICY_EVENT_KINDS, readPolicyResult } from "../../policy/report-result";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

/** Inputs of pulumi/actions v6 (its README, "Configuration" and "Extra options"). */
const PULUMI_ACTION_V6_INPUTS = [
  "command", "stack-name", "work-dir", "cloud-url", "comment-on-pr", "comment-on-summary", "github-token", "refresh", "secrets-provider",
  "color", "log-verbosity", "log-flow", "debug", "config-map", "diff", "comment-on-pr-number", "edit-pr-comment", "expect-no-changes",
  "message", "parallel", "policyPacks", "policyPackConfigs", "pulumi-version", "pulumi-version-file", "remove", "replace", "target",
  "target-dependents", "upsert", "exclude-protected", "suppress-outputs", "suppress-progress", "omit-stdout", "plan",
  "always-include-summary", "continue-on-error",
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
interface Step {
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, Any>;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  "runs-on"?: Any;
  needs?: string | string[];
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  strategy?: { matrix?: Record<string, Any> };
  env?: Record<string, string>;
  steps?: Step[];
  uses?: string;
  if?: string;
}
interface Workflow {
  name: string;
  on: Record<string, Any>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const text = (f: string) => fs.readFileSync(path.join(WORKFLOWS, f), "utf8");
const load = (f: string) => parseYaml(text(f)) as Workflow;

/** Every combination of a job's matrix (`include` entries, or the cross product of the lists). */
function matrixOf(job: Job): Array<Record<string, string>> {
  const m = job.strategy?.matrix;
  if (!m) return [{}];
  if (Array.isArray(m.include) && Object.keys(m).length === 1) return m.include;
  let combos: Array<Record<string, string>> = [{}];
  for (const [k, values] of Object.entries(m)) {
    if (k === "include" || k === "exclude") continue;
    combos = combos.flatMap((c) => (values as string[]).map((v) => ({ ...c, [k]: v })));
  }
  return combos;
}

/** The job's steps with `${{ matrix.x }}` filled in, once per matrix combination. */
function expandedSteps(job: Job): Array<{ matrix: Record<string, string>; steps: Step[] }> {
  return matrixOf(job).map((matrix) => {
    const fill = (v: Any): Any =>
      typeof v === "string" ? v.replace(/\$\{\{\s*matrix\.([a-z_-]+)\s*\}\}/gi, (_, k) => matrix[k] ?? `<matrix.${k}>`) : Array.isArray(v) ? v.map(fill) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)])) : v;
    return { matrix, steps: (job.steps ?? []).map((s) => fill(s) as Step) };
  });
}

function allRuns(): Array<{ file: string; job: string; run: string }> {
  const out: Array<{ file: string; job: string; run: string }> = [];
  for (const f of files) for (const [name, job] of Object.entries(load(f).jobs)) for (const { steps } of expandedSteps(job)) for (const s of steps) if (s.run) out.push({ file: f, job: name, run: s.run });
  return out;
}

function pulumiSteps(): Array<{ file: string; job: string; jobDef: Job; matrix: Record<string, string>; step: Step; index: number; steps: Step[] }> {
  const out: Array<{ file: string; job: string; jobDef: Job; matrix: Record<string, string>; step: Step; index: number; steps: Step[] }> = [];
  for (const f of files)
    for (const [name, job] of Object.entries(load(f).jobs))
      for (const { matrix, steps } of expandedSteps(job)) steps.forEach((step, index) => step.uses?.startsWith("pulumi/actions") && out.push({ file: f, job: name, jobDef: job, matrix, step, index, steps }));
  return out;
}

/** The README's test command (the quick-start line running `npm test`). */
function readmeTestCommand(): string {
  const line = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n").find((l) => /^npm ci && npm test\b/.test(l.trim()));
  if (!line) throw new Error("README.md has no `npm ci && npm test` line");
  return line.trim().split(/\s+#/)[0].trim();
}

/** The CLI's commands, from its usage text. */
function cliCommands(): string[] {
  const main = fs.readFileSync(path.join(ROOT, "cli", "main.ts"), "utf8");
  const usage = main.slice(main.indexOf("commands:"), main.indexOf("options:"));
  return [...usage.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);
}

describe("every workflow", () => {
  test("the three workflows exist and parse, with triggers and jobs", () => {
    expect(files.sort()).toEqual(["deploy.yml", "preview.yml", "test.yml"]);
    for (const f of files) {
      const w = load(f);
      expect([f, typeof w.name]).toEqual([f, "string"]);
      expect([f, Object.keys(w.on).length > 0]).toEqual([f, true]);
      expect([f, Object.keys(w.jobs).length > 0]).toEqual([f, true]);
      for (const [name, job] of Object.entries(w.jobs)) expect([f, name, !!(job.uses || (job["runs-on"] && job.steps?.length))]).toEqual([f, name, true]);
    }
  });

  test("every `node cli/bin.js <command> --env <stack>` names a CLI command, a format it knows and an existing Pulumi.<stack>.yaml", () => {
    const commands = cliCommands();
    expect(commands).toEqual(expect.arrayContaining(["up", "lint", "report"]));
    const uses = allRuns().flatMap((r) => [...r.run.matchAll(/node cli\/bin\.js (\S+)([^\n]*)/g)].map((m) => ({ ...r, command: m[1], rest: m[2] })));
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) {
      expect([u.file, u.command, commands.includes(u.command)]).toEqual([u.file, u.command, true]);
      const env = /--env (\S+)/.exec(u.rest)?.[1];
      expect([u.file, env]).toEqual([u.file, expect.any(String)]);
      expect([u.file, env, fs.existsSync(path.join(ROOT, `Pulumi.${env}.yaml`))]).toEqual([u.file, env, true]);
      const format = /--format (\S+)/.exec(u.rest)?.[1];
      if (format) expect((LINT_FORMATS as readonly string[]).includes(format)).toBe(true);
    }
  });

  test("every `npm run <script>` exists in package.json; node scripts and reusable workflows exist", () => {
    const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts);
    for (const r of allRuns()) {
      for (const m of r.run.matchAll(/npm run (?:--silent )?([a-z:-]+)/g)) expect([r.file, m[1], scripts.includes(m[1])]).toEqual([r.file, m[1], true]);
      for (const m of r.run.matchAll(/node (\.github\/\S+)/g)) expect([r.file, m[1], fs.existsSync(path.join(ROOT, m[1]))]).toEqual([r.file, m[1], true]);
    }
    for (const f of files)
      for (const job of Object.values(load(f).jobs))
        if (job.uses?.startsWith("./")) {
          expect(fs.existsSync(path.join(ROOT, job.uses))).toBe(true);
          expect(Object.keys(parseYaml(fs.readFileSync(path.join(ROOT, job.uses), "utf8")).on)).toContain("workflow_call");
        }
  });

  test("third-party actions are pinned to a major version; Node is 20 wherever it is set up", () => {
    for (const f of files)
      for (const job of Object.values(load(f).jobs))
        for (const s of job.steps ?? []) {
          if (s.uses && !s.uses.startsWith("./")) expect([f, s.uses]).toEqual([f, expect.stringMatching(/^[\w.-]+\/[\w.-]+@v\d+$/)]);
          if (s.uses?.startsWith("actions/setup-node")) expect([f, String(s.with?.["node-version"])]).toEqual([f, "20"]);
        }
  });

  test("secrets-safe: no --show-secrets, no stored AWS keys (OIDC roles only), the Pulumi token only from secrets, secrets never inline in scripts", () => {
    for (const f of files) {
      const t = text(f);
      const content = JSON.stringify(load(f)); // without the comments, which may explain what is avoided
      expect([f, /show-secrets/.test(content)]).toEqual([f, false]);
      expect([f, /aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/.test(content)]).toEqual([f, false]);
      for (const m of t.matchAll(/PULUMI_ACCESS_TOKEN:\s*(.+)/g)) expect([f, m[1].trim()]).toEqual([f, "${{ secrets.PULUMI_ACCESS_TOKEN }}"]);
      const w = load(f);
      for (const [name, job] of Object.entries(w.jobs)) {
        for (const s of job.steps ?? []) {
          if (s.run) expect([f, name, /\$\{\{\s*secrets\./.test(s.run)]).toEqual([f, name, false]);
          if (s.uses?.startsWith("aws-actions/configure-aws-credentials")) {
            expect([f, name, typeof s.with?.["role-to-assume"]]).toEqual([f, name, "string"]);
            expect([f, name, (job.permissions ?? w.permissions ?? {})["id-token"]]).toEqual([f, name, "write"]);
          }
        }
      }
    }
  });
});

describe("test.yml", () => {
  const w = () => load("test.yml");

  test("runs the README's test command on every push and pull request, on Node 20", () => {
    const command = readmeTestCommand();
    expect(command).toBe("npm ci && npm test");
    expect(Object.keys(w().on)).toEqual(expect.arrayContaining(["push", "pull_request"]));
    expect(w().on.push).toBeNull(); // every branch
    expect(w().on.pull_request).toBeNull(); // every pull request
    const job = Object.values(w().jobs)[0];
    expect(job.steps!.map((s) => s.run).filter(Boolean)).toEqual([command]);
    expect(job["runs-on"]).toBe("ubuntu-latest");
  });

  test(".ci/run runs the same command", () => {
    const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});

describe("pulumi/actions steps", () => {
  test("only inputs pulumi/actions@v6 has; stacks with a Pulumi.<stack>.yaml; the policy pack with the stack's own configuration", () => {
    const steps = pulumiSteps().filter((p) => p.step.with?.command);
    expect(steps.length).toBe(4); // preview dev, preview prod, up dev, up prod
    for (const { file, step, steps: all, index } of steps) {
      expect(step.uses).toBe("pulumi/actions@v6");
      for (const k of Object.keys(step.with!)) expect([file, k, PULUMI_ACTION_V6_INPUTS.includes(k)]).toEqual([file, k, true]);
      const stack = String(step.with!["stack-name"]).split("/").pop()!;
      expect([file, stack, fs.existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`))]).toEqual([file, stack, true]);
      // the pack is the repository's policy/ folder
      const pack = String(step.with!.policyPacks);
      expect(pack).toBe("policy");
      expect(fs.existsSync(path.join(ROOT, pack, "PulumiPolicy.yaml"))).toBe(true);
      // its configuration is written by an earlier step from policy/<stack>.json
      expect(step.with!.policyPackConfigs).toBe(`\${{ runner.temp }}/policy-${stack}.json`);
      const writer = all.slice(0, index).find((s) => s.run?.includes(`.github/scripts/policy-config.js ${stack} `));
      expect([file, stack, writer?.run]).toEqual([file, stack, expect.stringContaining(`"$RUNNER_TEMP/policy-${stack}.json"`)]);
      expect(fs.existsSync(path.join(ROOT, "policy", `${stack}.json`))).toBe(true);
      // the CLI is installed (a pulumi/actions step without command) before `pulumi stack output` runs
      const installIndex = all.findIndex((s) => s.uses === "pulumi/actions@v6" && !s.with?.command);
      expect([file, installIndex >= 0 && installIndex < all.indexOf(writer!)]).toEqual([file, true]);
    }
  });

  test("policy-config.js writes policy/<env>.json plus the applied version, valid for the pack; refuses a bad version", () => {
    const script = path.join(ROOT, ".github", "scripts", "policy-config.js");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-policy-config-"));
    try {
      for (const env of ["dev", "prod"]) {
        const out = path.join(dir, `${env}.json`);
        execFileSync(process.execPath, [script, env, "20261122016", out]);
        const written = JSON.parse(fs.readFileSync(out, "utf8"));
        const base = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", `${env}.json`), "utf8"));
        expect(written).toEqual({ ...base, "phi-db-schema-migration-lint": { appliedThroughVersion: "20261122016" } });
        expect(validatePackConfig(policies, written)).toEqual([]);
        execFileSync(process.execPath, [script, env, "", out]);
        expect(JSON.parse(fs.readFileSync(out, "utf8"))).toEqual(base);
      }
      const bad = spawnSync(process.execPath, [script, "prod", "not-a-version", path.join(dir, "x.json")], { encoding: "utf8" });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain("expected an 11-digit schema version");
      expect(spawnSync(process.execPath, [script, "staging", "", path.join(dir, "y.json")], { encoding: "utf8" }).status).toBe(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("preview.yml", () => {
  const w = () => load("preview.yml");

  test("on pull requests: pulumi preview of dev and prod with the policy pack, commented on the pull request", () => {
    expect(Object.keys(w().on)).toEqual(["pull_request"]);
    const previews = pulumiSteps().filter((p) => p.file === "preview.yml" && p.step.with?.command);
    expect(previews.map((p) => [p.step.with!.command, String(p.step.with!["stack-name"]).split("/").pop()])).toEqual([
      ["preview", "dev"],
      ["preview", "prod"],
    ]);
    for (const p of previews) {
      expect(p.step.with!["comment-on-pr"]).toBe(true);
      expect(p.jobDef.permissions).toEqual(expect.objectContaining({ "pull-requests": "write", "id-token": "write" }));
      // forks get no secrets: the job is skipped for them rather than failing
      expect(p.jobDef.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
    }
  });

  test("runs phi-db lint with GitHub annotations for dev and prod", () => {
    const lint = Object.values(w().jobs).flatMap((job) => expandedSteps(job).flatMap(({ steps }) => steps.map((s) => s.run).filter((r): r is string => !!r && r.includes("cli/bin.js lint"))));
    expect(lint).toEqual(["node cli/bin.js lint --env dev --format github", "node cli/bin.js lint --env prod --format github"]);
    const job = Object.values(w().jobs).find((j) => j.steps?.some((s) => s.run?.includes("cli/bin.js lint")))!;
    // the CLI runs from dist/: built first
    const runs = job.steps!.map((s) => s.run ?? "");
    expect(runs.indexOf("npm run build")).toBeGreaterThan(-1);
    expect(runs.indexOf("npm run build")).toBeLessThan(runs.findIndex((r) => r.includes("cli/bin.js lint")));
  });
});

describe("deploy.yml", () => {
  const w = () => load("deploy.yml");

  test("after each `pulumi up`, the pack's result is recorded for `phi-db report --policy-result` and kept as an artifact", () => {
    for (const env of ["dev", "prod"]) {
      const steps = w().jobs[env].steps!;
      const up = steps.findIndex((s) => s.uses === "pulumi/actions@v6" && s.with?.command === "up");
      const record = steps.findIndex((s) => s.run?.includes("pulumi preview") && s.run.includes("--event-log"));
      expect([env, up >= 0, record > up]).toEqual([env, true, true]);
      const run = steps[record].run!;
      // also after a failed up (it then records the violations that stopped it)
      expect(steps[record].if).toBe("always()");
      // with the pack, and this stack's own configuration written in the same step
      expect(run).toContain(`node .github/scripts/policy-config.js ${env} "$applied" "$RUNNER_TEMP/policy-${env}-after.json"`);
      expect(run).toMatch(new RegExp(`pulumi preview --stack "\\$STACK" [^\n]*--policy-pack policy --policy-pack-config "\\$RUNNER_TEMP/policy-${env}-after\\.json" --event-log "\\$RUNNER_TEMP/events-${env}\\.ndjson"`));
      expect(run).not.toMatch(/show-secrets/);
      // only the events the report reads are kept (no resource properties leave the runner)
      const kept = /grep -E '"\(([^)]*)\)":'/.exec(run)?.[1].split("|");
      expect(kept?.sort()).toEqual([...POLICY_EVENT_KINDS].sort());
      expect(run).toContain(`> phi-db-policy-${env}.ndjson`);
      const upload = steps[record + 1];
      expect(upload).toMatchObject({ uses: "actions/upload-artifact@v4", if: "always()", with: { name: `phi-db-policy-${env}`, path: `phi-db-policy-${env}.ndjson` } });
    }
  });

  test("the kept lines are what the report parses: the grep filter applied to an event log keeps a readable result", () => {
    const events = [
      { sequence: 0, timestamp: 1, preludeEvent: { config: { "phi-db:accountId": "123456789012" } } },
      { sequence: 1, timestamp: 2, resourcePreEvent: { metadata: { op: "same", urn: "urn:pulumi:prod::phi-db::aws:s3/bucket:Bucket::b", type: "aws:s3/bucket:Bucket", old: null, new: null, provider: "" } } },
      { sequence: 2, timestamp: 3, policyEvent: { resourceUrn: "urn:pulumi:prod::phi-db::aws:s3/bucket:Bucket::b", message: "m", color: "never", policyName: "s3-bucket-versioning-enabled", policyPackName: "phi-db-hipaa", policyPackVersion: "0.1.0", policyPackVersionTag: "0.1.0", enforcementLevel: "mandatory" } },
      { sequence: 3, timestamp: 4, summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: {}, PolicyPacks: { "phi-db-hipaa": "v0.1.0" }, isPreview: true } },
    ];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-events-"));
    try {
      fs.writeFileSync(path.join(dir, "events.ndjson"), events.map((e) => JSON.stringify(e)).join("\n") + "\n");
      const run = load("deploy.yml").jobs.prod.steps!.find((s) => s.run?.includes("--event-log"))!.run!;
      const grep = /grep -E ('[^']*')/.exec(run)![1];
      const kept = execFileSync("bash", ["-c", `grep -E ${grep} events.ndjson`], { cwd: dir, encoding: "utf8" });
      expect(kept.trim().split("\n").map((l) => Object.keys(JSON.parse(l))[2])).toEqual(["policyEvent", "summaryEvent"]);
      fs.writeFileSync(path.join(dir, "kept.ndjson"), kept);
      const r = readPolicyResult(path.join(dir, "kept.ndjson"), "prod");
      expect(r.violations.map((v) => v.policy)).toEqual(["s3-bucket-versioning-enabled"]);
      expect(r.packs).toEqual(["phi-db-hipaa@0.1.0"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("on merge to main: tests, then pulumi up dev, then prod behind the production environment", () => {
    expect(w().on.push).toEqual({ branches: ["main"] });
    const jobs = w().jobs;
    expect(jobs.test.uses).toBe("./.github/workflows/test.yml");
    expect(jobs.dev.needs).toBe("test");
    expect(jobs.prod.needs).toBe("dev");
    expect(jobs.prod.environment).toBe("production");
    expect(jobs.dev.environment).not.toBe("production");
    const ups = pulumiSteps().filter((p) => p.file === "deploy.yml" && p.step.with?.command);
    expect(ups.map((p) => [p.job, p.step.with!.command, String(p.step.with!["stack-name"]).split("/").pop()])).toEqual([
      ["dev", "up", "dev"],
      ["prod", "up", "prod"],
    ]);
    // prod's deploy never runs with the dev (advisory) pack configuration
    expect(ups.find((p) => p.job === "prod")!.step.with!.policyPackConfigs).toBe("${{ runner.temp }}/policy-prod.json");
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "prod.json"), "utf8")).all).toBe("mandatory");
    // deploys reach the private endpoint: runners inside the VPC
    for (const j of ["dev", "prod"]) expect(jobs[j]["runs-on"]).toEqual(["self-hosted", "linux", `phi-db-${j}`]);
  });
});
