/** One embedded PostgreSQL 17 per test run (or DATABASE_URL), a fresh database per test file. */
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  testMatch: ["<rootDir>/test/**/*.test.ts", "<rootDir>/policy/**/*.test.ts"],
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
  testTimeout: 60000,
  maxWorkers: 2,
  // Each Pulumi-mock run loads its own copy of @pulumi/pulumi and @pulumi/aws (jest.isolateModules),
  // so a worker that ran several stack files held 600-800 MB and could not exit within Jest's grace
  // period at the end ("A worker process has failed to exit gracefully"). Above this, a worker is
  // replaced by a fresh one after its current test file.
  workerIdleMemoryLimit: "512MB",
};
