/**
 * Migration lint: squawk (the `squawk-cli` package) plus phi-db's own rules, on the *rendered* text
 * of pending migration files. Used by `phi-db lint` and by the dynamic provider's `check`, so
 * `pulumi preview` fails in prod for a dangerous migration.
 *
 * phi-db rules (errors), read from the real PostgreSQL parse tree (libpg-query):
 *
 *   phi-db/destructive   DROP TABLE / COLUMN / SCHEMA / MATERIALIZED VIEW / SEQUENCE / DATABASE,
 *                        DROP ... CASCADE (of anything), DROP OWNED, TRUNCATE, DELETE without WHERE,
 *                        column type changes: need a line `-- phi-db:allow-destructive <reason>`.
 *   phi-db/rls           a new table (CREATE TABLE, partitions, CREATE TABLE AS) in a managed schema
 *                        must ENABLE and FORCE row level security in the same file; DISABLE / NO FORCE
 *                        on a table of a managed schema is refused. An unqualified new table is held to
 *                        the rule (its schema depends on search_path).
 *   phi-db/phi-comment   every new PHI column has `COMMENT ON COLUMN ... IS 'PHI: ...'` in the same
 *                        file. PHI = a name matching PHI_NAME_PATTERNS, or named by `-- phi-db:phi <col>`;
 *                        `-- phi-db:not-phi <col> <reason>` exempts a name-pattern match.
 *   phi-db/secret        no plaintext secret-looking literal: AWS access key ids, private key blocks,
 *                        JWTs, GitHub/Slack tokens (anywhere, comments included); a string literal
 *                        assigned to a password/secret/token/key-named column, setting or option; a
 *                        long high-entropy string literal. `-- phi-db:not-a-secret <reason>` on the
 *                        line of the literal or the line above exempts it.
 *   phi-db/syntax        the file does not parse (the other phi-db rules cannot run on it).
 *   phi-db/marker        a malformed or unknown `-- phi-db:` marker (a typo must not silently fail).
 *
 * squawk findings come through as `squawk/<rule>`: warnings, except the few in SQUAWK_ERRORS.
 *
 * This module is serialized by value with the dynamic provider: module-level values are plain data
 * (arrays, objects, RegExps); npm packages and child_process are required inside functions; no
 * absolute path is computed at load time.
 */
import type { Migration } from "./files";
import { loadParser } from "./statements";

export type LintSeverity = "error" | "warning";

export interface LintFinding {
  /** The file as the migration names it (relative to the SQL root, e.g. `migrations/2026..._x.sql`). */
  file: string;
  /** 1-based line in the rendered file. */
  line: number;
  /** `phi-db/<rule>` or `squawk/<rule>`. */
  rule: string;
  severity: LintSeverity;
  message: string;
}

export interface LintOptions {
  /** Schemas whose tables must have RLS enabled and forced (the access model's `rls: true` schemas). */
  managedSchemas: string[];
  /** PostgreSQL version squawk assumes. Defaults to "17". */
  pgVersion?: string;
  /** Run squawk as well as phi-db's rules. Defaults to true. */
  squawk?: boolean;
}

/** Marker lines (full comment lines, anywhere in the file). */
export const MARKERS = {
  allowDestructive: "phi-db:allow-destructive",
  phi: "phi-db:phi",
  notPhi: "phi-db:not-phi",
  notASecret: "phi-db:not-a-secret",
};
/** Markers phi-db knows (others are reported as likely typos). `no-transaction` belongs to files.ts. */
const KNOWN_MARKERS = ["no-transaction", "allow-destructive", "phi", "not-phi", "not-a-secret"];

/**
 * squawk rules left out, and why:
 *  - require-lock-timeout, require-statement-timeout: the migrator sets `lock_timeout` and
 *    `statement_timeout` itself, per environment, inside every migration's transaction (apply.ts),
 *    so a file never needs its own `SET`.
 *  - ban-drop-table, ban-drop-column, changing-column-type: superseded by phi-db/destructive,
 *    which is an error unless the file carries `-- phi-db:allow-destructive <reason>`; squawk's
 *    warning would repeat it, and keep warning after the author acknowledged it.
 */
export const SQUAWK_EXCLUDED = ["require-lock-timeout", "require-statement-timeout", "ban-drop-table", "ban-drop-column", "changing-column-type"];

/**
 * squawk rules reported as errors (clearly dangerous here); every other squawk rule is a warning.
 *  - ban-drop-database: never what a migration should do.
 *  - transaction-nesting, ban-uncommitted-transaction: BEGIN/COMMIT inside a file the migrator
 *    wraps in a transaction commits part of it without its ledger row (or leaves it open).
 *  - ban-concurrent-index-creation-in-transaction: fails at run time (use `-- phi-db:no-transaction`).
 *  - ban-truncate-cascade: silently empties every table that references the truncated one.
 */
export const SQUAWK_ERRORS = [
  "ban-drop-database",
  "transaction-nesting",
  "ban-uncommitted-transaction",
  "ban-concurrent-index-creation-in-transaction",
  "ban-truncate-cascade",
];

/**
 * Column names treated as PHI (HIPAA's identifiers and health information). A column is PHI when
 * its lower-cased name, after removing one storage suffix (`_encrypted`, `_enc`, `_ciphertext`,
 * `_hash`, `_hashed`, `_hmac`), matches one of these. Names are matched on `_` boundaries, so
 * `contact_email` and `notes_encrypted` are PHI but `email_verified_at` and `footnote_count` are not.
 */
export const PHI_NAME_PATTERNS: Array<{ re: RegExp; what: string }> = [
  { re: /(^|_)(ssn|social_security(_number)?)$/, what: "social security number" },
  { re: /(^|_)(dob|date_of_birth|birth_?date|birthday|date_of_death|death_date)$/, what: "date of birth/death" },
  { re: /(^|_)(first|last|middle|full|given|family|maiden|legal|preferred|display|patient)_?name$/, what: "person name" },
  { re: /(^|_)email(_address)?$/, what: "email address" },
  { re: /(^|_)(phone|telephone|mobile|cell|fax)(_number|_no)?$/, what: "phone/fax number" },
  { re: /(^|_)(address|street(_address)?|address_line_?\d*|postal_code|post_code|zip(_?code)?)$/, what: "address (incl. IP address)" },
  { re: /(^|_)(mrn|medical_record(_number)?|health_plan(_(id|number))?|beneficiary(_(id|number))?)$/, what: "record/health plan number" },
  { re: /(^|_)(medical|insurance|diagnos[a-z]*|clinical)(_|$)/, what: "medical/insurance information" },
  { re: /(^|_)(notes?|symptoms?|medications?|prescriptions?|allerg(y|ies)|conditions?|treatments?|lab_results?)$/, what: "health information / free-text notes" },
];
const PHI_STORAGE_SUFFIX = /_(encrypted|enc|ciphertext|hash|hashed|hmac)$/;

/** Names whose string-literal value is a plaintext secret (columns, settings, options). */
const SECRET_NAME = /(password|passwd|pwd|secret|token|api_?key|private_?key|access_?key|secret_?key|credentials?)$/i;

/** Well-known credential formats, searched in the whole text (comments included). */
const SECRET_PATTERNS: Array<{ re: RegExp; what: string }> = [
  { re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, what: "an AWS access key id" },
  { re: /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/g, what: "a private key block" },
  { re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, what: "a JSON web token" },
  { re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g, what: "a GitHub token" },
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, what: "a Slack token" },
];

type Node = Record<string, unknown>;
interface ParseResult {
  stmts: Array<{ stmt: Node; stmt_location?: number; stmt_len?: number }>;
}

/** Maps UTF-8 byte offsets (the parser's) to 1-based lines. '\n' never occurs inside a multi-byte sequence. */
function byteLines(text: string): (byteOffset: number) => number {
  const bytes = Buffer.from(text, "utf8");
  const newlines: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) newlines.push(i);
  return (offset: number) => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

/** Offset of the first character that is not white space or a comment. */
function firstToken(sql: string): number {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
    else if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") (depth++, (i += 2));
        else if (sql[i] === "*" && sql[i + 1] === "/") (depth--, (i += 2));
        else i++;
      }
    } else break;
  }
  return i;
}

/** Calls `visit(type, node)` for every wrapped node (`{ TypeName: {...} }`) in the tree. */
function walk(tree: unknown, visit: (type: string, node: Node) => void): void {
  if (Array.isArray(tree)) {
    for (const x of tree) walk(x, visit);
    return;
  }
  if (!tree || typeof tree !== "object") return;
  for (const [k, v] of Object.entries(tree as Node)) {
    if (v && typeof v === "object" && !Array.isArray(v) && /^[A-Z]/.test(k)) visit(k, v as Node);
    walk(v, visit);
  }
}

const str = (n: unknown): string | undefined => {
  const s = (n as { String?: { sval?: string } } | undefined)?.String?.sval;
  return typeof s === "string" ? s : undefined;
};

interface Literal {
  value: string;
  /** Byte offset, when the parser gives one. */
  location?: number;
}

/** A string literal (`'x'`, `'x'::text`, or an option's bare string), else undefined. */
function literal(n: unknown): Literal | undefined {
  if (!n || typeof n !== "object") return undefined;
  const o = n as Node;
  if (o.A_Const) {
    const c = o.A_Const as { sval?: { sval?: string }; location?: number };
    return c.sval && typeof c.sval.sval === "string" ? { value: c.sval.sval, location: c.location } : undefined;
  }
  if (o.TypeCast) return literal((o.TypeCast as Node).arg);
  const s = str(o);
  return s !== undefined ? { value: s } : undefined;
}

interface RelName {
  schema?: string;
  name: string;
}
const relOf = (rv: unknown): RelName | undefined => {
  const r = rv as { schemaname?: string; relname?: string } | undefined;
  return r?.relname ? { schema: r.schemaname, name: r.relname } : undefined;
};
const showRel = (r: RelName) => (r.schema ? `${r.schema}.${r.name}` : r.name);
/** Same table: equal names, and equal schemas when both are given (unqualified matches by name). */
const sameRel = (a: RelName, b: RelName) => a.name === b.name && (!a.schema || !b.schema || a.schema === b.schema);

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts: Record<string, number> = {};
  for (const c of s) counts[c] = (counts[c] ?? 0) + 1;
  let h = 0;
  for (const n of Object.values(counts)) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * A long, random-looking token: hex of 32+ characters with entropy above 3 bits per character, or
 * base64/base64url of 24+ characters mixing letters and digits with entropy above
 * min(4.5, log2(length) - 0.7) (about 1 in 100 random 24-character tokens scores lower). Prose,
 * identifiers, UUIDs, dates and URLs fall below (spaces, dots and colons are outside both alphabets).
 */
export function looksHighEntropy(s: string): boolean {
  if (/^[0-9a-fA-F]{32,}$/.test(s)) return entropy(s) > 3.0;
  // Random base64 of n characters scores close to log2(n) bits; identifiers and words well below.
  if (/^[A-Za-z0-9+/_=-]{24,}$/.test(s) && /[0-9]/.test(s) && /[A-Za-z]/.test(s)) return entropy(s) > Math.min(4.5, Math.log2(s.length) - 0.7);
  return false;
}

/** Which PHI pattern a column name matches, if any. */
export function phiPattern(column: string): string | undefined {
  const name = column.toLowerCase().replace(PHI_STORAGE_SUFFIX, "");
  return PHI_NAME_PATTERNS.find((p) => p.re.test(name))?.what;
}

interface Marker {
  name: string;
  args: string;
  line: number;
}

function markers(sql: string): Marker[] {
  const out: Marker[] = [];
  sql.split("\n").forEach((text, i) => {
    const m = /^\s*--\s*phi-db:([A-Za-z0-9_-]*)(.*)$/.exec(text);
    if (m) out.push({ name: m[1], args: m[2].trim(), line: i + 1 });
  });
  return out;
}

/** Column reference of a `phi-db:phi` / `phi-db:not-phi` marker: `col`, `table.col` or `schema.table.col`. */
function columnRefMatches(ref: string, rel: RelName, column: string): boolean {
  const parts = ref.toLowerCase().split(".");
  const col = parts.pop();
  if (col !== column.toLowerCase()) return false;
  const table = parts.pop();
  if (table !== undefined && table !== rel.name.toLowerCase()) return false;
  const schema = parts.pop();
  return schema === undefined || !rel.schema || schema === rel.schema.toLowerCase();
}

/** phi-db's own rules on one file. */
export async function phiDbRules(file: string, sql: string, opts: { managedSchemas: string[] }): Promise<LintFinding[]> {
  const findings: LintFinding[] = [];
  const add = (line: number, rule: string, message: string) => findings.push({ file, line, rule: `phi-db/${rule}`, severity: "error", message });
  const marks = markers(sql);

  // Markers: well-formed and known.
  for (const m of marks) {
    if (!KNOWN_MARKERS.includes(m.name)) {
      add(m.line, "marker", `unknown marker '-- phi-db:${m.name}' (known: ${KNOWN_MARKERS.map((k) => "phi-db:" + k).join(", ")})`);
    } else if (m.name === "allow-destructive" && !m.args) {
      add(m.line, "marker", "'-- phi-db:allow-destructive' needs a reason after it (what is dropped and why that is safe)");
    } else if (m.name === "not-a-secret" && !m.args) {
      add(m.line, "marker", "'-- phi-db:not-a-secret' needs a reason after it");
    } else if (m.name === "phi" && !m.args) {
      add(m.line, "marker", "'-- phi-db:phi' needs the column(s) it marks: -- phi-db:phi <column>[, <column> ...]");
    } else if (m.name === "not-phi" && (m.args.split(/\s+/).length < 2 || !m.args)) {
      add(m.line, "marker", "'-- phi-db:not-phi' needs a column and a reason: -- phi-db:not-phi <column> <reason>");
    }
  }
  const destructiveAllowed = marks.some((m) => m.name === "allow-destructive" && m.args);
  const phiMarked = marks.filter((m) => m.name === "phi" && m.args).flatMap((m) => m.args.split(/[\s,]+/).filter(Boolean).map((ref) => ({ ref, line: m.line })));
  const notPhi = marks.filter((m) => m.name === "not-phi" && m.args.split(/\s+/).length >= 2).map((m) => ({ ref: m.args.split(/\s+/)[0], line: m.line }));
  const notSecretLines = marks.filter((m) => m.name === "not-a-secret" && m.args).flatMap((m) => [m.line, m.line + 1]);

  // Well-known credential formats: anywhere in the text, comments included.
  for (const p of SECRET_PATTERNS) {
    p.re.lastIndex = 0;
    for (let m = p.re.exec(sql); m; m = p.re.exec(sql)) {
      const line = sql.slice(0, m.index).split("\n").length;
      if (!notSecretLines.includes(line)) add(line, "secret", `${p.what} in plain text: keep credentials out of migrations (Secrets Manager, or a placeholder filled at deploy time)`);
    }
  }

  const parser = await loadParser();
  let parsed: ParseResult;
  try {
    parsed = parser.parseSync(sql) as ParseResult;
  } catch (e) {
    const err = e as { message: string; sqlDetails?: { cursorPosition?: number } };
    add(byteLines(sql)(err.sqlDetails?.cursorPosition ?? 0), "syntax", `PostgreSQL cannot parse this file: ${err.message}`);
    return findings.sort((a, b) => a.line - b.line);
  }
  const lineOf = byteLines(sql);
  const bytes = Buffer.from(sql, "utf8");

  interface NewTable {
    rel: RelName;
    line: number;
  }
  interface NewColumn {
    rel: RelName;
    column: string;
    line: number;
  }
  const newTables: NewTable[] = [];
  /** Every table this file created so far (temporary ones too). */
  const tablesCreated: RelName[] = [];
  const newColumns: NewColumn[] = [];
  const rlsEnabled: RelName[] = [];
  const rlsForced: RelName[] = [];
  const comments: Array<{ rel: RelName; column: string; text: string | undefined }> = [];
  const secretLiteralAt: number[] = [];
  const managed = (r: RelName) => !r.schema || opts.managedSchemas.includes(r.schema);

  for (const s of parsed.stmts) {
    const start = s.stmt_location ?? 0;
    const len = s.stmt_len && s.stmt_len > 0 ? s.stmt_len : bytes.length - start;
    const text = bytes.subarray(start, start + len).toString("utf8");
    const stmtLine = lineOf(start + Buffer.byteLength(text.slice(0, firstToken(text)), "utf8"));
    const at = (loc: unknown) => (typeof loc === "number" && loc >= 0 ? lineOf(loc) : stmtLine);
    const [[type, node]] = Object.entries(s.stmt) as Array<[string, Node]>;

    // 1. Destructive statements. A table (or column) this file created earlier holds no data yet,
    // so dropping or retyping it is not destructive (a scratch table, a column reworked in place).
    const destructive: string[] = [];
    const createdHere = (r: RelName) => tablesCreated.some((t) => sameRel(t, r));
    const columnCreatedHere = (r: RelName, column: string) => createdHere(r) || newColumns.some((c) => c.column === column && sameRel(c.rel, r));
    if (type === "DropStmt") {
      const kind = String(node.removeType ?? "").replace(/^OBJECT_/, "").toLowerCase().replace(/_/g, " ");
      const names = ((node.objects as unknown[]) ?? []).map((o) => ((o as { List?: { items?: unknown[] } }).List?.items ?? [o]).map(str).filter((x): x is string => x !== undefined));
      const what = `DROP ${kind.toUpperCase()} ${names.map((n) => n.join(".")).filter(Boolean).join(", ")}`.trim();
      const scratch = node.removeType === "OBJECT_TABLE" && node.behavior !== "DROP_CASCADE" && names.every((n) => n.length > 0 && createdHere({ schema: n.length > 1 ? n[n.length - 2] : undefined, name: n[n.length - 1] }));
      if (scratch) {
        // created by this very file: nothing existing is lost
      } else if (["OBJECT_TABLE", "OBJECT_SCHEMA", "OBJECT_MATVIEW", "OBJECT_SEQUENCE"].includes(String(node.removeType))) destructive.push(what);
      else if (node.behavior === "DROP_CASCADE") destructive.push(`${what} CASCADE (drops dependent tables and columns with it)`);
    } else if (type === "DropdbStmt") destructive.push(`DROP DATABASE ${node.dbname}`);
    else if (type === "DropOwnedStmt") destructive.push("DROP OWNED (drops every object the role owns)");
    else if (type === "TruncateStmt") {
      const rels = ((node.relations as unknown[]) ?? []).map((r) => relOf((r as Node).RangeVar)).filter((r): r is RelName => !!r);
      if (node.behavior === "DROP_CASCADE" || !rels.every(createdHere)) destructive.push(`TRUNCATE ${rels.map(showRel).join(", ")}`);
    } else if (type === "DeleteStmt" && !node.whereClause) {
      const rel = relOf(node.relation) ?? { name: "?" };
      if (!createdHere(rel)) destructive.push(`DELETE FROM ${showRel(rel)} without WHERE`);
    } else if (type === "AlterTableStmt") {
      const rel = relOf(node.relation);
      for (const c of (node.cmds as unknown[]) ?? []) {
        const cmd = (c as { AlterTableCmd?: Node }).AlterTableCmd;
        if (!cmd || !rel || typeof cmd.name !== "string" || columnCreatedHere(rel, cmd.name)) continue;
        if (cmd.subtype === "AT_DropColumn") destructive.push(`DROP COLUMN ${showRel(rel)}.${cmd.name}`);
        if (cmd.subtype === "AT_AlterColumnType") destructive.push(`column type change of ${showRel(rel)}.${cmd.name}`);
      }
    }
    if (destructive.length && !destructiveAllowed) {
      for (const d of destructive) {
        add(stmtLine, "destructive", `${d}: destructive statement; add a line '-- phi-db:allow-destructive <reason>' to the file if this is intended (and the data is backed up or no longer needed)`);
      }
    }

    // 2. New tables and RLS; 3. new columns.
    if (type === "CreateStmt") {
      const rel = relOf(node.relation);
      if (rel) tablesCreated.push(rel);
      if (rel && node.relation && (node.relation as Node).relpersistence !== "t") {
        newTables.push({ rel, line: at((node.relation as Node).location) });
        for (const e of (node.tableElts as unknown[]) ?? []) {
          const col = (e as { ColumnDef?: Node }).ColumnDef;
          // A partition's `col WITH OPTIONS` has no type: the column is the parent's.
          if (col && col.typeName && typeof col.colname === "string") newColumns.push({ rel, column: col.colname, line: at(col.location) });
        }
      }
    } else if (type === "CreateTableAsStmt" && node.objtype === "OBJECT_TABLE") {
      const into = node.into as Node | undefined;
      const rel = relOf(into?.rel);
      if (rel) tablesCreated.push(rel);
      if (rel && (into?.rel as Node).relpersistence !== "t") newTables.push({ rel, line: at((into?.rel as Node).location) });
    } else if (type === "AlterTableStmt") {
      const rel = relOf(node.relation);
      for (const c of (node.cmds as unknown[]) ?? []) {
        const cmd = (c as { AlterTableCmd?: Node }).AlterTableCmd;
        if (!cmd || !rel) continue;
        if (cmd.subtype === "AT_EnableRowSecurity") rlsEnabled.push(rel);
        if (cmd.subtype === "AT_ForceRowSecurity") rlsForced.push(rel);
        if ((cmd.subtype === "AT_DisableRowSecurity" || cmd.subtype === "AT_NoForceRowSecurity") && rel.schema && opts.managedSchemas.includes(rel.schema)) {
          add(stmtLine, "rls", `${showRel(rel)}: ${cmd.subtype === "AT_DisableRowSecurity" ? "DISABLE" : "NO FORCE"} ROW LEVEL SECURITY in managed schema ${rel.schema}: every table there must keep RLS enabled and forced`);
        }
        const def = (cmd.def as { ColumnDef?: Node } | undefined)?.ColumnDef;
        if (cmd.subtype === "AT_AddColumn" && def && typeof def.colname === "string") newColumns.push({ rel, column: def.colname, line: at(def.location) });
      }
    } else if (type === "CommentStmt" && node.objtype === "OBJECT_COLUMN") {
      const items = (((node.object as Node)?.List as { items?: unknown[] })?.items ?? []).map(str).filter((x): x is string => x !== undefined);
      if (items.length >= 2) {
        const column = items[items.length - 1];
        const name = items[items.length - 2];
        const schema = items.length >= 3 ? items[items.length - 3] : undefined;
        comments.push({ rel: { schema, name }, column, text: typeof node.comment === "string" ? node.comment : undefined });
      }
    }

    // 4. Secrets: a string literal assigned to a secret-looking name.
    const named = (name: unknown, value: unknown) => {
      if (typeof name !== "string" || !SECRET_NAME.test(name)) return;
      const lit = literal(value);
      if (!lit || lit.value.trim() === "") return;
      const line = at(lit.location);
      if (notSecretLines.includes(line)) return;
      if (lit.location !== undefined) secretLiteralAt.push(lit.location);
      add(line, "secret", `'${name}' is given a plaintext string literal: keep secrets out of migrations (Secrets Manager, or a placeholder filled at deploy time)`);
    };
    walk(s.stmt, (t, n) => {
      if (t === "VariableSetStmt") for (const a of (n.args as unknown[]) ?? []) named(n.name, a);
      else if ((t === "AlterDatabaseSetStmt" || t === "AlterRoleSetStmt" || t === "AlterSystemStmt") && n.setstmt) {
        const set = n.setstmt as Node;
        for (const a of (set.args as unknown[]) ?? []) named(set.name, a);
      } else if (t === "FuncCall") {
        const fname = ((n.funcname as unknown[]) ?? []).map(str).pop();
        const args = (n.args as unknown[]) ?? [];
        if (fname === "set_config" && args.length >= 2) named(literal(args[0])?.value, args[1]);
      } else if (t === "ColumnDef") {
        for (const c of (n.constraints as unknown[]) ?? []) {
          const con = (c as { Constraint?: Node }).Constraint;
          if (con?.contype === "CONSTR_DEFAULT") named(n.colname, con.raw_expr);
        }
      } else if (t === "AlterTableCmd" && n.subtype === "AT_ColumnDefault") named(n.name, n.def);
      else if (t === "ResTarget" && n.val) named(n.name, n.val);
      else if (t === "DefElem") named(n.defname, n.arg);
      else if (t === "InsertStmt") {
        const cols = ((n.cols as unknown[]) ?? []).map((c) => (c as { ResTarget?: Node }).ResTarget?.name);
        const rows = ((n.selectStmt as { SelectStmt?: Node } | undefined)?.SelectStmt?.valuesLists as unknown[]) ?? [];
        for (const r of rows) {
          const items = (r as { List?: { items?: unknown[] } }).List?.items ?? [];
          items.forEach((v, i) => named(cols[i], v));
        }
      }
    });
    // ... or a long random-looking string literal anywhere (function bodies are not literals here).
    walk(s.stmt, (t, n) => {
      if (t !== "A_Const") return;
      const lit = literal({ A_Const: n });
      if (!lit || !looksHighEntropy(lit.value) || (lit.location !== undefined && secretLiteralAt.includes(lit.location))) return;
      const line = at(lit.location);
      if (!notSecretLines.includes(line)) {
        add(line, "secret", `high-entropy string literal (${lit.value.length} characters) looks like a key or token; keep secrets out of migrations, or mark a false positive with '-- phi-db:not-a-secret <reason>'`);
      }
    });
  }

  // 2. Every new table in a managed schema enables and forces RLS in this file.
  for (const t of newTables) {
    if (!managed(t.rel)) continue;
    const missing = [rlsEnabled.some((r) => sameRel(r, t.rel)) ? "" : "ENABLE", rlsForced.some((r) => sameRel(r, t.rel)) ? "" : "FORCE"].filter(Boolean);
    if (missing.length) {
      const where = t.rel.schema ? `managed schema ${t.rel.schema}` : "an unknown schema (unqualified: it lands wherever search_path says, so it is held to the managed-schema rule; qualify it)";
      add(t.line, "rls", `new table ${showRel(t.rel)} in ${where} must ${missing.join(" and ")} row level security in the same migration: alter table ${showRel(t.rel)} enable row level security, force row level security;`);
    }
  }

  // 3. Every new PHI column has its COMMENT ... IS 'PHI: ...'.
  for (const c of newColumns) {
    const marked = phiMarked.some((m) => columnRefMatches(m.ref, c.rel, c.column));
    const pattern = phiPattern(c.column);
    const exempt = notPhi.some((m) => columnRefMatches(m.ref, c.rel, c.column));
    if (!marked && (!pattern || exempt)) continue;
    const why = marked ? "marked PHI by '-- phi-db:phi'" : `its name looks like PHI (${pattern})`;
    const comment = comments.filter((k) => k.column === c.column && sameRel(k.rel, c.rel)).pop();
    const target = `${showRel(c.rel)}.${c.column}`;
    if (!comment || comment.text === undefined) {
      add(c.line, "phi-comment", `new column ${target} is PHI (${why}) and needs "comment on column ${target} is 'PHI: <what it holds>';" in the same migration${marked ? "" : ` (or '-- phi-db:not-phi ${c.column} <reason>' if it is not)`}`);
    } else if (!/^PHI:/.test(comment.text.trimStart())) {
      add(c.line, "phi-comment", `new column ${target} is PHI (${why}) but its comment does not start with 'PHI:' (the audit report finds PHI columns by that prefix)`);
    }
  }
  for (const m of phiMarked) {
    if (!newColumns.some((c) => columnRefMatches(m.ref, c.rel, c.column))) {
      findings.push({ file, line: m.line, rule: "phi-db/marker", severity: "warning", message: `'-- phi-db:phi ${m.ref}' names no column this migration creates` });
    }
  }
  for (const m of notPhi) {
    if (!newColumns.some((c) => columnRefMatches(m.ref, c.rel, c.column))) {
      findings.push({ file, line: m.line, rule: "phi-db/marker", severity: "warning", message: `'-- phi-db:not-phi ${m.ref}' names no column this migration creates` });
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

interface SquawkItem {
  file: string;
  line: number;
  column: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

/**
 * Runs squawk once over several files' rendered text (written to a private temp folder, so one
 * launcher start serves them all) and returns its JSON findings per file.
 */
export async function runSquawk(files: Array<{ file: string; sql: string }>, opts: { inTransaction: boolean; pgVersion?: string }): Promise<Record<string, SquawkItem[]>> {
  const out: Record<string, SquawkItem[]> = {};
  for (const f of files) out[f.file] = [];
  if (!files.length) return out;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodePath = require("path") as typeof import("path");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require("fs") as typeof import("fs");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const os = require("os") as typeof import("os");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawn } = require("child_process") as typeof import("child_process");
  // The package's own launcher (its `bin`), resolved where the program runs: never a fixed path.
  const pkgFile = require.resolve("squawk-cli/package.json");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require(pkgFile) as { bin: string | Record<string, string> };
  const bin = nodePath.join(nodePath.dirname(pkgFile), typeof pkg.bin === "string" ? pkg.bin : pkg.bin.squawk);

  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "phi-db-lint-"));
  try {
    const byPath: Record<string, string> = {};
    files.forEach((f, i) => {
      const p = nodePath.join(dir, `${i}.sql`);
      fs.writeFileSync(p, f.sql, { encoding: "utf8", mode: 0o600 });
      byPath[p] = f.file;
    });
    const args = [bin, "--reporter", "json", "--pg-version", opts.pgVersion ?? "17", ...SQUAWK_EXCLUDED.map((r) => `--exclude=${r}`)];
    if (opts.inTransaction) args.push("--assume-in-transaction");
    args.push(...Object.keys(byPath));
    const items = await new Promise<SquawkItem[]>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => {
        // 0: nothing found, 1: findings; anything else is squawk failing.
        if (code !== 0 && code !== 1) return reject(new Error(`squawk exited with ${code}: ${stderr.trim() || stdout.trim()}`));
        try {
          resolve(stdout.trim() ? (JSON.parse(stdout) as SquawkItem[]) : []);
        } catch (e) {
          reject(new Error(`squawk printed something that is not JSON (${(e as Error).message}): ${stdout.slice(0, 200)}`));
        }
      });
    });
    for (const it of items) {
      const file = byPath[it.file];
      if (file === undefined) throw new Error(`squawk reported a file it was not given: ${it.file}`);
      out[file].push(it);
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** squawk's findings as lint findings (severity policy above; syntax errors deferred to PostgreSQL's parser). */
function fromSquawk(file: string, items: SquawkItem[], parsedByPostgres: boolean): LintFinding[] {
  const out: LintFinding[] = [];
  const syntax = items.filter((i) => i.rule_name === "syntax-error");
  for (const i of items) {
    if (i.rule_name === "syntax-error") continue;
    const help = i.help ? ` (${i.help})` : "";
    out.push({ file, line: i.line + 1, rule: `squawk/${i.rule_name}`, severity: SQUAWK_ERRORS.includes(i.rule_name) ? "error" : "warning", message: i.message + help });
  }
  // PostgreSQL's own parser is the authority: when it accepts the file, squawk's parser merely lags
  // behind (say so once, its rules may have skipped those statements); when it rejects the file,
  // phi-db/syntax already says where.
  if (syntax.length && parsedByPostgres) {
    out.push({ file, line: syntax[0].line + 1, rule: "squawk/syntax-error", severity: "warning", message: `squawk's parser does not understand this line (PostgreSQL's does): squawk's rules may have skipped statements here (${syntax[0].message})` });
  }
  return out;
}

/** Lints files' rendered SQL: phi-db's rules per file, squawk once per transaction mode. */
export async function lintFiles(files: Array<{ file: string; sql: string; noTransaction?: boolean }>, opts: LintOptions): Promise<LintFinding[]> {
  const own: LintFinding[][] = [];
  for (const f of files) own.push(await phiDbRules(f.file, f.sql, opts));
  const squawk: LintFinding[] = [];
  if (opts.squawk !== false) {
    const groups = [files.filter((f) => !f.noTransaction), files.filter((f) => f.noTransaction)];
    await Promise.all(
      groups.map(async (group, g) => {
        try {
          const found = await runSquawk(group, { inTransaction: g === 0, pgVersion: opts.pgVersion });
          for (const f of group) {
            const parsed = !own[files.indexOf(f)].some((x) => x.rule === "phi-db/syntax");
            squawk.push(...fromSquawk(f.file, found[f.file], parsed));
          }
        } catch (e) {
          for (const f of group) squawk.push({ file: f.file, line: 1, rule: "squawk/not-run", severity: "error", message: `squawk could not lint this file: ${(e as Error).message}` });
        }
      }),
    );
  }
  const order = files.map((f) => f.file);
  const seen: Record<string, true> = {};
  return [...own.flat(), ...squawk]
    .filter((f) => {
      const k = `${f.file}\u0000${f.line}\u0000${f.rule}\u0000${f.message}`;
      if (seen[k]) return false;
      seen[k] = true;
      return true;
    })
    .sort((a, b) => order.indexOf(a.file) - order.indexOf(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
}

/** Lints one file's rendered SQL (phi-db rules and squawk). */
export async function lintSql(file: string, sql: string, opts: LintOptions & { noTransaction?: boolean }): Promise<LintFinding[]> {
  return lintFiles([{ file, sql, noTransaction: opts.noTransaction }], opts);
}

/** Lints migrations (the pending ones, as the caller decides): findings by file, then line. */
export async function lintMigrations(migrations: Migration[], opts: LintOptions): Promise<LintFinding[]> {
  return lintFiles(migrations.map((m) => ({ file: m.file, sql: m.sql, noTransaction: m.noTransaction })), opts);
}

/** Counts by severity. */
export function lintSummary(findings: LintFinding[]): { errors: number; warnings: number } {
  return { errors: findings.filter((f) => f.severity === "error").length, warnings: findings.filter((f) => f.severity === "warning").length };
}
