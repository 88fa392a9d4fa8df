/**
 * Lets a plain Node process `require` the repository's TypeScript (the Pulumi program, the pack):
 * a require hook that compiles each .ts file with typescript.transpileModule. Per-file
 * transpilation is sound here because the repository compiles with `isolatedModules`; types are
 * not checked (tsc --noEmit does that). Used by the audit report to run the policy pack over the
 * program under Pulumi mocks (policy/evaluate.ts), in a child process of its own.
 */
"use strict";
const fs = require("fs");
const path = require("path");

if (!require.extensions[".ts"]) {
  // typescript resolves from the project the process runs in (its working directory), else from here
  const ts = require(require.resolve("typescript", { paths: [process.cwd(), __dirname] }));
  const compilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    resolveJsonModule: true,
    inlineSourceMap: true,
  };
  require.extensions[".ts"] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), { compilerOptions, fileName: path.basename(filename) });
    module._compile(outputText, filename);
  };
}
