/** The post-apply checks fail on what they must, naming the object, and pass on a sound schema. */
import { migrate } from "../../migrator/apply";
import { ChecksFailedError, declaredPolicies, runChecks } from "../../migrator/checks";
import { runLayer } from "../../migrator/engine";
import { createDatabase, TestDatabase } from "../support/db";
import { ctxFor, FixtureProject } from "../support/project";

let db: TestDatabase;
let fx: FixtureProject;
const base = {
  managedSchemas: ["app"],
  requiredExtensions: ["pgcrypto"],
  requestRoles: ["phi_checks_reader"],
};

beforeEach(async () => {
  db = await createDatabase("chk");
  await db.client.query(
    "do $$ begin create role phi_checks_reader nologin; exception when duplicate_object or unique_violation then null; end $$",
  );
  fx = new FixtureProject({
    "migrations/20260301001_app.sql": [
      "create extension if not exists pgcrypto;",
      "create schema app;",
      "create table app.notes (id bigint primary key, owner_id uuid not null, body text);",
      "alter table app.notes enable row level security;",
      "alter table app.notes force row level security;",
      "create policy notes_owner on app.notes for select using (owner_id = gen_random_uuid());",
      "grant usage on schema app to phi_checks_reader;",
      "create view app.notes_v with (security_invoker = true) as select id from app.notes;",
      "create function app.whoami() returns text language sql security definer set search_path = '' as 'select current_user::text';",
    ].join("\n"),
  });
});
afterEach(async () => {
  fx.dispose();
  await db.drop();
});

async function check() {
  await migrate(ctxFor(db.url), fx.load());
  return runChecks(db.client, { ...base, declaredPolicies: await declaredPolicies(fx.load()) });
}
const failures = (results: Awaited<ReturnType<typeof check>>, name: string) => results.find((r) => r.name === name)!.failures;

it("passes on a schema that follows every rule", async () => {
  const results = await check();
  expect(results.filter((r) => !r.ok)).toEqual([]);
  expect(await declaredPolicies(fx.load())).toEqual(["app.notes.notes_owner"]);
});

it("fails on a table whose RLS is enabled but not forced, and on one with no policy", async () => {
  fx.write({ "migrations/20260301002_more.sql": "create table app.loose (id int);\nalter table app.loose enable row level security;\n" });
  const results = await check();
  expect(failures(results, "rls-forced")).toEqual([expect.stringContaining("table app.loose: row-level security is not forced")]);
  expect(failures(results, "rls-has-policy")).toEqual([expect.stringContaining("table app.loose: has no policy")]);
});

it("fails on a policy that no repository file declares", async () => {
  await migrate(ctxFor(db.url), fx.load());
  await db.client.query("create policy sneaky on app.notes for select using (true)");
  const results = await runChecks(db.client, { ...base, declaredPolicies: await declaredPolicies(fx.load()) });
  expect(failures(results, "no-orphan-policy")).toEqual([expect.stringContaining("policy sneaky on app.notes: not declared by any SQL file")]);
});

it("fails on a missing extension, an unpinned SECURITY DEFINER function and a definer-rights view", async () => {
  fx.write({
    "functions/010_leaky.sql": "create or replace function app.leaky() returns int language sql security definer as 'select 1';\n",
    "views/010_bypass.sql": "create or replace view app.bypass as select id from app.notes;\n",
  });
  await migrate(ctxFor(db.url), fx.load());
  const results = await runChecks(db.client, { ...base, requiredExtensions: ["pgcrypto", "pg_trgm"], declaredPolicies: await declaredPolicies(fx.load()) });
  expect(failures(results, "extensions")).toEqual(["extension pg_trgm: required but not installed"]);
  expect(failures(results, "definer-search-path")).toEqual([expect.stringContaining("function app.leaky(): SECURITY DEFINER without a pinned search_path")]);
  expect(failures(results, "views-invoker")).toEqual([expect.stringContaining("view app.bypass: request roles can reach its schema but it is not security_invoker")]);
});

it("fails on a table privilege that no policy backs, naming the table, role and command", async () => {
  // SELECT is backed (notes_owner applies to PUBLIC); DELETE is not: row-level security would deny every row.
  fx.write({ "migrations/20260301002_grants.sql": "grant select, delete on app.notes to phi_checks_reader;\n" });
  const results = await check();
  expect(failures(results, "grant-has-policy")).toEqual([
    "table app.notes: phi_checks_reader holds DELETE but no policy lets it delete a row (revoke it in the table's policy file in sql/policies, or add the policy there)",
  ]);
  expect(failures(results, "policy-has-grant")).toEqual([]);
});

it("fails on a policy for a role that lacks the privilege, naming the table, role, command and policy", async () => {
  fx.write({ "migrations/20260301002_dead.sql": "create policy reader_update on app.notes for update to phi_checks_reader using (true) with check (true);\n" });
  const results = await check();
  expect(failures(results, "policy-has-grant")).toEqual([
    "table app.notes: phi_checks_reader lacks UPDATE although policy reader_update would let it update rows (grant it next to the policy in sql/policies, or drop the policy)",
  ]);
  expect(failures(results, "grant-has-policy")).toEqual([]);
});

it("compares grants and policies for every NOLOGIN role that may use a managed schema, not only the request roles", async () => {
  await db.client.query(
    "do $$ begin create role phi_checks_partner nologin; exception when duplicate_object or unique_violation then null; end $$",
  );
  fx.write({ "migrations/20260301002_partner.sql": "grant usage on schema app to phi_checks_partner;\ngrant insert on app.notes to phi_checks_partner;\n" });
  const results = await check();
  expect(failures(results, "grant-has-policy")).toEqual([expect.stringContaining("table app.notes: phi_checks_partner holds INSERT but no policy")]);
});

it("fails the run (after applying) when a check fails", async () => {
  fx.write({ "migrations/20260301002_more.sql": "create table app.open (id int);\n" });
  const err = await runLayer({ ...ctxFor(db.url), sqlRoot: fx.root, placeholders: {}, loadSeed: false, checks: base }).catch((e) => e);
  expect(err).toBeInstanceOf(ChecksFailedError);
  expect(err.message).toContain("[rls-forced] table app.open: row-level security is not enabled");
});

it("fails the run on a privilege without a policy, saying which", async () => {
  fx.write({ "migrations/20260301002_more.sql": "grant update on app.notes to phi_checks_reader;\n" });
  const err = await runLayer({ ...ctxFor(db.url), sqlRoot: fx.root, placeholders: {}, loadSeed: false, checks: base }).catch((e) => e);
  expect(err).toBeInstanceOf(ChecksFailedError);
  expect(err.message).toContain("[grant-has-policy] table app.notes: phi_checks_reader holds UPDATE but no policy lets it update a row");
});
