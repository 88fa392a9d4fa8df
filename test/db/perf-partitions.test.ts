/**
 * Partitions that maintain themselves (issue 7): the monthly window of every registered table exists
 * with forced RLS, the parent's policies and triggers; missing months come back (what `phi-db up`
 * and the daily job run) and pass the migrator's checks; strays in default partitions are reported;
 * retention DETACHES expired audit months into audit.log_archive with their rows intact, and an
 * archived month is dropped only with its export receipt. After every engine run, even with nothing
 * pending, app.on_schema_apply(settings) keeps the window and makes module activations and the request
 * guard's settings rows match the stack config (idempotently).
 */
import type { Client } from "pg";
import { applyPlatform } from "../support/platform";
import { createSchemaDatabase, errorOf, inTx, SchemaDatabase } from "./schema-support";

let db: SchemaDatabase;
const ORG = "d7000000-0000-4000-8000-000000000001";

beforeAll(async () => {
  db = await createSchemaDatabase("perf_parts");
  await owner((c) => c.query("insert into tenant.organizations (id, name, slug) values ($1, 'Partition Clinic', 'partition-clinic')", [ORG]));
}, 120000);
afterAll(async () => db?.drop());

const owner = <T>(fn: (c: Client) => Promise<T>) => inTx(db.client, fn);

/** First day (UTC) of the month `offset` months from now, as YYYY_MM. */
function monthSuffix(offset: number): string {
  const d = new Date();
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1));
  return `${m.getUTCFullYear()}_${String(m.getUTCMonth() + 1).padStart(2, "0")}`;
}

async function partitionFacts(rel: string) {
  const r = await db.client.query(
    `select c.relrowsecurity and c.relforcerowsecurity as forced,
            array(select polname::text from pg_policy where polrelid = c.oid order by 1) as policies,
            array(select tgname::text from pg_trigger where tgrelid = c.oid and not tgisinternal order by 1) as triggers,
            (select inhparent::regclass::text from pg_inherits where inhrelid = c.oid) as parent
       from pg_class c where c.oid = to_regclass($1)`,
    [rel],
  );
  return r.rows[0];
}

describe("partition window", () => {
  it("registers appointments (1 back, 18 ahead) and the audit log (1 back, 3 ahead, archived after retention)", async () => {
    const r = await db.client.query("select parent::text, months_back, months_ahead, retention_setting, archive_parent::text from app.partition_registry() order by 1");
    expect(r.rows).toEqual([
      { parent: "app.appointments", months_back: 1, months_ahead: 18, retention_setting: null, archive_parent: null },
      { parent: "audit.log", months_back: 1, months_ahead: 3, retention_setting: "retention.audit_years", archive_parent: "audit.log_archive" },
    ]);
  });

  it("has every month of the window, each with forced RLS, the parent's policies and statement triggers", async () => {
    const windows: Array<[string, number, number]> = [["app.appointments", 1, 18], ["audit.log", 1, 3]];
    for (const [parent, back, ahead] of windows) {
      const parentFacts = await partitionFacts(parent);
      for (let m = -back; m <= ahead; m++) {
        const facts = await partitionFacts(`${parent}_p${monthSuffix(m)}`);
        expect({ month: `${parent}_p${monthSuffix(m)}`, ...facts }).toEqual({
          month: `${parent}_p${monthSuffix(m)}`,
          forced: true,
          policies: parentFacts.policies,
          triggers: expect.arrayContaining(parent === "audit.log" ? ["refuse_mutation"] : ["audit_delete", "audit_insert", "audit_update", "set_updated_at"]),
          parent,
        });
      }
    }
  });

  it("creates missing months again (phi-db up / the daily job), idempotently, and the checks accept them", async () => {
    const far = `app.appointments_p${monthSuffix(18)}`;
    const next = `audit.log_p${monthSuffix(3)}`;
    await db.client.query(`drop table ${far}`);
    await db.client.query(`drop table ${next}`);
    const first = await owner((c) => c.query("select * from app.on_schema_apply() order by task"));
    expect(first.rows.map((r) => [r.task, r.result.split(",")[0]])).toEqual([
      ["partitions app.appointments", "1 created"],
      ["partitions audit.log", "1 created"],
    ]);
    expect((await partitionFacts(far)).forced).toBe(true);
    expect((await partitionFacts(next)).triggers).toContain("refuse_mutation");
    const again = await owner((c) => c.query("select parent, created, skipped, partitions, to_char(newest_month, 'YYYY_MM') as newest from app.maintain_partitions() order by 1"));
    expect(again.rows).toEqual([
      { parent: "app.appointments", created: 0, skipped: 0, partitions: 20, newest: monthSuffix(18) },
      { parent: "audit.log", created: 0, skipped: 0, partitions: 5, newest: monthSuffix(3) },
    ]);
    // A whole engine run over the same database: nothing pending, every check (RLS on each
    // partition, no orphan policy) passes with the re-created months.
    const run = await applyPlatform(db.url, { sqlRoot: db.sqlRoot });
    expect(run.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it("gives existing months a policy their parent gained later", async () => {
    await db.client.query("create policy perf_probe on app.appointments for select to phi_owner using (true)");
    try {
      await owner((c) => c.query("select * from app.maintain_partitions()"));
      expect((await partitionFacts(`app.appointments_p${monthSuffix(0)}`)).policies).toContain("perf_probe");
    } finally {
      await db.client.query(
        `select format('drop policy perf_probe on %s', c.oid::regclass) from pg_class c
          where exists (select from pg_policy p where p.polrelid = c.oid and p.polname = 'perf_probe')`,
      ).then(async (r) => {
        for (const row of r.rows) await db.client.query(row.format);
      });
    }
  });

  it("keeps the caller's lock_timeout", async () => {
    const r = await owner(async (c) => {
      await c.query("set local lock_timeout = '42s'");
      await c.query("select * from app.maintain_partitions()");
      return c.query("select current_setting('lock_timeout') as t");
    });
    expect(r.rows[0].t).toBe("42s");
  });
});

describe("every engine run (phi-db up), even with nothing pending", () => {
  it("re-creates a dropped future month and reports it; the next run creates nothing", async () => {
    const far = `app.appointments_p${monthSuffix(17)}`;
    await db.client.query(`drop table ${far}`);
    const run = await applyPlatform(db.url, { sqlRoot: db.sqlRoot });
    expect(run.applied).toEqual([]);
    expect(run.repeatables).toEqual([]);
    expect(run.onApply.find((r) => r.task === "partitions app.appointments")?.result).toMatch(/^1 created, 0 skipped, 20 monthly partitions, newest /);
    expect(run.onApply.find((r) => r.task === "partitions audit.log")?.result).toMatch(/^0 created/);
    expect((await partitionFacts(far)).forced).toBe(true);
    // the re-created month offers exactly its parent's table privileges (granted per table in sql/policies)
    const acl = async (t: string) =>
      (
        await db.client.query(
          `select coalesce(array_agg(pg_get_userbyid(a.grantee) || ':' || a.privilege_type order by 1), '{}') as acl
             from pg_class c, aclexplode(c.relacl) a where c.oid = $1::regclass and a.grantee <> c.relowner`,
          [t],
        )
      ).rows[0].acl;
    expect(await acl("app.appointments")).toEqual(expect.arrayContaining(["authenticated:SELECT"]));
    expect(await acl(far)).toEqual(await acl("app.appointments"));
    expect(run.checks.filter((c) => !c.ok)).toEqual([]);
    const again = await applyPlatform(db.url, { sqlRoot: db.sqlRoot });
    expect(again.onApply.map((r) => r.result.split(",")[0])).toEqual(["0 created", "0 created"]);
    // No settings given: modules and guard rows are not managed (no row about them).
    expect(again.onApply.map((r) => r.task)).toEqual(["partitions app.appointments", "partitions audit.log"]);
  }, 120000);

  it("works on a database without app.on_schema_apply: nothing is called, no error", async () => {
    const { runOnSchemaApply } = await import("../../migrator/engine");
    const rules = { allowOutOfOrder: false, allowRollback: false, lockTimeout: "5s", statementTimeout: "1min", lockWaitSeconds: 1 };
    await db.client.query("begin");
    try {
      await db.client.query("alter function app.on_schema_apply(jsonb) rename to on_schema_apply_hidden");
      // (the function returns before it would open its own transaction)
      expect(await runOnSchemaApply(db.client, { rules, settings: { modules: { ecommerce: true }, requestGuard: {} } })).toEqual([]);
    } finally {
      await db.client.query("rollback");
    }
    expect(await db.client.query("select to_regprocedure('app.on_schema_apply(jsonb)') is not null as ok").then((r) => r.rows[0].ok)).toBe(true);
  });
});

describe("stack settings: modules and request guard", () => {
  const MODS = (ecommerce: boolean) => ({ ecommerce });
  const HOURS = { timezone: "America/New_York", days: [1, 2, 3, 4, 5], start: "07:00", end: "19:00" };
  const settingsOf = (modules: Record<string, boolean>, requestGuard: Record<string, unknown>) => ({ modules, requestGuard });
  const apply = (settings: unknown) =>
    owner((c) => c.query("select task, result from app.on_schema_apply($1::jsonb) where task not like 'partitions %'", [JSON.stringify(settings)])).then((r) => r.rows);
  const insertProduct = (sku: string) =>
    owner((c) => c.query("insert into app.products (organization_id, name, sku, price) values ($1, 'Test kit', $2, 9.5)", [ORG, sku]));
  const securityRows = () =>
    owner((c) => c.query("select setting_key, setting_value, category from tenant.instance_settings where setting_key like 'security.%' order by 1")).then((r) => r.rows);

  it("modules: on activates e-commerce (writes succeed), off deactivates it (writes refused, PHM01); audited, idempotent", async () => {
    expect((await errorOf(insertProduct("KIT-0"))).code).toBe("PHM01");
    const auditRows = () => db.client.query("select count(*)::int as n from audit.log where table_name = 'instance_module_activations'").then((r) => r.rows[0].n);
    const audited = await auditRows();

    expect(await apply(settingsOf(MODS(true), {}))).toEqual(expect.arrayContaining([{ task: "module ecommerce", result: "activated" }]));
    await insertProduct("KIT-1");
    expect(await apply(settingsOf(MODS(true), {}))).toEqual(expect.arrayContaining([{ task: "module ecommerce", result: "active (unchanged)" }]));
    expect(await auditRows()).toBe(audited + 1); // the unchanged run wrote nothing

    expect(await apply(settingsOf(MODS(false), {}))).toEqual(expect.arrayContaining([{ task: "module ecommerce", result: "deactivated" }]));
    const refused = await errorOf(insertProduct("KIT-2"));
    expect(refused.code).toBe("PHM01");
    expect(refused.message).toMatch(/module "ecommerce" is not active/);
    expect(await apply(settingsOf(MODS(false), {}))).toEqual(expect.arrayContaining([{ task: "module ecommerce", result: "off (unchanged)" }]));
    expect(await auditRows()).toBe(audited + 2);
    // Switched on again: the row is reused.
    expect(await apply(settingsOf(MODS(true), {}))).toEqual(expect.arrayContaining([{ task: "module ecommerce", result: "activated" }]));
    const rows = await owner((c) => c.query("select is_active, activated_at is not null as dated from tenant.instance_module_activations where module_name = 'ecommerce'"));
    expect(rows.rows).toEqual([{ is_active: true, dated: true }]);
    await apply(settingsOf(MODS(false), {}));
  });

  it("requestGuard writes security.ip_allowlist / security.business_hours, changes them, and removing a part deletes its row", async () => {
    expect(await securityRows()).toEqual([]);
    const both = { ipAllowlist: ["10.20.0.0/16", "2001:db8::/32"], businessHours: HOURS };
    expect(await apply(settingsOf(MODS(false), both))).toEqual([
      { task: "module ecommerce", result: "off (unchanged)" },
      { task: "setting security.ip_allowlist", result: 'set ["10.20.0.0/16", "2001:db8::/32"]' },
      { task: "setting security.business_hours", result: expect.stringMatching(/^set \{/) },
    ]);
    expect(await securityRows()).toEqual([
      { setting_key: "security.business_hours", setting_value: HOURS, category: "security" },
      { setting_key: "security.ip_allowlist", setting_value: both.ipAllowlist, category: "security" },
    ]);
    // Exactly the format app.rls_request_context_allowed() reads (policies/000_rls_helpers.sql).
    expect((await apply(settingsOf(MODS(false), both))).map((r) => r.result)).toEqual(["off (unchanged)", "unchanged", "unchanged"]);

    const narrower = { ipAllowlist: ["10.20.0.0/24"], businessHours: HOURS };
    expect((await apply(settingsOf(MODS(false), narrower)))[1]).toEqual({ task: "setting security.ip_allowlist", result: 'changed to ["10.20.0.0/24"]' });

    expect((await apply(settingsOf(MODS(false), { businessHours: HOURS }))).slice(1)).toEqual([
      { task: "setting security.ip_allowlist", result: "removed" },
      { task: "setting security.business_hours", result: "unchanged" },
    ]);
    expect((await securityRows()).map((r) => r.setting_key)).toEqual(["security.business_hours"]);
    expect((await apply(settingsOf(MODS(false), {}))).slice(1).map((r) => r.result)).toEqual(["off (unchanged)", "removed"]);
    expect(await securityRows()).toEqual([]);
  });

  it("no settings (or the zero-argument call) leaves modules and guard rows alone", async () => {
    await apply(settingsOf(MODS(true), { ipAllowlist: ["10.0.0.0/8"] }));
    const tasks = await owner((c) => c.query("select task from app.on_schema_apply()")).then((r) => r.rows.map((x) => x.task));
    expect(tasks).toEqual(["partitions app.appointments", "partitions audit.log"]);
    expect(await owner((c) => c.query("select count(*)::int as n from app.on_schema_apply(null)")).then((r) => r.rows[0].n)).toBe(2);
    expect((await securityRows()).map((r) => r.setting_key)).toEqual(["security.ip_allowlist"]);
    expect(await owner((c) => c.query("select tenant.module_is_active('ecommerce') as on")).then((r) => r.rows[0].on)).toBe(true);
    await apply(settingsOf(MODS(false), {}));
  });

  it("refuses values the guard could not read (it would fail closed), and nothing of the call remains", async () => {
    const bad: Array<[unknown, RegExp]> = [
      [settingsOf(MODS(true), { ipAllowlist: ["10.20.1.0/16"] }), /invalid cidr value|has bits set/],
      [settingsOf(MODS(true), { ipAllowlist: [] }), /non-empty JSON array of CIDRs/],
      [settingsOf(MODS(true), { businessHours: { ...HOURS, timezone: "Mars/Base" } }), /time zone "Mars\/Base" not recognized/],
      [settingsOf(MODS(true), { businessHours: { ...HOURS, days: [0] } }), /businessHours must be/],
      [settingsOf(MODS(true), { businessHours: { ...HOURS, start: "19:00", end: "07:00" } }), /must be later than start/],
      [settingsOf(MODS(true), { ipAllowList: ["10.0.0.0/8"] }), /requestGuard must be a JSON object with ipAllowlist and\/or businessHours/],
      [settingsOf({ shop: true }, {}), /instance_module_activations_module_valid/],
      [settingsOf({ ecommerce: "yes" } as never, {}), /module ecommerce must be true or false/],
      ["[]", /settings must be a JSON object/],
    ];
    for (const [settings, words] of bad) {
      const e = await errorOf(apply(settings));
      expect([JSON.stringify(settings), e.message]).toEqual([JSON.stringify(settings), expect.stringMatching(words)]);
    }
    expect(await owner((c) => c.query("select tenant.module_is_active('ecommerce') as on")).then((r) => r.rows[0].on)).toBe(false);
    expect(await securityRows()).toEqual([]);
  });

  it("through the engine: a run with settings reports them after the partition lines", async () => {
    const run = await applyPlatform(db.url, { sqlRoot: db.sqlRoot, settings: { modules: { ecommerce: true }, requestGuard: { businessHours: HOURS } } });
    expect(run.onApply.map((r) => `${r.task}: ${r.result.split(" {")[0]}`).slice(2)).toEqual([
      "module ecommerce: activated",
      "setting security.ip_allowlist: off (unchanged)",
      "setting security.business_hours: set",
    ]);
    await insertProduct("KIT-ENGINE");
    const off = await applyPlatform(db.url, { sqlRoot: db.sqlRoot, settings: { modules: { ecommerce: false }, requestGuard: {} } });
    expect(off.onApply.slice(2).map((r) => r.result)).toEqual(["deactivated", "off (unchanged)", "removed"]);
    expect((await errorOf(insertProduct("KIT-ENGINE-2"))).code).toBe("PHM01");
  }, 120000);
});

describe("default partitions", () => {
  it("reports strays with count and range, in the daily job and on apply", async () => {
    const empty = await owner((c) => c.query("select parent, default_partition, rows::int from app.default_partition_rows() order by 1"));
    expect(empty.rows).toEqual([
      { parent: "app.appointments", default_partition: "app.appointments_default", rows: 0 },
      { parent: "audit.log", default_partition: "audit.log_default", rows: 0 },
    ]);
    await owner(async (c) => {
      const p = (await c.query("insert into app.providers (organization_id, first_name, last_name) values ($1, 'Stray', 'Provider') returning id", [ORG])).rows[0].id;
      const pt = (await c.query("insert into app.patients (organization_id, first_name, last_name) values ($1, 'Stray', 'Patient') returning id", [ORG])).rows[0].id;
      await c.query(
        `insert into app.appointments (organization_id, patient_id, provider_id, start_time, end_time, appointment_type)
         values ($1, $2, $3, now() + interval '4 years', now() + interval '4 years 1 hour', 'follow_up')`,
        [ORG, pt, p],
      );
    });
    const stray = await owner((c) => c.query("select rows::int, newest > now() + interval '3 years' as far from app.default_partition_rows() where parent = 'app.appointments'"));
    expect(stray.rows[0]).toEqual({ rows: 1, far: true });
    const daily = await owner((c) => c.query("select task, result from app.run_maintenance() where task like 'default partition%' order by 1"));
    expect(daily.rows.map((r) => [r.task, r.result.split(" from ")[0]])).toEqual([
      ["default partition app.appointments_default", "1 stray row(s)"],
      ["default partition audit.log_default", "empty"],
    ]);
    const onApply = await owner((c) => c.query("select task, result from app.on_schema_apply() where task like 'default%'"));
    expect(onApply.rows).toEqual([{ task: "default partition app.appointments_default", result: "1 stray row(s)" }]);
  });
});

describe("retention", () => {
  const OLD = 7 * 12; // months back: past the six-year audit retention
  const oldName = () => `audit.log_p${monthSuffix(-OLD)}`;
  const archivedName = () => `audit.log_archive_p${monthSuffix(-OLD)}`;
  const STRAY_CHAIN = "org:d7000000-0000-4000-8000-0000000000ff";

  beforeAll(async () => {
    await owner((c) => c.query("select app.create_monthly_partition('audit.log', (now() - interval '84 months')::date)"));
    // Old evidence written directly (as superuser: the trigger only writes at the current time).
    await db.client.query(
      `insert into audit.log (occurred_at, chain_id, chain_seq, operation, table_schema, table_name, row_id, prev_hash, row_hash)
       select (date_trunc('month', (now() - interval '84 months') at time zone 'UTC') + interval '2 days') at time zone 'UTC' + g * interval '1 minute',
              $1, g, 'INSERT', 'app', 'patients', gen_random_uuid()::text, sha256(('p' || g)::bytea), sha256(('r' || g)::bytea)
         from generate_series(1, 3) g`,
      [STRAY_CHAIN],
    );
  });

  it("lists expired months in a dry run and changes nothing", async () => {
    const dry = await owner((c) => c.query("select parent, partition_name, archived_as, rows::int from app.detach_expired_partitions(true)"));
    expect(dry.rows).toEqual([{ parent: "audit.log", partition_name: oldName(), archived_as: archivedName(), rows: 3 }]);
    expect((await partitionFacts(oldName())).parent).toBe("audit.log");
    const purgeDry = await owner((c) => c.query("select rows_affected::int as n from app.purge_expired_data(true) where item = 'audit.log (partitions)'"));
    expect(purgeDry.rows[0].n).toBe(1);
  });

  it("detaches expired months into audit.log_archive with every row and hash, read-only and append-only", async () => {
    const before = await db.client.query(`select array_agg(row_hash order by chain_seq) as h from ${oldName()}`);
    const run = await owner((c) => c.query("select task, result from app.run_maintenance() where task = 'purge audit.log (partitions)'"));
    expect(run.rows[0].result).toBe("1 detached into audit.log_archive");

    expect(await db.client.query("select to_regclass($1) as r", [oldName()]).then((r) => r.rows[0].r)).toBeNull();
    const facts = await partitionFacts(archivedName());
    expect(facts).toEqual({ forced: true, policies: ["auditor_read", "baseline_deny_all", "owner_read"], triggers: ["refuse_mutation"], parent: "audit.log_archive" });
    const after = await db.client.query(`select array_agg(row_hash order by chain_seq) as h from ${archivedName()}`);
    expect(after.rows[0].h).toEqual(before.rows[0].h);
    const live = await db.client.query("select count(*)::int as n from audit.log where chain_id = $1", [STRAY_CHAIN]);
    expect(live.rows[0].n).toBe(0);
    const archived = await owner((c) => c.query("select count(*)::int as n from audit.log_archive where chain_id = $1", [STRAY_CHAIN]));
    expect(archived.rows[0].n).toBe(3);

    expect((await errorOf(db.client.query(`truncate ${archivedName()}`))).code).toBe("PHA01");
    expect((await errorOf(db.client.query("delete from audit.log_archive"))).code).toBe("PHA01");
    const insert = await errorOf(owner((c) => c.query(`insert into audit.log_archive select * from ${archivedName()} limit 1`)));
    expect(insert.code).toBe("42501"); // no insert policy, even for the owner

    const event = await db.client.query(
      "select details -> 'partitions' -> 0 ->> 'archived_as' as archived, (details -> 'partitions' -> 0 ->> 'rows')::int as rows from audit.security_events where details ->> 'action' = 'partitions_detached_to_archive'",
    );
    expect(event.rows).toEqual([{ archived: archivedName(), rows: 3 }]);
    // The live chains verify; the checks accept the archived month (policies of its new root).
    const chains = await db.client.query("select count(*)::int as bad from audit.verify_chain() where not valid");
    expect(chains.rows[0].bad).toBe(0);
    const check = await applyPlatform(db.url, { sqlRoot: db.sqlRoot });
    expect(check.checks.filter((c) => !c.ok)).toEqual([]);
    // Nothing left to detach.
    const dry = await owner((c) => c.query("select count(*)::int as n from app.detach_expired_partitions(true)"));
    expect(dry.rows[0].n).toBe(0);
  });

  it("drops an archived month only with the export receipt (s3 URI and matching row count)", async () => {
    const release = (uri: string, rows: number, rel = archivedName()) =>
      owner((c) => c.query("select audit.release_archived_partition($1::regclass, $2, $3) as n", [rel, uri, rows]));
    const uri = `s3://phi-db-audit-export-dev/audit-log/${monthSuffix(-OLD)}.csv.gz`;
    expect((await errorOf(release(uri, 2))).message).toMatch(/holds 2 rows but the partition has 3/);
    expect((await errorOf(release("/tmp/export.csv", 3))).message).toMatch(/s3:\/\//);
    expect((await errorOf(release(uri, 0, `audit.log_p${monthSuffix(0)}`))).message).toMatch(/not an archived audit partition/);
    expect(await db.client.query("select to_regclass($1) is not null as ok", [archivedName()]).then((r) => r.rows[0].ok)).toBe(true);

    const done = await release(uri, 3);
    expect(Number(done.rows[0].n)).toBe(3);
    expect(await db.client.query("select to_regclass($1) as r", [archivedName()]).then((r) => r.rows[0].r)).toBeNull();
    const event = await db.client.query(
      "select severity, details ->> 'export_uri' as uri, (details ->> 'rows')::int as rows from audit.security_events where details ->> 'action' = 'archived_partition_released'",
    );
    expect(event.rows).toEqual([{ severity: "warning", uri, rows: 3 }]);
  });
});
