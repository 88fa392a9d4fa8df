#!/usr/bin/env node
// The `phi-db` command. Runs the compiled CLI (npm start / npm test build it with tsc -p tsconfig.build.json).
let main;
try {
  ({ main } = require("../dist/cli/main.js"));
} catch (e) {
  if (e && e.code === "MODULE_NOT_FOUND") {
    process.stderr.write("phi-db: the CLI is not built: run 'npm run build' (npm start and npm test build it)\n");
    process.exit(2);
  }
  throw e;
}
main(process.argv.slice(2)).then((code) => process.exit(code));
