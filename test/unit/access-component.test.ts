/**
 * components/access.ts under Pulumi mocks: the @pulumi/postgresql resources match the access model
 * exactly (every role, schema, extension, grant and default privilege; nothing more), the provider
 * connects safely, and passwords are secrets kept in Secrets Manager.
 *
 * Expectations are derived here from the model, not from the component's own helpers.
 */
import * as pulumi from "@pulumi/pulumi";
import { AccessModel, loadAccessModel } from "../../migrator/access-model";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** `urn::id` of the explicit provider, if any. */
  provider?: string;
}

const registered: Registered[] = [];
const SIG = pulumi.runtime.specialSigKey;
const SECRET = pulumi.runtime.specialSecretSig;
const isSecret = (v: unknown) => typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG] === SECRET;
const unwrap = (v: unknown): unknown => (isSecret(v) ? unwrap((v as { value: unknown }).value) : v);

pulumi.runtime.setMocks(
  {
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
      const state: Record<string, unknown> = { ...args.inputs, arn: `arn:aws:mock:::${args.name}` };
      if (args.type === "random:index/randomPassword:RandomPassword") state.result = pulumi.secret(`pw-${args.name}`);
      return { id: `${args.name}-id`, state };
    },
    call: (args) =>
      // A login secret as the rotation left it: its current password is not the RandomPassword.
      args.token === "aws:secretsmanager/getSecretVersion:getSecretVersion"
        ? { ...args.inputs, secretString: JSON.stringify({ engine: "postgres", username: "x", password: `rotated-${args.inputs.secretId}`, ssl: true }) }
        : args.inputs,
  },
  "phi-db",
  "dev",
  false,
);

// Imported after the mocks are in place.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { AccessModelComponent } = require("../../components/access") as typeof import("../../components/access");

const whenDone = (r: pulumi.Resource) => new Promise((resolve) => r.urn.apply(resolve));

async function build(name: string, extra: Partial<import("../../components/access").AccessModelArgs> = {}) {
  const c = new AccessModelComponent(name, {
    host: "phi-dev.cmock.us-east-1.rds.amazonaws.com",
    databaseName: "phi",
    masterUsername: "phi_admin",
    masterPassword: "master-secret",
    sslRootCert: "/etc/phi-db/rds-global-bundle.pem",
    secretsKmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/secrets",
    ...extra,
  });
  const logins = Object.values(c.logins).flatMap((l) => [l.password, l.secret, l.version]);
  await Promise.all([c, c.provider, ...c.ready, ...logins].map(whenDone));
  const mine = registered.filter((r) => r.name.startsWith(`${name}-`) || r.name === name);
  return { c, mine, of: (type: string) => mine.filter((r) => r.type === type) };
}

const T = {
  role: "postgresql:index/role:Role",
  schema: "postgresql:index/schema:Schema",
  extension: "postgresql:index/extension:Extension",
  grant: "postgresql:index/grant:Grant",
  defaults: "postgresql:index/defaultPrivileges:DefaultPrivileges",
  grantRole: "postgresql:index/grantRole:GrantRole",
  provider: "pulumi:providers:postgresql",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  password: "random:index/randomPassword:RandomPassword",
};

const OBJECT_TYPE = { tables: "table", sequences: "sequence", functions: "function" } as const;
const key = (g: Record<string, any>) => // eslint-disable-line @typescript-eslint/no-explicit-any
  `${g.role} ${g.objectType} ${g.schema ?? "-"}${g.owner ? " owner=" + g.owner : ""}: ${[...(unwrap(g.privileges) as string[])].sort().join(",")}`;

/** The Grant and DefaultPrivileges resources the model calls for, as comparable strings. */
function expectedGrants(model: AccessModel): { grants: string[]; defaults: string[] } {
  const extSchemas = new Set(model.extensions.map((e) => e.schema).filter(Boolean));
  const grants = [
    key({ role: "public", objectType: "database", privileges: [] }),
    key({ role: "public", objectType: "schema", schema: "public", privileges: [] }),
    ...model.database.map((d) => key({ role: d.role, objectType: "database", privileges: d.privileges })),
    ...model.schemas.map((s) =>
      extSchemas.has(s.name)
        ? key({ role: "public", objectType: "table", schema: s.name, privileges: [] })
        : key({ role: "public", objectType: "function", schema: s.name, privileges: [] }),
    ),
    ...model.grants.flatMap((g) => [
      ...(g.schemaPrivileges.length ? [key({ role: g.role, objectType: "schema", schema: g.schema, privileges: g.schemaPrivileges })] : []),
      ...(["tables", "sequences", "functions"] as const)
        .filter((k) => g[k].length)
        .map((k) => key({ role: g.role, objectType: OBJECT_TYPE[k], schema: g.schema, privileges: g[k] })),
    ]),
  ].sort();
  const defaults = [
    key({ role: "public", objectType: "function", owner: model.owner, privileges: [] }),
    ...model.grants.flatMap((g) =>
      (["tables", "sequences", "functions"] as const)
        .filter((k) => g[k].length)
        .map((k) => key({ role: g.role, objectType: OBJECT_TYPE[k], schema: g.schema, owner: model.owner, privileges: g[k] })),
    ),
  ].sort();
  return { grants, defaults };
}

describe("AccessModel component (phi-db:access:AccessModel) under mocks", () => {
  const model = loadAccessModel();
  let run: Awaited<ReturnType<typeof build>>;
  beforeAll(async () => {
    run = await build("access");
  });

  it("registers the component with its type token", () => {
    expect(registered.find((r) => r.name === "access")?.type).toBe("phi-db:access:AccessModel");
  });

  it("creates exactly one Role per model role, with the model's attributes and memberships (rds_iam for IAM logins)", () => {
    const roles = run.of(T.role);
    expect(roles.map((r) => r.inputs.name).sort()).toEqual(model.roles.map((r) => r.name).sort());
    for (const r of model.roles) {
      const res = roles.find((x) => x.inputs.name === r.name)!;
      expect({ role: r.name, ...res.inputs, password: undefined }).toEqual({
        role: r.name,
        name: r.name,
        login: r.login,
        inherit: r.inherit,
        bypassRowLevelSecurity: r.bypassRls,
        superuser: false,
        createDatabase: false,
        createRole: false,
        replication: false,
        connectionLimit: r.connectionLimit,
        roles: [...r.memberOf, ...(r.auth === "rds_iam" ? ["rds_iam"] : [])],
        skipReassignOwned: true,
        password: undefined,
      });
      // A password exactly for password logins, and always as a secret.
      expect({ role: r.name, hasPassword: "password" in res.inputs }).toEqual({ role: r.name, hasPassword: r.auth === "password" });
      if (r.auth === "password") expect(isSecret(res.inputs.password)).toBe(true);
    }
    expect(roles.filter((r) => r.inputs.bypassRowLevelSecurity)).toEqual([]);
    expect(run.of(T.grantRole)).toEqual([]); // memberships live on the Role (see the component's header)
  });

  it("creates exactly the model's schemas, owned by the owner role", () => {
    const schemas = run.of(T.schema).map((s) => s.inputs);
    expect(schemas.map((s) => s.name).sort()).toEqual(model.schemas.map((s) => s.name).sort());
    for (const s of schemas) expect(s).toMatchObject({ owner: model.owner, database: "phi", dropCascade: false });
  });

  it("creates exactly the model's extensions in the model's schemas", () => {
    const ext = run.of(T.extension).map((e) => ({ name: e.inputs.name, schema: e.inputs.schema ?? null }));
    expect(ext.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      model.extensions.map((e) => ({ name: e.name, schema: e.schema })).sort((a, b) => a.name.localeCompare(b.name)),
    );
    for (const e of run.of(T.extension)) expect(e.inputs).toMatchObject({ database: "phi", dropCascade: false });
  });

  it("creates exactly the model's grants and default privileges, and PUBLIC's revocations, nothing else", () => {
    const want = expectedGrants(model);
    expect(run.of(T.grant).map((g) => key(g.inputs)).sort()).toEqual(want.grants);
    expect(run.of(T.defaults).map((g) => key(g.inputs)).sort()).toEqual(want.defaults);
    for (const g of [...run.of(T.grant), ...run.of(T.defaults)]) {
      expect(g.inputs.database).toBe("phi");
      expect(g.inputs.withGrantOption).toBeUndefined();
    }
    // Zero-knowledge: nothing in schema app for service_role; anon has no table anywhere.
    expect(run.of(T.grant).filter((g) => g.inputs.role === "service_role" && g.inputs.schema === "app")).toEqual([]);
    expect(run.of(T.grant).filter((g) => g.inputs.role === "anon" && g.inputs.objectType === "table")).toEqual([]);
  });

  it("makes no table Grant or DefaultPrivileges in an RLS-managed schema (the policy files grant tables there, next to the policies)", () => {
    const rls = model.schemas.filter((s) => s.rls).map((s) => s.name);
    const tableResources = [...run.of(T.grant), ...run.of(T.defaults)].filter((g) => g.inputs.objectType === "table" && g.inputs.role !== "public");
    expect(tableResources.filter((g) => rls.includes(g.inputs.schema)).map((g) => g.name)).toEqual([]);
    // A Grant on ALL TABLES IN SCHEMA would revoke the policy files' per-table grants on every update: only the ledger has one.
    expect(tableResources.map((g) => key(g.inputs)).sort()).toEqual([
      key({ role: "auditor", objectType: "table", schema: "phi_ledger", privileges: ["SELECT"] }),
      key({ role: "auditor", objectType: "table", schema: "phi_ledger", owner: model.owner, privileges: ["SELECT"] }),
    ].sort());
  });

  it("declares schema analytics_private, owned by the owner, and grants nobody anything in it", () => {
    const s = run.of(T.schema).find((x) => x.inputs.name === "analytics_private");
    expect(s?.inputs).toMatchObject({ owner: model.owner, ifNotExists: true, dropCascade: false });
    const inIt = [...run.of(T.grant), ...run.of(T.defaults)].filter((g) => g.inputs.schema === "analytics_private").map((g) => key(g.inputs));
    expect(inIt).toEqual([key({ role: "public", objectType: "function", schema: "analytics_private", privileges: [] })]);
  });

  it("exposes every database resource in `ready`, so the schema resource can depend on all of it", () => {
    const pgTypes = [T.role, T.schema, T.extension, T.grant, T.defaults];
    expect(run.c.ready.length).toBe(run.mine.filter((r) => pgTypes.includes(r.type)).length);
    expect(run.c.rlsSchemas).toEqual(["auth", "tenant", "app", "storage_meta", "cache", "logs", "audit", "analytics"]);
  });

  it("connects as the master user, not as a superuser, verifying the server certificate against the RDS CA bundle", () => {
    const [p] = run.of(T.provider);
    expect(p.name).toBe("access-provider");
    const inputs = Object.fromEntries(Object.entries(p.inputs).map(([k, v]) => [k, unwrap(v)]));
    expect(inputs).toMatchObject({
      host: "phi-dev.cmock.us-east-1.rds.amazonaws.com",
      database: "phi",
      username: "phi_admin",
      sslmode: "verify-full",
      sslrootcert: "/etc/phi-db/rds-global-bundle.pem",
    });
    expect(String(inputs.superuser)).toBe("false");
    expect(String(inputs.port)).toBe("5432");
    expect(isSecret(p.inputs.password)).toBe(true);
    // Every database resource goes through this provider (never a default provider from ambient config).
    const pgResources = run.mine.filter((x) => x.type.startsWith("postgresql:"));
    expect(pgResources.length).toBeGreaterThan(50);
    for (const r of pgResources) expect({ name: r.name, provider: r.provider?.split("::")[3] }).toEqual({ name: r.name, provider: "access-provider" });
  });

  it("keeps each login password as a RandomPassword secret in a KMS-encrypted Secrets Manager secret", async () => {
    const logins = model.roles.filter((r) => r.auth === "password").map((r) => r.name);
    expect(Object.keys(run.c.logins).sort()).toEqual([...logins].sort());
    expect(run.of(T.password).map((p) => p.name).sort()).toEqual(logins.map((l) => `access-${l}-password`).sort());
    for (const p of run.of(T.password)) expect(p.inputs.length).toBeGreaterThanOrEqual(32);
    const secrets = run.of(T.secret);
    expect(secrets.map((s) => s.inputs.name).sort()).toEqual(logins.map((l) => `phi-db/dev/${l}`).sort());
    for (const s of secrets) expect(s.inputs).toMatchObject({ kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/secrets", recoveryWindowInDays: 30 });
    const versions = run.of(T.secretVersion);
    expect(versions).toHaveLength(logins.length);
    for (const v of versions) {
      expect(isSecret(v.inputs.secretString)).toBe(true);
      const doc = JSON.parse(unwrap(v.inputs.secretString) as string);
      expect(logins).toContain(doc.username);
      // the layout the rotation function reads; ssl: true so it never tries a connection without TLS
      expect(doc).toEqual({ engine: "postgres", host: "phi-dev.cmock.us-east-1.rds.amazonaws.com", port: 5432, dbname: "phi", username: doc.username, password: `pw-access-${doc.username}-password`, ssl: true });
    }
    for (const l of Object.values(run.c.logins)) expect(await pulumi.isSecret(l.password.result)).toBe(true);
    // No IAM login gets a password or a secret.
    expect(secrets.map((s) => s.inputs.name)).not.toContain("phi-db/dev/phi_app");
  });

  it("currentPassword reads what the login's secret holds now (after a rotation), as a secret; only for password logins", async () => {
    const current = run.c.currentPassword("phi_migrator");
    expect(await pulumi.isSecret(current)).toBe(true);
    const value = await new Promise<string>((resolve) => current.apply(resolve));
    expect(value).toBe("rotated-arn:aws:mock:::access-phi_migrator-secret");
    expect(value).not.toBe("pw-access-phi_migrator-password");
    expect(() => run.c.currentPassword("phi_app")).toThrow('"phi_app" is not a password login of the model');
  });

  it("dials the endpoint override (tunnel) but keeps the real endpoint in the secrets; verify-ca when asked", async () => {
    const t = await build("tunnel", { endpointOverride: { host: "127.0.0.1", port: 15432 }, sslmode: "verify-ca", rdsIam: false, skipExtensions: ["pg_cron"] });
    const p = t.of(T.provider)[0].inputs;
    expect(unwrap(p.host)).toBe("127.0.0.1");
    expect(String(unwrap(p.port))).toBe("15432");
    expect(unwrap(p.sslmode)).toBe("verify-ca");
    const doc = JSON.parse(unwrap(t.of(T.secretVersion)[0].inputs.secretString) as string);
    expect(doc).toMatchObject({ host: "phi-dev.cmock.us-east-1.rds.amazonaws.com", port: 5432 });
    // rdsIam: false -> no rds_iam membership; skipExtensions -> no pg_cron.
    expect(t.of(T.role).find((r) => r.inputs.name === "phi_app")!.inputs.roles).toEqual(["anon", "authenticated", "service_role"]);
    expect(t.of(T.extension).map((e) => e.inputs.name)).not.toContain("pg_cron");
    expect(t.of(T.extension)).toHaveLength(model.extensions.length - 1);
  });

  it("refuses a weaker sslmode, an unknown skipped extension, and an invalid model before creating anything", () => {
    const base = {
      host: "h",
      databaseName: "phi",
      masterUsername: "u",
      masterPassword: "p",
      sslRootCert: "/ca.pem",
      secretsKmsKeyId: "k",
    };
    const before = registered.length;
    expect(() => new AccessModelComponent("bad1", { ...base, sslmode: "require" as "verify-ca" })).toThrow("sslmode must be verify-full or verify-ca");
    expect(() => new AccessModelComponent("bad2", { ...base, skipExtensions: ["postgis"] })).toThrow(`skipExtensions names "postgis"`);
    const broken = { ...model, grants: [...model.grants, { ...model.grants[0], role: "nobody" }] };
    expect(() => new AccessModelComponent("bad3", { ...base, model: broken })).toThrow(/AccessModelError|unknown role "nobody"/);
    expect(registered.slice(before).filter((r) => r.type !== "phi-db:access:AccessModel")).toEqual([]);
  });
});
