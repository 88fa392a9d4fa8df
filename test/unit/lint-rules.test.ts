/**
 * Migration lint rules (migrator/lint.ts) on real SQL: PostgreSQL's parser (libpg-query) for
 * phi-db's rules and the real squawk binary from squawk-cli. Each rule fires on a bad file and
 * stays quiet on a good one; lines are the file's lines.
 */
import { entropy, lintMigrations, lintSql, LintFinding, looksHighEntropy, phiDbRules, phiPattern, SQUAWK_EXCLUDED } from "../../migrator/lint";
import { FixtureProject } from "../support/project";

const MANAGED = { managedSchemas: ["app", "tenant"] };
const own = (sql: string, file = "migrations/20260101001_x.sql") => phiDbRules(file, sql, MANAGED);
const rules = (fs: LintFinding[]) => fs.map((f) => `${f.line} ${f.rule}`);

/** A migration that satisfies every phi-db rule. */
const GOOD = `-- A new table with its RLS and PHI comments.
create table app.visits (
  id          bigint generated always as identity primary key,
  patient_id  bigint not null,
  first_name  text not null,
  notes_encrypted bytea,
  email_verified_at timestamptz,
  token_kind  text not null default 'access'
);
alter table app.visits enable row level security, force row level security;
comment on column app.visits.first_name is 'PHI: the patient''s given name.';
comment on column app.visits.notes_encrypted is 'PHI: visit notes, field-encrypted.';
create table analytics_free.counts (n bigint);
`;

describe("phi-db rules", () => {
  it("a good migration has no finding", async () => {
    expect(await own(GOOD)).toEqual([]);
  });

  describe("phi-db/destructive", () => {
    const BAD = [
      "drop table app.old_visits;", // 1
      "alter table app.visits drop column fax;", // 2
      "alter table app.visits alter column patient_id type text;", // 3
      "truncate app.visits;", // 4
      "drop schema legacy;", // 5
      "drop type app.mood cascade;", // 6
      "delete from app.visits;", // 7
      "drop materialized view app.mv;", // 8
      "drop index app.visits_idx;", // 9: not destructive (an index holds no data)
      "delete from app.visits where id = 1;", // 10: not destructive (a WHERE says what goes)
      "drop function app.f();", // 11: not destructive
    ].join("\n");

    it("flags drops of data-holding objects, TRUNCATE, type changes, CASCADE and DELETE without WHERE, each on its line", async () => {
      const f = await own(BAD);
      expect(rules(f)).toEqual(["1 phi-db/destructive", "2 phi-db/destructive", "3 phi-db/destructive", "4 phi-db/destructive", "5 phi-db/destructive", "6 phi-db/destructive", "7 phi-db/destructive", "8 phi-db/destructive"]);
      expect(f.every((x) => x.severity === "error")).toBe(true);
      expect(f[0].message).toContain("DROP TABLE app.old_visits");
      expect(f[0].message).toContain("-- phi-db:allow-destructive <reason>");
      expect(f[2].message).toContain("column type change of app.visits.patient_id");
      expect(f[5].message).toContain("CASCADE");
    });

    it("the allow-destructive marker with a reason allows them; without a reason it is itself an error", async () => {
      expect(await own(`-- phi-db:allow-destructive fax numbers were migrated to contacts in 20251101001 and verified\n${BAD}`)).toEqual([]);
      const noReason = await own(`-- phi-db:allow-destructive\n${BAD}`);
      expect(rules(noReason)[0]).toBe("1 phi-db/marker");
      expect(noReason.filter((x) => x.rule === "phi-db/destructive")).toHaveLength(8);
      // A marker that is not a comment line of its own does not count.
      const inline = await own(`drop table app.t; -- phi-db:allow-destructive because`);
      expect(rules(inline)).toEqual(["1 phi-db/destructive"]);
    });

    it("what this very file created holds no data yet: dropping or reworking it is not destructive", async () => {
      const f = await own(
        [
          "drop table if exists app.visits;", // 1: may hold data (the drop comes before the create)
          "create table app.visits (id bigint);",
          "alter table app.visits enable row level security, force row level security;",
          "create temporary table staging (id bigint, raw text);",
          "alter table app.visits add column code text;",
          "alter table app.visits alter column code type varchar(20), drop column code;", // new column: fine
          "delete from staging;",
          "truncate staging;",
          "drop table staging;",
          "alter table app.older drop column code;", // 10: an existing table
        ].join("\n"),
      );
      expect(rules(f)).toEqual(["1 phi-db/destructive", "10 phi-db/destructive"]);
    });

    it("names a typo'd marker instead of ignoring it", async () => {
      const f = await own(`-- phi-db:allow-destrutive oops\ndrop table app.t;`);
      expect(rules(f)).toEqual(["1 phi-db/marker", "2 phi-db/destructive"]);
      expect(f[0].message).toContain("unknown marker '-- phi-db:allow-destrutive'");
    });
  });

  describe("phi-db/rls", () => {
    it("a new table in a managed schema must enable and force RLS in the same migration", async () => {
      const f = await own(
        [
          "create table app.a (id bigint);", // 1: neither
          "create table app.b (id bigint);", // 2: enable only
          "alter table app.b enable row level security;",
          "create table tenant.c (id bigint);", // 4: both, in two statements
          "alter table tenant.c enable row level security;",
          "alter table tenant.c force row level security;",
          "create table other.d (id bigint);", // 7: unmanaged schema
          "create table app.e partition of app.parent for values in (1);", // 8: a partition is a table too
          "create table app.f as select 1 as n;", // 9: CREATE TABLE AS
          "create temporary table scratch (n int);", // 10: temp tables are session-local
          "create table loose (id bigint);", // 11: unqualified
        ].join("\n"),
      );
      expect(rules(f)).toEqual(["1 phi-db/rls", "2 phi-db/rls", "8 phi-db/rls", "9 phi-db/rls", "11 phi-db/rls"]);
      expect(f[0].message).toContain("must ENABLE and FORCE row level security");
      expect(f[1].message).toContain("must FORCE row level security");
      expect(f[4].message).toContain("unqualified");
    });

    it("refuses DISABLE / NO FORCE on a managed table, not elsewhere", async () => {
      const f = await own("alter table app.x disable row level security;\nalter table tenant.y no force row level security;\nalter table other.z disable row level security;");
      expect(rules(f)).toEqual(["1 phi-db/rls", "2 phi-db/rls"]);
    });
  });

  describe("phi-db/phi-comment", () => {
    it("every new PHI-looking column needs a 'PHI:' comment in the same migration", async () => {
      const f = await own(
        [
          "create table app.people (", // 1
          "  id bigint,",
          "  date_of_birth date,", // 3: no comment
          "  contact_email text,", // 4: comment without PHI:
          "  home_address text,", // 5: commented
          "  email_verified_at timestamptz", // 6: not PHI by name
          ");",
          "alter table app.people enable row level security, force row level security;",
          "alter table app.people add column diagnosis_code text;", // 9: added column, no comment
          "comment on column app.people.contact_email is 'Where we write to';",
          "comment on column app.people.home_address is 'PHI: street address';",
        ].join("\n"),
      );
      expect(rules(f)).toEqual(["3 phi-db/phi-comment", "4 phi-db/phi-comment", "9 phi-db/phi-comment"]);
      expect(f[0].message).toContain("comment on column app.people.date_of_birth is 'PHI: <what it holds>'");
      expect(f[1].message).toContain("does not start with 'PHI:'");
    });

    it("the phi marker makes any column PHI; not-phi exempts a name match with a reason", async () => {
      const sql = [
        "-- phi-db:phi app.readings.vitals, mood",
        "-- phi-db:not-phi app.readings.display_name a pseudonymous handle the user picks, never their name",
        "create table app.readings (id bigint, vitals jsonb, mood text, display_name text);",
        "alter table app.readings enable row level security, force row level security;",
      ].join("\n");
      const f = await own(sql);
      expect(f.map((x) => `${x.line} ${x.rule} ${x.message.split(" is PHI")[0]}`)).toEqual([
        "3 phi-db/phi-comment new column app.readings.vitals",
        "3 phi-db/phi-comment new column app.readings.mood",
      ]);
      const fixed = `${sql}\ncomment on column app.readings.vitals is 'PHI: vital signs';\ncomment on column app.readings.mood is 'PHI: self-reported mood';`;
      expect(await own(fixed)).toEqual([]);
    });

    it("a marker naming no new column is a warning (typo guard)", async () => {
      const f = await own("-- phi-db:phi app.readings.vitalz\ncreate table other.t (id bigint);");
      expect(f).toEqual([expect.objectContaining({ line: 1, rule: "phi-db/marker", severity: "warning" })]);
    });

    it("the documented name patterns", () => {
      const phi = ["ssn", "dob", "date_of_birth", "birth_date", "first_name", "last_name", "full_name", "patient_name", "email", "contact_email", "phone", "mobile_number", "fax", "address", "ip_address", "address_line1", "zip_code", "mrn", "medical_record_number", "diagnosis", "diagnosis_code", "medical_history", "insurance_member_id", "clinical_summary", "notes", "notes_encrypted", "medications", "allergies"];
      const notPhi = ["id", "created_at", "email_verified_at", "phone_verified", "status", "token_kind", "footnote_count", "organization_id", "name_format", "npi"];
      expect(phi.filter((c) => !phiPattern(c))).toEqual([]);
      expect(notPhi.filter((c) => phiPattern(c))).toEqual([]);
    });
  });

  describe("phi-db/secret", () => {
    it("flags credentials, secret-named assignments and high-entropy literals, each on its line", async () => {
      const f = await own(
        [
          "-- deploy key AKIAIOSFODNN7EXAMPLE", // 1: in a comment, still a leak
          "insert into app.integrations (name, api_key) values ('lab', 'k-12345');", // 2
          "update app.integrations set client_secret = 'shh' where name = 'lab';", // 3
          "set app.jwt_secret = 'super-secret-jwt-key';", // 4
          "create role partner login password 'Partner#2026';", // 5
          "alter table app.integrations alter column webhook_token set default 'abc';", // 6
          "select set_config('app.settings.service_token', 'x1y2', false);", // 7
          "select 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';", // 8: high entropy
          "select '-----BEGIN RSA PRIVATE KEY-----';", // 9
          "create table app.tokens (id bigint, token_kind text default 'access', token_hash bytea);", // 10: fine
          "select 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'tenant_isolation_policy_for_users';", // 11: fine
          "alter database phi set app.password = '';", // 12: empty literal, nothing to leak
        ].join("\n"),
      );
      expect(rules(f).filter((r) => r.endsWith("secret"))).toEqual(["1 phi-db/secret", "2 phi-db/secret", "3 phi-db/secret", "4 phi-db/secret", "5 phi-db/secret", "6 phi-db/secret", "7 phi-db/secret", "8 phi-db/secret", "9 phi-db/secret"]);
      expect(f.find((x) => x.line === 2)!.message).toContain("'api_key'");
      expect(f.find((x) => x.line === 8)!.message).toContain("high-entropy");
      expect(f.find((x) => x.line === 9)!.message).toContain("private key");
      // The finding never repeats the secret itself.
      expect(f.map((x) => x.message).join("\n")).not.toMatch(/Partner#2026|super-secret-jwt-key|wJalrXUtnFEMI\/K7MDENG/);
    });

    it("not-a-secret with a reason exempts the literal on its line or the next", async () => {
      const sql = "-- phi-db:not-a-secret public sha256 of the empty string, used as the chain genesis\nselect 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';\nselect 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856';";
      expect(rules(await own(sql))).toEqual(["3 phi-db/secret"]);
    });

    it("entropy separates random tokens from identifiers", () => {
      expect(looksHighEntropy("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")).toBe(true);
      expect(looksHighEntropy("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg")).toBe(true);
      expect(looksHighEntropy("appointment_reminder_template_v2")).toBe(false);
      expect(looksHighEntropy("00000000000000000000000000000000")).toBe(false);
      expect(looksHighEntropy("short1A")).toBe(false);
      expect(entropy("aaaa")).toBe(0);
      expect(entropy("abcd")).toBe(2);
    });
  });

  describe("lines", () => {
    it("are the file's lines although the parser counts UTF-8 bytes (multi-byte text before the statement)", async () => {
      const sql = [
        "-- Données de santé — naïve café ✓ 患者", // 1
        "create table app.x (id bigint);", // 2
        "alter table app.x enable row level security, force row level security;", // 3
        "comment on table app.x is 'Très important — ✓✓✓';", // 4
        "", // 5
        "/* a block comment", // 6
        "   spanning lines */ alter table app.older", // 7: the statement starts here
        "  drop column y;", // 8
        "create table app.y (", // 9
        "  id bigint,", // 10
        "  ssn text", // 11
        ");",
      ].join("\n");
      const f = await own(sql);
      expect(rules(f)).toEqual(["7 phi-db/destructive", "9 phi-db/rls", "11 phi-db/phi-comment"]);
    });

    it("a syntax error names its line and stops phi-db's rules for that file", async () => {
      const f = await own("create table app.ok (id bigint);\n-- é\ncreate tabel app.broken (id int);\n");
      expect(f).toEqual([expect.objectContaining({ line: 3, rule: "phi-db/syntax", severity: "error" })]);
    });
  });
});

describe("squawk findings", () => {
  it("come through with 1-based lines, as warnings, with the excluded rules left out", async () => {
    const sql = [
      "-- header",
      "alter table app.visits add column visit_count int;", // 2: prefer-bigint-over-int
      "create index visits_patient on app.visits (patient_id);", // 3: require-concurrent-index-creation
    ].join("\n");
    const f = await lintSql("migrations/20260101001_x.sql", sql, MANAGED);
    const squawk = f.filter((x) => x.rule.startsWith("squawk/"));
    expect(squawk).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ line: 2, rule: "squawk/prefer-bigint-over-int", severity: "warning", file: "migrations/20260101001_x.sql" }),
        expect.objectContaining({ line: 3, rule: "squawk/require-concurrent-index-creation", severity: "warning" }),
      ]),
    );
    // The migrator sets lock_timeout/statement_timeout itself, and phi-db/destructive supersedes the drop rules.
    expect(squawk.filter((x) => SQUAWK_EXCLUDED.includes(x.rule.slice("squawk/".length)))).toEqual([]);
  });

  it("treats clearly dangerous squawk rules as errors; CONCURRENTLY is fine in a no-transaction file", async () => {
    const tx = await lintSql("migrations/20260101001_x.sql", "begin;\ncreate index concurrently if not exists i on app.v (a);\ncommit;", MANAGED);
    expect(tx.filter((x) => x.severity === "error").map((x) => `${x.line} ${x.rule}`)).toEqual(
      expect.arrayContaining(["1 squawk/transaction-nesting", "2 squawk/ban-concurrent-index-creation-in-transaction", "3 squawk/transaction-nesting"]),
    );
    const noTx = await lintSql("migrations/20260101002_y.sql", "-- phi-db:no-transaction\ncreate index concurrently if not exists i on app.v (a);", { ...MANAGED, noTransaction: true });
    expect(noTx).toEqual([]);
  });

  it("lintMigrations lints each file once (squawk runs per transaction mode), in file order", async () => {
    const fx = new FixtureProject({
      "migrations/20260101001_a.sql": "alter table app.v add column n int;\n",
      "migrations/20260101002_b.sql": "-- phi-db:no-transaction\ncreate index concurrently v_n on app.v (n);\n",
      "migrations/20260101003_c.sql": "drop table app.gone;\n",
    });
    try {
      const f = await lintMigrations(fx.load("prod").migrations, MANAGED);
      expect(f.map((x) => `${x.file}:${x.line} ${x.rule}`)).toEqual([
        "migrations/20260101001_a.sql:1 squawk/prefer-bigint-over-int",
        "migrations/20260101002_b.sql:2 squawk/prefer-robust-stmts",
        "migrations/20260101003_c.sql:1 phi-db/destructive",
      ]);
    } finally {
      fx.dispose();
    }
  });
});
