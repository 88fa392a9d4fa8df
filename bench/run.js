"use strict";
/**
 * `npm run bench`: builds dist/ (the npm script does), then on ONE PostgreSQL server (DATABASE_URL,
 * or an embedded PostgreSQL 17 started here and stopped at the end):
 *
 *   1. bench/migrate.js  ~300 generated migrations into fresh databases: phi-db, psql (the floor),
 *                        node-pg-migrate, dbmate; median wall time and ratio to psql; a profile of
 *                        where phi-db's time goes; what-if prototypes of a leaner apply loop
 *   2. bench/plan.js     loadProject + makePlan over 1,000 files, readHistory on a 1,000-row ledger
 *
 * Prints figures only: no run fails because a number is high. Knobs: BENCH_MIGRATIONS,
 * BENCH_ROUNDS, BENCH_PROFILE=0, BENCH_WHATIF=0, BENCH_PLAN_FILES, BENCH_PLAN_ROUNDS.
 */
const os = require("os");
const lib = require("./lib");
const { benchMigrate } = require("./migrate");
const { benchPlan } = require("./plan");

async function main() {
  const started = Date.now();
  const server = await lib.startServer(console.log);
  const stop = () => server.stop().catch(() => undefined);
  for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => stop().then(() => process.exit(130)));
  try {
    const cpus = os.cpus();
    console.log(
      `machine: ${cpus.length} cores (${cpus[0]?.model?.trim() ?? "unknown cpu"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}; ` +
        `server: PostgreSQL ${await lib.serverVersion(server.adminUrl)}${server.embedded ? " (embedded, fsync off, synchronous_commit off)" : " (DATABASE_URL)"}`,
    );
    console.log("");
    await benchMigrate({ adminUrl: server.adminUrl });
    console.log("");
    await benchPlan({ adminUrl: server.adminUrl });
  } finally {
    await stop();
  }
  console.log(`\nbench done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
