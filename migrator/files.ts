/**
 * Discovering, validating, rendering and hashing the repository's SQL files.
 *
 *   sql/migrations/YYYYMMDDNNN_description.sql        versioned (+ optional .down.sql)
 *   sql/functions/*.sql, sql/views/*.sql, sql/policies/*.sql   repeatable, in that order, by name
 *   sql/seed/<set>/*.sql                               demo data (local/dev only; set = config seedSet)
 *
 * The checksum is the sha256 of the *rendered* text (placeholders filled for the environment) after
 * BOM removal and CRLF -> LF, so line-ending churn is not drift but any real edit is.
 * Everything here is synchronous and pure apart from reading the directory tree.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export const MIGRATION_PATTERN = "YYYYMMDDNNN_description.sql (11 digits, '_', lower-case snake_case description)";
const MIGRATION_RE = /^(\d{11})_([a-z0-9]+(?:_[a-z0-9]+)*)(\.down)?\.sql$/;
const REPEATABLE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\.sql$/;
export const REPEATABLE_DIRS = ["functions", "views", "policies"] as const;
export type RepeatableKind = (typeof REPEATABLE_DIRS)[number] | "seed";

export const NO_TRANSACTION_MARK = "-- phi-db:no-transaction";

export interface SqlText {
  /** Path relative to the SQL root, always with '/' separators (e.g. `migrations/20261122001_init.sql`). */
  file: string;
  /** Rendered text (placeholders filled, BOM removed, LF line endings). */
  sql: string;
  checksum: string;
}

export interface Migration extends SqlText {
  version: string;
  /** The description part of the name (`init` in `20261122001_init.sql`). */
  name: string;
  /** `<version>_<name>`: the key used by plans, ledgers and the Pulumi diff. */
  key: string;
  noTransaction: boolean;
  down?: SqlText;
}

export interface Repeatable extends SqlText {
  kind: RepeatableKind;
  /** `functions/010_auth.sql`: key in the ledger and the Pulumi diff. */
  key: string;
}

export interface FileProblem {
  file: string;
  message: string;
}

export interface SqlProject {
  migrations: Migration[];
  repeatables: Repeatable[];
  seeds: Repeatable[];
  problems: FileProblem[];
}

export interface LoadOptions {
  /** Environment name; rendered as `${env}` and selects `seed/<env>/`. */
  environment: string;
  /** Extra placeholders (`${name}`). `env` is always set from `environment`. */
  placeholders?: Record<string, string>;
  /** Load seed files (only local/dev stacks enable it). */
  includeSeeds?: boolean;
  /** Which `seed/<set>/` folder to load. Defaults to the environment name. */
  seedSet?: string;
}

export function normalise(text: string): string {
  return text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
}

export function sha256(text: string): string {
  return crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

const PLACEHOLDER_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Fills `${name}` placeholders; an unknown name outside a `--` comment is a problem naming the file and line. */
export function render(text: string, file: string, values: Record<string, string>): { sql: string; problems: FileProblem[] } {
  const problems: FileProblem[] = [];
  const sql = text.replace(PLACEHOLDER_RE, (whole, name: string, offset: number) => {
    if (Object.prototype.hasOwnProperty.call(values, name)) return values[name];
    // An unknown name in a `--` comment (prose about placeholders) is left alone, not an error.
    const lineStart = text.lastIndexOf("\n", offset) + 1;
    if (text.slice(lineStart, offset).includes("--")) return whole;
    const line = text.slice(0, offset).split("\n").length;
    problems.push({ file, message: `line ${line}: unknown placeholder ${whole} (known: ${Object.keys(values).map((k) => "${" + k + "}").join(", ")})` });
    return whole;
  });
  return { sql, problems };
}

/** Does the file's header (leading comment lines) carry `-- phi-db:no-transaction`? */
export function isNoTransaction(sql: string): boolean {
  for (const line of sql.split("\n")) {
    const t = line.trim();
    if (t === "") continue;
    if (!t.startsWith("--")) return false;
    if (t === NO_TRANSACTION_MARK || t.startsWith(NO_TRANSACTION_MARK + " ")) return true;
  }
  return false;
}

function listSql(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith(".sql"))
    .map((d) => d.name)
    .sort();
}

/** Reads and renders every SQL file under `root` (the repository's `sql/` folder). */
export function loadProject(root: string, opts: LoadOptions): SqlProject {
  const values: Record<string, string> = { ...(opts.placeholders ?? {}), env: opts.environment };
  const problems: FileProblem[] = [];
  const read = (rel: string): SqlText => {
    const raw = normalise(fs.readFileSync(path.join(root, rel), "utf8"));
    const r = render(raw, rel, values);
    problems.push(...r.problems);
    return { file: rel, sql: r.sql, checksum: sha256(r.sql) };
  };

  // Versioned migrations and their down files.
  const ups = new Map<string, Migration>();
  const downs: Array<{ version: string; name: string; text: SqlText }> = [];
  for (const name of listSql(path.join(root, "migrations"))) {
    const rel = `migrations/${name}`;
    const m = MIGRATION_RE.exec(name);
    if (!m) {
      problems.push({ file: rel, message: `bad migration file name: expected ${MIGRATION_PATTERN}` });
      continue;
    }
    const [, version, desc, down] = m;
    if (down) {
      downs.push({ version, name: desc, text: read(rel) });
      continue;
    }
    const prior = ups.get(version);
    if (prior) {
      problems.push({ file: rel, message: `duplicate version ${version}: also used by ${prior.file}` });
      continue;
    }
    const t = read(rel);
    ups.set(version, { ...t, version, name: desc, key: `${version}_${desc}`, noTransaction: isNoTransaction(t.sql) });
  }
  for (const d of downs) {
    const up = ups.get(d.version);
    if (!up || up.name !== d.name) {
      problems.push({
        file: d.text.file,
        message: `down file without its up file: expected migrations/${d.version}_${d.name}.sql next to it`,
      });
      continue;
    }
    up.down = d.text;
  }
  const migrations = [...ups.values()].sort((a, b) => a.version.localeCompare(b.version));

  // Repeatables: functions, then views, then policies; by file name inside each.
  const loadRepeatables = (dir: string, kind: RepeatableKind): Repeatable[] =>
    listSql(path.join(root, dir)).flatMap((name) => {
      const rel = `${dir}/${name}`;
      if (!REPEATABLE_RE.test(name)) {
        problems.push({ file: rel, message: "bad repeatable file name: expected letters, digits, '_', '-' or '.' ending in .sql" });
        return [];
      }
      return [{ ...read(rel), kind, key: rel }];
    });
  const repeatables = REPEATABLE_DIRS.flatMap((d) => loadRepeatables(d, d));
  const seeds = opts.includeSeeds ? loadRepeatables(`seed/${opts.seedSet ?? opts.environment}`, "seed") : [];

  // Stray .sql files elsewhere under sql/migrations subfolders are ignored on purpose; but a
  // non-.sql file that looks like a migration (e.g. .SQL, .sql.txt) is worth telling about.
  for (const name of fs.existsSync(path.join(root, "migrations")) ? fs.readdirSync(path.join(root, "migrations")) : []) {
    if (!name.endsWith(".sql") && /^\d{6,}/.test(name)) {
      problems.push({ file: `migrations/${name}`, message: `bad migration file name: expected ${MIGRATION_PATTERN}` });
    }
  }
  return { migrations, repeatables, seeds, problems };
}

/** `{ "<version>_<name>": checksum }`, the Pulumi input that makes preview list each migration. */
export function migrationMap(p: SqlProject): Record<string, string> {
  return Object.fromEntries(p.migrations.map((m) => [m.key, m.checksum]));
}

/** `{ "functions/010_auth.sql": checksum, ... }` for repeatables (and seeds when loaded). */
export function repeatableMap(p: SqlProject): Record<string, string> {
  return Object.fromEntries([...p.repeatables, ...p.seeds].map((r) => [r.key, r.checksum]));
}
