"use strict";
/**
 * Shared pieces of the benchmarks: the PostgreSQL server (DATABASE_URL or an embedded one), fresh
 * databases, a seeded generator of realistic migrations, and small statistics helpers.
 *
 * Benchmarks are scripts that print figures; nothing here asserts a duration.
 * They run on the compiled engine in dist/ (`npm run bench` builds it first).
 */
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");

function dist(rel) {
  const p = path.join(ROOT, "dist", rel);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run 'npm run build' first (npm run bench does it)`);
  return require(p);
}

// ---------------------------------------------------------------------------------------------
// Server and databases

/**
 * The server to benchmark on: DATABASE_URL when set (it must be allowed to CREATE DATABASE),
 * else an embedded PostgreSQL 17 in a fresh folder under the OS temp dir, stopped by `stop()`.
 */
async function startServer(log = () => undefined) {
  if (process.env.DATABASE_URL) {
    return { adminUrl: process.env.DATABASE_URL, embedded: false, stop: async () => undefined };
  }
  const { startEmbedded, stopEmbedded } = dist("cli/embedded.js");
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), "phi-db-bench-pg-"));
  fs.chmodSync(baseDir, 0o755); // as root the server runs as `postgres`, which must reach it
  log(`starting an embedded PostgreSQL in ${baseDir} ...`);
  const server = await startEmbedded({ baseDir: path.join(baseDir, "server"), log });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      stopEmbedded(path.join(baseDir, "server"), "immediate");
    } finally {
      fs.rmSync(baseDir, { recursive: true, force: true });
    }
  };
  return { adminUrl: server.adminUrl, embedded: true, stop };
}

function urlFor(adminUrl, database) {
  const u = new URL(adminUrl);
  u.pathname = "/" + database;
  return u.toString();
}

async function adminQuery(adminUrl, sql) {
  const { Client } = require("pg");
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

let fileCopy;
/**
 * A fresh database. On PostgreSQL 15+ with `strategy = file_copy`, which checkpoints first: the
 * timed run that follows does not pay for an earlier run's dirty buffers.
 */
async function createDatabase(adminUrl, prefix) {
  const name = `${prefix}_${crypto.randomBytes(4).toString("hex")}`;
  if (fileCopy === undefined) {
    const r = await adminQuery(adminUrl, "select current_setting('server_version_num')::int >= 150000 as ok");
    fileCopy = r.rows[0].ok;
  }
  await adminQuery(adminUrl, `create database "${name}"${fileCopy ? " strategy = file_copy" : ""}`);
  return { name, url: urlFor(adminUrl, name), drop: () => adminQuery(adminUrl, `drop database if exists "${name}" with (force)`) };
}

/** Server version, for the printed header. */
async function serverVersion(adminUrl) {
  const r = await adminQuery(adminUrl, "select current_setting('server_version') as v");
  return r.rows[0].v;
}

// ---------------------------------------------------------------------------------------------
// Statistics and printing

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function fmtMs(ms) {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/** Plain text table; `align` is a string of 'l'/'r' per column. */
function table(header, rows, align) {
  const cells = [header, ...rows].map((r) => r.map(String));
  const width = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => ((align[i] ?? "l") === "r" ? c.padStart(width[i]) : c.padEnd(width[i]))).join("  ").trimEnd();
  return [line(cells[0]), width.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// The migration generator

/** Small deterministic PRNG (mulberry32): the same seed gives the same migrations every run. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(next() * xs.length)];
  return { next, int, pick, chance: (p) => next() < p };
}

const NOUNS = [
  "clinic", "patient", "provider", "visit", "invoice", "payment", "device", "reading", "consent", "referral",
  "prescription", "allergy", "insurer", "claim", "document", "message", "task", "shift", "room", "supply",
  "order", "result", "panel", "note", "contact", "address", "plan", "goal", "survey", "answer",
];
const COLUMN_TYPES = [
  "text",
  "text not null default ''",
  "integer not null default 0",
  "numeric(12,2)",
  "boolean not null default false",
  "timestamptz",
  "date",
  "jsonb not null default '{}'::jsonb",
  "uuid",
  "smallint check (VALUE between 0 and 10)",
];
const q = (s) => "'" + s.replace(/'/g, "''") + "'";

/**
 * Generates `count` migrations: `[{ version, name, sql }]`, versions `YYYYMMDDNNN` (up to 999 a day,
 * then the next day). Content: create table (a few columns, comments, indexes, sometimes a foreign key),
 * alter table add column, indexes, plpgsql functions (some with a trigger), inserts of a few rows,
 * views, check constraints and comments; sizes vary from one statement to a few dozen.
 */
function generateMigrations(count, seed = 42) {
  const r = prng(seed);
  const tables = []; // { name, cols: [{name, type}], n }
  const out = [];
  let day = new Date(Date.UTC(2026, 0, 1));
  let seq = 0;
  const nextVersion = () => {
    seq++;
    if (seq > 999) {
      seq = 1;
      day = new Date(day.getTime() + 86400000);
    }
    const d = day.toISOString().slice(0, 10).replace(/-/g, "");
    return d + String(seq).padStart(3, "0");
  };
  let tableNo = 0;

  const createTable = (lines) => {
    tableNo++;
    const base = `${r.pick(NOUNS)}_${r.pick(NOUNS)}s`;
    const name = `app.${base}_${String(tableNo).padStart(3, "0")}`;
    const cols = [];
    const defs = ["  id bigint generated always as identity primary key", "  tenant_id uuid not null", "  created_at timestamptz not null default now()"];
    const ncols = r.int(2, 8);
    for (let i = 0; i < ncols; i++) {
      const type = r.pick(COLUMN_TYPES);
      const col = `${r.pick(NOUNS)}_${i}`;
      const t = type.replace("VALUE", col);
      defs.push(`  ${col} ${t}`);
      cols.push({ name: col, type: t });
    }
    let parent = null;
    if (tables.length && r.chance(0.4)) {
      parent = r.pick(tables);
      defs.push(`  parent_id bigint references ${parent.name} (id) on delete cascade`);
    }
    lines.push(`create table ${name} (\n${defs.join(",\n")}\n);`);
    lines.push(`comment on table ${name} is ${q(`${base.replace(/_/g, " ")}: generated benchmark table ${tableNo}`)};`);
    for (const c of cols.slice(0, r.int(1, 3))) lines.push(`comment on column ${name}.${c.name} is ${q(`the ${c.name.replace(/_\d+$/, "")} of the row`)};`);
    lines.push(`create index on ${name} (tenant_id, created_at);`);
    if (parent) lines.push(`create index on ${name} (parent_id);`);
    const t = { name, cols, parent, n: tableNo };
    tables.push(t);
    return t;
  };

  const insertRows = (lines, t) => {
    const rows = r.int(2, 12);
    const simple = t.cols.filter((c) => /^(text|integer|boolean|numeric)/.test(c.type));
    const cols = ["tenant_id", ...simple.map((c) => c.name)];
    const value = (c, i) =>
      c.type.startsWith("text") ? q(`${c.name} value ${i}`) : c.type.startsWith("integer") ? String(i * 7) : c.type.startsWith("boolean") ? (i % 2 ? "true" : "false") : `${i}.50`;
    const tuples = [];
    for (let i = 1; i <= rows; i++) tuples.push(`  ('00000000-0000-0000-0000-${String(t.n * 100 + i).padStart(12, "0")}'${simple.map((c) => ", " + value(c, i)).join("")})`);
    if (r.chance(0.5)) lines.push(`insert into ${t.name} (${cols.join(", ")}) values\n${tuples.join(",\n")};`);
    else for (const tu of tuples) lines.push(`insert into ${t.name} (${cols.join(", ")}) values ${tu.trim()};`);
  };

  const kinds = [
    ["create_table", 30],
    ["add_columns", 18],
    ["add_index", 10],
    ["function", 12],
    ["seed_rows", 14],
    ["view", 6],
    ["constraints_comments", 6],
    ["big_module", 4],
  ];
  const total = kinds.reduce((s, [, w]) => s + w, 0);
  const pickKind = () => {
    let x = r.next() * total;
    for (const [k, w] of kinds) if ((x -= w) < 0) return k;
    return kinds[0][0];
  };

  for (let i = 0; i < count; i++) {
    const version = nextVersion();
    const lines = [];
    let kind = i === 0 ? "init" : tables.length < 3 ? "create_table" : pickKind();
    let name;
    switch (kind) {
      case "init":
        lines.push("create schema if not exists app;", "comment on schema app is 'benchmark application schema';");
        createTable(lines);
        name = "init";
        break;
      case "create_table": {
        const t = createTable(lines);
        if (r.chance(0.3)) insertRows(lines, t);
        name = `create_${t.name.slice(4)}`;
        break;
      }
      case "add_columns": {
        const t = r.pick(tables);
        const n = r.int(1, 3);
        for (let k = 0; k < n; k++) {
          const col = `extra_${t.cols.length}`;
          const type = r.pick(COLUMN_TYPES.slice(0, 8));
          lines.push(`alter table ${t.name} add column ${col} ${type};`);
          t.cols.push({ name: col, type });
          if (r.chance(0.4)) lines.push(`comment on column ${t.name}.${col} is ${q(`added in ${version}`)};`);
        }
        if (r.chance(0.3)) lines.push(`create index on ${t.name} (${t.cols[t.cols.length - 1].name});`);
        name = `add_columns_to_${t.name.slice(4)}`;
        break;
      }
      case "add_index": {
        const t = r.pick(tables);
        const c = r.pick(t.cols);
        if (r.chance(0.5)) lines.push(`create index ${t.name.slice(4)}_${c.name}_${version}_idx on ${t.name} (tenant_id, ${c.name});`);
        else lines.push(`create index ${t.name.slice(4)}_${c.name}_${version}_idx on ${t.name} (${c.name}) where created_at > '2020-01-01';`);
        name = `index_${t.name.slice(4)}`;
        break;
      }
      case "function": {
        const t = r.pick(tables);
        const fn = `app.count_${t.name.slice(4)}_${version}`;
        lines.push(
          `create or replace function ${fn}(p_tenant uuid)\nreturns bigint\nlanguage plpgsql stable\nset search_path = ''\nas $$\ndeclare\n  n bigint;\nbegin\n  select count(*) into n from ${t.name} where tenant_id = p_tenant;\n  return n;\nend\n$$;`,
          `comment on function ${fn}(uuid) is 'rows of one tenant';`,
        );
        if (r.chance(0.4)) {
          const trg = `app.touch_${t.name.slice(4)}_${version}`;
          lines.push(
            `create or replace function ${trg}()\nreturns trigger\nlanguage plpgsql\nas $$\nbegin\n  if new.created_at is null then\n    new.created_at := now();\n  end if;\n  return new;\nend\n$$;`,
            `create trigger touch_${version} before insert or update on ${t.name} for each row execute function ${trg}();`,
          );
        }
        name = `function_count_${t.name.slice(4)}`;
        break;
      }
      case "seed_rows": {
        const t = r.pick(tables);
        insertRows(lines, t);
        name = `seed_${t.name.slice(4)}`;
        break;
      }
      case "view": {
        const t = r.pick(tables);
        const v = `app.v_${t.name.slice(4)}_${version}`;
        lines.push(
          `create view ${v} with (security_invoker = true) as\n  select id, tenant_id, created_at${t.cols.slice(0, 3).map((c) => ", " + c.name).join("")}\n    from ${t.name}\n   where created_at > now() - interval '90 days';`,
          `comment on view ${v} is 'recent rows of ${t.name}';`,
        );
        name = `view_${t.name.slice(4)}`;
        break;
      }
      case "constraints_comments": {
        const t = r.pick(tables);
        lines.push(`alter table ${t.name} add constraint ${t.name.slice(4)}_created_${version}_ck check (created_at > '2000-01-01');`);
        for (const c of t.cols.slice(0, r.int(1, 4))) lines.push(`comment on column ${t.name}.${c.name} is ${q(`reviewed in ${version}`)};`);
        name = `constraints_${t.name.slice(4)}`;
        break;
      }
      case "big_module": {
        // A larger feature migration: several tables with their rows.
        const n = r.int(3, 6);
        for (let k = 0; k < n; k++) insertRows(lines, createTable(lines));
        name = "feature_module";
        break;
      }
    }
    const header = `-- ${version}_${name}: generated by bench/lib.js (${kind.replace(/_/g, " ")})\n`;
    out.push({ version, name, sql: header + lines.join("\n\n") + "\n" });
  }
  return out;
}

/** Writes the migrations into `<dir>/migrations/` the phi-db way: `<version>_<name>.sql`. */
function writePhiDbProject(dir, migrations) {
  fs.mkdirSync(path.join(dir, "migrations"), { recursive: true });
  for (const m of migrations) fs.writeFileSync(path.join(dir, "migrations", `${m.version}_${m.name}.sql`), m.sql);
  return dir;
}

function mkTemp(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(d, 0o755);
  return d;
}

module.exports = {
  ROOT,
  dist,
  startServer,
  urlFor,
  adminQuery,
  createDatabase,
  serverVersion,
  median,
  fmtMs,
  table,
  generateMigrations,
  writePhiDbProject,
  mkTemp,
};
