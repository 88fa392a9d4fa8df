/**
 * The policy table of the README's "Guardrails" chapter is the pack: one row per policy, the controls it mirrors,
 * prod mandatory / dev advisory, and the prod-only rules marked as such.
 */
import * as fs from "fs";
import * as path from "path";
import { policies } from "./policies";

// The README's "## Guardrails" chapter, up to the next chapter (other chapters have tables of their own).
const README = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
const START = README.indexOf("\n## Guardrails");
if (START < 0) throw new Error("README.md has no '## Guardrails' chapter");
const END = README.indexOf("\n## ", START + 1);
const DOC = README.slice(START, END < 0 ? undefined : END);

function rows(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of DOC.split("\n")) {
    const m = /^\| `([a-z0-9-]+)` \|(.*)\|$/.exec(line);
    if (!m) continue;
    out.set(m[1], m[2].split(" | ").map((c) => c.trim()));
  }
  return out;
}

test("the policy table lists exactly the pack's policies", () => {
  expect([...rows().keys()].sort()).toEqual(policies.map((p) => p.name).sort());
});

test.each(policies.map((p) => [p.name, p] as const))("%s: controls, enforcement and scope as in the code", (name, p) => {
  const [mirrors, checks, prod, dev] = rows().get(name)!;
  if (p.info.awsConfigRule) expect(mirrors).toContain(`AWS Config \`${p.info.awsConfigRule}\``);
  if (p.info.securityHub) expect(mirrors).toContain(`Security Hub ${p.info.securityHub}`);
  if (!p.info.awsConfigRule && !p.info.securityHub) expect(mirrors).toMatch(/^— \(/);
  expect(prod).toBe("mandatory");
  expect(dev.startsWith("advisory")).toBe(true);
  expect(dev.includes("dev does not meet it by design")).toBe(p.info.prodOnly);
  expect(checks.includes("**Prod-only rule.**")).toBe(p.info.prodOnly);
  for (const k of Object.keys(p.configSchema?.properties ?? {}).filter((k) => !["projectDir", "appliedThroughVersion", "bucketNamePattern"].includes(k))) expect([name, checks]).toEqual([name, expect.stringContaining(k)]);
});
