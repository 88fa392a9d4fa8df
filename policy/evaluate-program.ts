/**
 * Child-process entry of the audit report's local policy-pack evaluation:
 *
 *   node -r policy/ts-require.js policy/evaluate-program.ts <project root> <stack> <out.json>
 *
 * Runs the Pulumi program of `<project root>` for `<stack>` (its Pulumi.<stack>.yaml) under Pulumi
 * mocks, exactly as the unit tests do (test/support/mocks.ts, without jest: this process is the
 * isolation), then the pack's policies over its resources with policy/<stack>.json when that file
 * exists (else the pack's defaults, which are the production values), and writes the result as JSON
 * (policy/report-result.ts LocalEvaluation). Exits 1 with the error on stderr when the program or the
 * pack fails.
 */
import * as fs from "fs";
import * as path from "path";
import { readStackFile, runProgram } from "../test/support/mocks";
import { fromProgramRun, PackConfig, runPolicies } from "./harness";
import { policies } from "./policies";
import type { LocalEvaluation } from "./report-result";

export async function evaluateProgram(root: string, stack: string): Promise<LocalEvaluation> {
  const configPath = path.join(root, "policy", `${stack}.json`);
  const config: PackConfig = fs.existsSync(configPath) ? JSON.parse(fs.readFileSync(configPath, "utf8")) : {};
  const run = await runProgram({ stack, config: readStackFile(stack, root) }, { program: path.join(root, "index.ts"), isolate: (load) => load() });
  const resources = fromProgramRun(run);
  const result = await runPolicies(policies, resources, config);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "policy", "package.json"), "utf8")) as { name: string; version: string };
  return {
    stack,
    configFile: fs.existsSync(configPath) ? path.relative(root, configPath) : null,
    resources: resources.length,
    pack: `${pkg.name}@${pkg.version}`,
    policies: policies.map((p) => ({ name: p.name, enforcement: result.enforcement[p.name] })),
    result,
  };
}

if (require.main === module) {
  const [root, stack, out] = process.argv.slice(2);
  evaluateProgram(path.resolve(root), stack)
    .then((r) => {
      fs.writeFileSync(out, JSON.stringify(r));
      process.exit(0);
    })
    .catch((e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(1);
    });
}
