/**
 * The guardrails section's policy table (docs/README-guardrails.md, or README.md once folded in) is the pack: one row per policy, the controls it mirrors,
 * prod mandatory / dev advisory, and the prod-only rules marked as such.
 */
import * as fs from "fs";
import * as path from "path";
import { policies } from "./policies";

// The draft section, or the README once the section is folded into it.
const DRAFT = path.join(__dirname, "..", "docs", "README-guardrails.md");
const DOC = fs.readFileSync(fs.existsSync(DRAFT) ? DRAFT : path.join(__dirname, "..", "README.md"), "utf8");

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
