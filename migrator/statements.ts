/**
 * Splitting SQL into statements with the real PostgreSQL parser (libpg-query, the server's own
 * grammar compiled to WebAssembly), and mapping offsets back to file lines for error messages.
 *
 * The parser's offsets are in UTF-8 bytes; JavaScript strings are UTF-16, so every offset is
 * converted through a Buffer (a comment with "é" or "—" must not shift line numbers).
 */

export interface Statement {
  /** Statement text as it appears in the file (leading comments/blank lines included). */
  sql: string;
  /** 1-based line in the file where the statement's first token stands. */
  line: number;
  /** 1-based line where `sql` begins (for mapping server error positions). */
  startLine: number;
  /** Parse-tree node of the statement (`CreateStmt`, `TransactionStmt`, ...). */
  node: string;
  /** For a TransactionStmt: its kind (`TRANS_STMT_COMMIT`, ...). */
  transactionKind?: string;
  /** The statement's parse tree (`{ GrantStmt: {...} }`), for readers that need more than its kind. */
  tree: Record<string, unknown>;
}

export class SqlSyntaxError extends Error {
  constructor(
    public readonly file: string,
    public readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${/^syntax error/.test(detail) ? detail : `syntax error: ${detail}`}`);
    this.name = "SqlSyntaxError";
  }
}

interface ParseResult {
  stmts: Array<{ stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }>;
}

let parser: { parseSync(sql: string): ParseResult } | undefined;

/** Loads the WebAssembly parser once per process. */
export async function loadParser(): Promise<{ parseSync(sql: string): ParseResult }> {
  if (!parser) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lq = require("libpg-query") as { loadModule(): Promise<void>; parseSync(sql: string): ParseResult };
    await lq.loadModule();
    parser = lq;
  }
  return parser;
}

/** 1-based line of a UTF-16 offset in `text`. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Offset of the first character that is not white space or part of a comment. */
export function firstToken(sql: string): number {
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

/** Parses `text` and returns its statements; a syntax error names the file and line. */
export async function splitStatements(text: string, file: string): Promise<Statement[]> {
  const p = await loadParser();
  let result: ParseResult;
  try {
    result = p.parseSync(text);
  } catch (e) {
    const err = e as { message: string; sqlDetails?: { cursorPosition?: number } };
    const bytePos = err.sqlDetails?.cursorPosition ?? 0;
    const charPos = Buffer.from(text, "utf8").subarray(0, bytePos).toString("utf8").length;
    throw new SqlSyntaxError(file, lineAt(text, charPos), err.message);
  }
  const bytes = Buffer.from(text, "utf8");
  const out: Statement[] = [];
  for (const s of result.stmts) {
    const start = s.stmt_location ?? 0;
    const len = s.stmt_len && s.stmt_len > 0 ? s.stmt_len : bytes.length - start;
    const sql = bytes.subarray(start, start + len).toString("utf8");
    const startChar = bytes.subarray(0, start).toString("utf8").length;
    const startLine = lineAt(text, startChar);
    const node = Object.keys(s.stmt)[0] ?? "";
    const transactionKind = node === "TransactionStmt" ? String((s.stmt.TransactionStmt as { kind?: string }).kind ?? "") : undefined;
    out.push({ sql, startLine, line: startLine + lineAt(sql, firstToken(sql)) - 1, node, transactionKind, tree: s.stmt });
  }
  return out;
}

/** Parse trees of every statement (for checks and lint that need to know what a file declares). */
export async function parseTrees(text: string): Promise<Array<Record<string, unknown>>> {
  const p = await loadParser();
  return p.parseSync(text).stmts.map((s) => s.stmt);
}
