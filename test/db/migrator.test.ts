/**
 * The migrator on a real PostgreSQL: ordering, the ledger, drift and file rules, SQL errors with
 * file and line and no partial state, no-transaction files, repeatables, timeouts, rollback rules.
 */
import { MigrationError, migrate, PlanFailedError, readPlan, revert } from "../../migrator/apply";
import { readHistory } from "../../migrator/db";
import { createDatabase, TestDatabase } from "../support/db";
import { ctxFor, DEV_RULES, FixtureProject, PROD_RULES } from "../support/project";

const M1 = "migrations/20260101001_create_things.sql";
const M2 = "migrations/20260101002_add_color.sql";

let db: TestDatabase;
let fx: FixtureProject;

beforeEach(async () => {
  db = await createDatabase("mig");
  fx = new FixtureProject({
    [M1]: "-- things\ncreate table public.things (id bigint primary key, name text not null);\n",
    [M2]: "alter table public.things add column color text;\ninsert into public.things values (1, 'one', 'red');\n",
  });
});
afterEach(async () => {
  fx.dispose();
  await db.drop();
});

const tableExists = async (name: string) => (await db.client.query("select to_regclass($1) as t", [name])).rows[0].t !== null;
const events = async () =>
  (await db.client.query("select event, key, script, checksum, environment, stack, actor, error from phi_ledger.schema_events order by id")).rows;

describe("apply", () => {
  it("applies pending migrations in version order, records history and events, and is idempotent", async () => {
    const first = await migrate(ctxFor(db.url), fx.load());
    expect(first.applied.map((a) => a.file)).toEqual([M1, M2]);
    expect((await db.client.query("select name, color from public.things")).rows).toEqual([{ name: "one", color: "red" }]);

    const history = await readHistory(db.client);
    expect(history.map((h) => [h.key, h.version, h.script])).toEqual([
      ["20260101001_create_things", "20260101001", M1],
      ["20260101002_add_color", "20260101002", M2],
    ]);
    expect(history[0].checksum).toBe(fx.load().migrations[0].checksum);
    const ev = await events();
    expect(ev.map((e) => [e.event, e.key, e.environment])).toEqual([
      ["apply", "20260101001_create_things", "dev"],
      ["apply", "20260101002_add_color", "dev"],
    ]);
    expect(ev[0].actor).toBe("postgres");

    const second = await migrate(ctxFor(db.url), fx.load());
    expect(second.applied).toEqual([]);
    expect(await events()).toHaveLength(2);
  });

  it("refuses an applied file that was edited, naming it and both checksums, and applies nothing", async () => {
    await migrate(ctxFor(db.url), fx.load());
    const applied = fx.load().migrations[0].checksum;
    fx.write({ [M1]: "-- things\ncreate table public.things (id bigint primary key, name text);\n" });
    fx.write({ "migrations/20260101003_more.sql": "create table public.more (id int);\n" });
    const edited = fx.load().migrations[0].checksum;
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err).toBeInstanceOf(PlanFailedError);
    expect(err.message).toContain(M1);
    expect(err.message).toContain(applied);
    expect(err.message).toContain(edited);
    expect(await tableExists("public.more")).toBe(false);
  });

  it("does not treat CRLF line endings or a BOM as an edit", async () => {
    await migrate(ctxFor(db.url), fx.load());
    fx.write({ [M1]: "\uFEFF-- things\r\ncreate table public.things (id bigint primary key, name text not null);\r\n" });
    const plan = await readPlan(ctxFor(db.url), fx.load());
    expect(plan.errors).toEqual([]);
    expect(plan.pending).toEqual([]);
  });

  it("reports a SQL error with file, line and server message, and leaves nothing of that file", async () => {
    fx.write({
      "migrations/20260101003_broken.sql": [
        "-- a file whose third statement fails",
        "create table public.half (id int);",
        "insert into public.half values (1);",
        "",
        "insert into public.nowhere values (1);",
        "create table public.never (id int);",
      ].join("\n"),
    });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err.file).toBe("migrations/20260101003_broken.sql");
    expect(err.line).toBe(5);
    expect(err.message).toContain('migrations/20260101003_broken.sql:5: relation "public.nowhere" does not exist');
    expect(await tableExists("public.half")).toBe(false);
    // the migrations before it stay applied; the failure is in the evidence
    expect((await readHistory(db.client)).map((h) => h.version)).toEqual(["20260101001", "20260101002"]);
    const fail = (await events()).filter((e) => e.event === "fail");
    expect(fail).toHaveLength(1);
    expect(fail[0].key).toBe("20260101003_broken");
    expect(fail[0].error).toContain("does not exist");
  });

  it("names the line of an error inside a multi-line statement, and finds a syntax error before running anything", async () => {
    fx.write({
      "migrations/20260101003_typo.sql": "create table public.ok (id int);\n\nselect\n  1,\n  no_such_column\nfrom public.ok;\n",
    });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err.message).toMatch(/^migrations\/20260101003_typo\.sql:5: column "no_such_column" does not exist/);

    fx.remove("migrations/20260101003_typo.sql").write({ "migrations/20260101003_syntax.sql": "create table public.ok (id int);\ncreate tabel public.bad (id int);\n" });
    const syn = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(syn.message).toContain("migrations/20260101003_syntax.sql:2: syntax error");
    // the syntax error is found before anything of that run executes
    expect(await tableExists("public.ok")).toBe(false);
    expect((await events()).filter((e) => e.key === "20260101003_syntax")).toEqual([]);
  });

  it("runs a no-transaction file statement by statement, so CREATE INDEX CONCURRENTLY works", async () => {
    fx.write({
      "migrations/20260101003_index.sql":
        "-- phi-db:no-transaction\n-- builds without blocking writes\ncreate index concurrently if not exists things_name_idx on public.things (name);\ncreate index concurrently if not exists things_color_idx on public.things (color);\n",
    });
    const r = await migrate(ctxFor(db.url), fx.load());
    expect(r.applied.map((a) => a.file)).toContain("migrations/20260101003_index.sql");
    const idx = await db.client.query(
      "select c.relname, i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname like 'things_%_idx' order by 1",
    );
    expect(idx.rows).toEqual([
      { relname: "things_color_idx", indisvalid: true },
      { relname: "things_name_idx", indisvalid: true },
    ]);
  });

  it("fails CREATE INDEX CONCURRENTLY in an ordinary (transactional) file with the server's message", async () => {
    fx.write({ "migrations/20260101003_index.sql": "create index concurrently things_name_idx on public.things (name);\n" });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err.message).toContain("CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
  });

  it("sets lock_timeout and statement_timeout inside each migration's transaction only", async () => {
    fx.write({
      "migrations/20260101003_settings.sql":
        "create table public.seen as select current_setting('lock_timeout') as lock_timeout, current_setting('statement_timeout') as statement_timeout;\n",
    });
    await migrate(ctxFor(db.url, { ...DEV_RULES, lockTimeout: "4s", statementTimeout: "2min" }), fx.load());
    expect((await db.client.query("select * from public.seen")).rows).toEqual([{ lock_timeout: "4s", statement_timeout: "2min" }]);
  });
});

describe("file and plan rules", () => {
  it("refuses a bad file name with the expected pattern", async () => {
    fx.write({ "migrations/2026_01_01_bad.sql": "select 1;" });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err).toBeInstanceOf(PlanFailedError);
    expect(err.message).toContain("migrations/2026_01_01_bad.sql: bad migration file name: expected YYYYMMDDNNN_description.sql");
    expect(await tableExists("public.things")).toBe(false);
  });

  it("refuses duplicate versions and a down file without its up file", async () => {
    fx.write({ "migrations/20260101002_other.sql": "select 1;", "migrations/20260101009_gone.down.sql": "select 1;" });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err.message).toContain("migrations/20260101002_other.sql: duplicate version 20260101002: also used by migrations/20260101002_add_color.sql");
    expect(err.message).toContain("migrations/20260101009_gone.down.sql: down file without its up file: expected migrations/20260101009_gone.sql");
  });

  it("refuses an applied migration missing on disk", async () => {
    await migrate(ctxFor(db.url), fx.load());
    fx.remove(M2);
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err.message).toContain("applied migration 20260101002_add_color is missing on disk (expected migrations/20260101002_add_color.sql)");
  });

  it("refuses an out-of-order migration in prod and applies it where the environment allows", async () => {
    fx.remove(M1);
    await migrate(ctxFor(db.url, PROD_RULES), fx.load()).catch(() => undefined); // M2 alone fails: no table
    fx.write({ [M1]: "create table public.things (id bigint primary key, name text not null);\n" });
    fx.remove(M2).write({ "migrations/20260101005_later.sql": "create table public.later (id int);\n" });
    await migrate(ctxFor(db.url, PROD_RULES), new FixtureProject({ "migrations/20260101005_later.sql": "create table public.later (id int);\n" }).load());
    const err = await migrate(ctxFor(db.url, PROD_RULES), fx.load()).catch((e) => e);
    expect(err).toBeInstanceOf(PlanFailedError);
    expect(err.message).toContain(`${M1} is older than the newest applied migration 20260101005; out-of-order migrations are not allowed`);
    const ok = await migrate(ctxFor(db.url, DEV_RULES), fx.load());
    expect(ok.applied.map((a) => a.file)).toEqual([M1]);
    expect(ok.notices.join()).toContain("applying out of order");
  });

  it("renders ${env} before hashing and refuses an unknown placeholder with its line", async () => {
    fx.write({ "migrations/20260101003_env.sql": "create table public.env_${env} (id int);\n" });
    await migrate(ctxFor(db.url), fx.load("dev"));
    expect(await tableExists("public.env_dev")).toBe(true);
    expect(fx.load("dev").migrations[2].checksum).not.toBe(fx.load("prod").migrations[2].checksum);
    fx.write({ "migrations/20260101004_unknown.sql": "-- a comment may mention ${modules}\nselect '${nope}';\n" });
    const err = await migrate(ctxFor(db.url), fx.load("dev")).catch((e) => e);
    expect(err.message).toContain("migrations/20260101004_unknown.sql: line 2: unknown placeholder ${nope}");
    expect(err.message).not.toContain("${modules}");
  });
});

describe("repeatables", () => {
  it("runs functions, views and policies in that order after versioned files, and again only when changed", async () => {
    fx.write({
      "policies/010_things.sql":
        "alter table public.things enable row level security;\ndrop policy if exists things_read on public.things;\ncreate policy things_read on public.things for select using (public.visible(id));\n",
      "views/010_things_view.sql": "create or replace view public.things_view with (security_invoker = true) as select id, public.visible(id) as v from public.things;\n",
      "functions/010_visible.sql": "create or replace function public.visible(id bigint) returns boolean language sql immutable as 'select $1 > 0';\n",
    });
    const first = await migrate(ctxFor(db.url), fx.load());
    expect(first.repeatables.map((r) => r.file)).toEqual(["functions/010_visible.sql", "views/010_things_view.sql", "policies/010_things.sql"]);
    expect((await migrate(ctxFor(db.url), fx.load())).repeatables).toEqual([]);
    fx.write({ "functions/010_visible.sql": "create or replace function public.visible(id bigint) returns boolean language sql immutable as 'select $1 > 1';\n" });
    const third = await migrate(ctxFor(db.url), fx.load());
    expect(third.repeatables.map((r) => r.file)).toEqual(["functions/010_visible.sql"]);
    expect((await db.client.query("select public.visible(1) as v")).rows[0].v).toBe(false);
  });
});

describe("rollback", () => {
  beforeEach(() => {
    fx.write({ "migrations/20260101002_add_color.down.sql": "delete from public.things where id = 1;\nalter table public.things drop column color;\n" });
  });

  it("reverts the newest migration with its down file in dev, and records the revert", async () => {
    await migrate(ctxFor(db.url), fx.load());
    const r = await revert(ctxFor(db.url), fx.load());
    expect(r.reverted.map((x) => x.file)).toEqual(["migrations/20260101002_add_color.down.sql"]);
    const cols = await db.client.query("select column_name from information_schema.columns where table_name = 'things' order by 1");
    expect(cols.rows.map((c) => c.column_name)).toEqual(["id", "name"]);
    expect((await readHistory(db.client)).map((h) => h.version)).toEqual(["20260101001"]);
    expect((await events()).map((e) => e.event)).toEqual(["apply", "apply", "revert"]);
    // and it applies again cleanly
    expect((await migrate(ctxFor(db.url), fx.load())).applied.map((a) => a.file)).toEqual([M2]);
  });

  it("is refused in prod, and nothing changes", async () => {
    await migrate(ctxFor(db.url, PROD_RULES), fx.load());
    const err = await revert(ctxFor(db.url, PROD_RULES), fx.load()).catch((e) => e);
    expect(err.message).toContain("rollback is not allowed in environment prod");
    expect((await db.client.query("select count(*)::int as n from public.things")).rows[0].n).toBe(1);
    expect((await readHistory(db.client))).toHaveLength(2);
  });

  it("refuses to revert a migration that has no down file, naming the file expected", async () => {
    await migrate(ctxFor(db.url), fx.load());
    const err = await revert(ctxFor(db.url), fx.load(), { steps: 2 }).catch((e) => e);
    expect(err.message).toContain("no down file for migrations/20260101001_create_things.sql (expected migrations/20260101001_create_things.down.sql); nothing was reverted");
    expect((await readHistory(db.client))).toHaveLength(2);
  });
});

describe("ledger", () => {
  it("is append-only for events (even for its owner) and writable by nobody but the owner", async () => {
    await migrate(ctxFor(db.url), fx.load());
    await expect(db.client.query("update phi_ledger.schema_events set error = 'x'")).rejects.toThrow(/append-only/);
    await expect(db.client.query("delete from phi_ledger.schema_events")).rejects.toThrow(/append-only/);
    await expect(db.client.query("truncate phi_ledger.schema_events")).rejects.toThrow(/append-only/);
    const writers = await db.client.query(
      `select r.rolname, t.tbl from pg_roles r cross join (values ('phi_ledger.schema_history'), ('phi_ledger.schema_events')) t(tbl)
        where not r.rolsuper and r.rolname !~ '^pg_'
          and (has_table_privilege(r.oid, t.tbl, 'UPDATE') or has_table_privilege(r.oid, t.tbl, 'DELETE') or has_table_privilege(r.oid, t.tbl, 'TRUNCATE'))
          and r.oid <> (select relowner from pg_class where oid = t.tbl::regclass)`,
    );
    expect(writers.rows).toEqual([]);
  });
});

describe("one round trip per file", () => {
  it("names the line of a run-time error that has no position, by replaying, and leaves nothing", async () => {
    fx.write({
      "migrations/20260101003_divide.sql": "create table public.ratio (x int);\ninsert into public.ratio values (1);\n\nselect 1 / (select count(*) - 1 from public.ratio);\n",
    });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err.message).toMatch(/^migrations\/20260101003_divide\.sql:4: division by zero \(SQLSTATE 22012\)/);
    expect(await tableExists("public.ratio")).toBe(false);
  });

  it("refuses COMMIT inside a transactional file before running anything, so a file can never be half-applied", async () => {
    fx.write({ "migrations/20260101003_split.sql": "create table public.first_half (id int);\ncommit;\ncreate table public.second_half (id int);\n" });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err.message).toContain("migrations/20260101003_split.sql:2: transaction control (COMMIT) is not allowed here");
    expect(await tableExists("public.things")).toBe(false);
    expect(await tableExists("public.first_half")).toBe(false);
  });

  it("checks the syntax of every pending file with the server before applying the first one", async () => {
    // M1 and M2 are pending too: nothing of them may run when a later file cannot be parsed
    fx.write({ "migrations/20260101003_late_typo.sql": "-- fine so far\ncreate table public.later (id int);\n\nalter tabel public.later add column x int;\n" });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err.message).toMatch(/^migrations\/20260101003_late_typo\.sql:4: syntax error at or near "tabel"/);
    expect(await tableExists("public.things")).toBe(false);
    expect(await readHistory(db.client)).toEqual([]);
  });

  it("blames the file with an unterminated quote, not the later file where the quote happens to close", async () => {
    fx.write({
      "migrations/20260101003_open_quote.sql": "create function public.f() returns int language sql as $$ select 1;\n",
      "migrations/20260101004_closes_it.sql": "create function public.g() returns int language sql as $$ select 2 $$;\n",
    });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err.message).toMatch(/^migrations\/20260101003_open_quote\.sql:1: (syntax error: )?unterminated dollar-quoted string/);
    expect(await tableExists("public.things")).toBe(false);
  });

  it("maps a server error position to the right line past multi-byte characters (emoji, accents)", async () => {
    fx.write({ "migrations/20260101003_unicode.sql": "-- résumé 🩺 of the change\ncreate table public.u (id int);\nselect missing_col from public.u;\n" });
    const err = await migrate(ctxFor(db.url), fx.load()).catch((e) => e);
    expect(err.message).toMatch(/^migrations\/20260101003_unicode\.sql:3: column "missing_col" does not exist/);
  });

  it("applies a file whose words only look like transaction control (CASE ... END, PL/pgSQL BEGIN ... END)", async () => {
    fx.write({
      "migrations/20260101003_words.sql":
        "create view public.thing_kinds as select id, case when id > 0 then 'positive' else 'other' end as kind from public.things;\n" +
        "create function public.start_of(t timestamptz) returns date language plpgsql as $$ begin return t::date; end $$;\n",
    });
    const r = await migrate(ctxFor(db.url), fx.load());
    expect(r.applied.map((a) => a.key)).toContain("20260101003_words");
    expect(await tableExists("public.thing_kinds")).toBe(true);
  });

  it("records the server-measured duration and keeps SAVEPOINTs working inside a file", async () => {
    fx.write({
      "migrations/20260101003_savepoint.sql":
        "create table public.sp (id int);\nsavepoint before_sleep;\nselect pg_sleep(0.05);\nrelease savepoint before_sleep;\n",
    });
    await migrate(ctxFor(db.url), fx.load());
    const r = await db.client.query("select duration_ms from phi_ledger.schema_history where key = '20260101003_savepoint'");
    expect(r.rows[0].duration_ms).toBeGreaterThanOrEqual(50);
  });
});
