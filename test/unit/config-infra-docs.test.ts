/**
 * README.md ("Configuration keys" of the infrastructure chapter) documents every infrastructure key with its default, what it
 * allows and the dev/prod values: this keeps the table and INFRA_SPEC / the stack files in step.
 */
import * as fs from "fs";
import * as path from "path";
import { AnySpec, INFRA_SPEC } from "../../components/config";
import { readStackFile, REPO_ROOT } from "../support/mocks";

const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const start = readme.indexOf("### Configuration keys");
if (start < 0) throw new Error("README.md has no '### Configuration keys' section");
const end = readme.indexOf("\n### Running it with an AWS account", start);
const doc = readme.slice(start, end < 0 ? undefined : end);
const rows = new Map<string, string[]>();
for (const line of doc.split("\n")) {
  const m = /^\| `([A-Za-z]+)` \|(.*)\|$/.exec(line);
  if (m) rows.set(m[1], m[2].split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|")));
}

const fmt = (v: unknown): string =>
  v === null ? "(unset)" : Array.isArray(v) ? (v.length ? v.join(", ") : "[]") : typeof v === "object" ? (Object.keys(v as object).length ? JSON.stringify(v) : "{}") : String(v);
const cell = (v: unknown) => (v === undefined ? "·" : "`" + fmt(v) + "`");

describe.each(Object.entries(INFRA_SPEC) as Array<[string, AnySpec]>)("phi-db:%s", (key, spec) => {
  test("has a row with its default, what it allows, the dev and prod values", () => {
    const row = rows.get(key);
    expect(row).toBeDefined();
    const [def, allowed, dev, prod, what] = row!;
    expect(def).toBe(spec.default === undefined ? "**required**" : "`" + fmt(spec.default) + "`");
    if (Array.isArray(spec.allowed)) expect(allowed).toBe(spec.allowed.join(", "));
    else if (spec.allowed) expect(allowed).toBe((spec.allowed as { says: string }).says);
    expect(dev).toBe(cell(readStackFile("dev")[`phi-db:${key}`]));
    expect(prod).toBe(cell(readStackFile("prod")[`phi-db:${key}`]));
    expect(what).toBe(spec.doc);
  });
});

test("no row documents a key that does not exist", () => {
  expect([...rows.keys()].filter((k) => !(k in INFRA_SPEC))).toEqual([]);
});
