#!/usr/bin/env node
/**
 * Writes the policy pack configuration CI hands to `pulumi preview|up --policy-pack policy`:
 * policy/<env>.json (enforcement and minimums of the environment) plus, when the stack already has
 * a schema, the newest applied migration version, so the lint policy judges only pending migrations
 * (a policy cannot read the stack's state by itself).
 *
 *   node .github/scripts/policy-config.js <env> <appliedThroughVersion|""> <out.json>
 *
 * <appliedThroughVersion> is `pulumi stack output schemaVersion` (empty for a stack never deployed).
 */
"use strict";
const fs = require("fs");
const path = require("path");

const [env, applied, out] = process.argv.slice(2);
if (!env || out === undefined) {
  process.stderr.write("usage: policy-config.js <env> <appliedThroughVersion|\"\"> <out.json>\n");
  process.exit(2);
}
const source = path.join(__dirname, "..", "..", "policy", `${env}.json`);
if (!fs.existsSync(source)) {
  process.stderr.write(`policy-config.js: no policy pack configuration ${source} for environment ${env}\n`);
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(source, "utf8"));
const version = (applied || "").trim();
if (version !== "") {
  if (!/^\d{11}$/.test(version)) {
    process.stderr.write(`policy-config.js: expected an 11-digit schema version (pulumi stack output schemaVersion), got ${JSON.stringify(version)}\n`);
    process.exit(2);
  }
  const lint = "phi-db-schema-migration-lint";
  config[lint] = { ...(typeof config[lint] === "object" ? config[lint] : {}), appliedThroughVersion: version };
}
fs.writeFileSync(out, JSON.stringify(config, null, 2) + "\n");
process.stdout.write(`policy pack configuration for ${env}${version ? ` (migrations after ${version} are pending)` : " (every migration is pending)"}: ${out}\n`);
