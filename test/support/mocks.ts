/**
 * Runs the Pulumi program (index.ts, or any program module) under `pulumi.runtime.setMocks` for a
 * given stack configuration and returns every registered resource and the stack outputs.
 *
 *   const run = await runProgram("prod");                 // reads Pulumi.prod.yaml
 *   const run = await runProgram("dev", { overrides: { "phi-db:multiAz": true } });
 *   const run = await runProgram({ stack: "x", config: { "phi-db:environment": "staging", ... } });
 *   run.ofType("aws:rds/instance:Instance")[0].inputs.storageEncrypted
 *
 * Each run loads the program and the Pulumi SDK in a fresh module registry
 * (`jest.isolateModulesAsync`) and resets the SDK's global runtime state first, so several runs in
 * one test file (dev, then prod) share nothing. Config values are handed over the way the engine
 * does: scalars as strings, lists and maps as JSON strings.
 *
 * Secrets: a resource input that was a Pulumi secret is unwrapped in `inputs` and its top-level
 * name listed in `secretInputs`; `rawInputs` keeps the secret wrappers. Outputs likewise
 * (`outputs`, `secretOutputs`).
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { InfraConfig, parseStackConfig } from "../../components/config";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Signature of a serialized secret (`pulumi.runtime.specialSigKey` / `specialSecretSig`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface MockedResource {
  /** Type token, e.g. `aws:rds/instance:Instance`, `pulumi:providers:aws`, `phi-db:keys:Keys`. */
  type: string;
  /** Logical name. */
  name: string;
  /** Inputs with secret wrappers removed. */
  inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Inputs as the engine received them (secret values wrapped). */
  rawInputs: Record<string, unknown>;
  /** Top-level input names whose value was (or contained) a secret. */
  secretInputs: string[];
  /** `urn::id` reference of the provider that manages the resource, when explicit. */
  provider?: string;
  /** Logical name of that provider (e.g. `aws-dr`), parsed from the reference. */
  providerName?: string;
  custom: boolean;
  id: string;
  /** State the mock returned (inputs plus computed fields). */
  state: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * Resource options as the engine received them (the RegisterResource request, after the SDK applied
   * parent inheritance): `protect` is undefined when the request left it unset.
   */
  options: MockedResourceOptions;
}

/** Resource options of a registration, read from the RegisterResource request the mock monitor got. */
export interface MockedResourceOptions {
  /** Pulumi `protect`; undefined when the program left it unset (the engine then treats it as false). */
  protect?: boolean;
  /** urn of the parent resource ("" for none). */
  parent: string;
  retainOnDelete?: boolean;
  /** urns the resource depends on (explicit dependsOn plus the inputs' dependencies). */
  dependencies: string[];
  /** Input property -> urns of the resources its value came from. */
  propertyDependencies: Record<string, string[]>;
}

export interface MockedCall {
  token: string;
  inputs: Record<string, unknown>;
  provider?: string;
}

export interface ProgramRun {
  stack: string;
  /** The config map handed to the program (`phi-db:key` -> string). */
  config: Record<string, string>;
  resources: MockedResource[];
  calls: MockedCall[];
  /** Stack outputs (module exports), resolved, secrets unwrapped; undefined exports are omitted. */
  outputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Names of outputs that are Pulumi secrets. */
  secretOutputs: string[];
  /** Resources of one type token. */
  ofType(type: string): MockedResource[];
  /** The one resource of `type` whose logical name is `name` (or ends with it); throws otherwise. */
  get(type: string, name: string | RegExp): MockedResource;
}

export type StackSelector = string | { stack?: string; config: Record<string, unknown> };

export interface RunOptions {
  /** Extra / replacement config keys (YAML-like values), applied over the stack file. */
  overrides?: Record<string, unknown>;
  /** Program module to import. Defaults to the repository's index.ts. */
  program?: string;
  /** Run as a preview (unknown values stay unknown). Defaults to false. */
  preview?: boolean;
  /** Project name. Defaults to phi-db. */
  project?: string;
  /** Replace the computed state of a resource (return undefined to keep the default). */
  state?: (r: { type: string; name: string; inputs: Record<string, unknown> }) => Record<string, unknown> | undefined;
  /**
   * Runs `load` (which requires the SDK and the program) in a fresh module registry. Defaults to
   * `jest.isolateModulesAsync`; outside jest pass `(load) => load()` in a process of its own.
   */
  isolate?: (load: () => Promise<void>) => Promise<void>;
}

/** `type::name` of a mock urn (`urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`), to compare dependencies and parents. */
export const urnKey = (urn: string): string => {
  const parts = urn.split("::");
  return `${parts[2].split("$").pop()}::${parts[3]}`;
};

/** Mock AWS account used for ARNs when the config names none. */
export const MOCK_ACCOUNT = "123456789012";

/**
 * The password the mocked RDS-managed master secret holds: `aws.secretsmanager.getSecretVersion`
 * returns it (as Secrets Manager would, `{"username": …, "password": …}`), so a test can search state
 * and outputs for it.
 */
export const MOCK_MANAGED_MASTER_PASSWORD = "mock-rds-managed-master-password-Qq7-_";

/**
 * The password a mocked login secret holds now (what `aws.secretsmanager.getSecretVersion` returns for
 * a secret that is not the RDS-managed one): as if the rotation function had changed it since the
 * secret's first version, so a test can tell "read from the secret" from "the initial RandomPassword".
 */
export function mockCurrentLoginPassword(secretArn: string): string {
  return `mock-rotated-${secretArn.split(":").pop()}-Ww3-_`;
}

/** The ARN the mocked RDS instance reports for its managed master secret. */
export function mockManagedSecretArn(region: string, account: string, identifier: string): string {
  return `arn:aws:secretsmanager:${region}:${account}:secret:rds!db-${identifier}-AbCdEf`;
}

/** Reads `Pulumi.<stack>.yaml` and returns its `config:` map as raw YAML values. */
export function readStackFile(stack: string, root = REPO_ROOT): Record<string, unknown> {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  return { ...(doc?.config ?? {}) };
}

/** YAML values -> the strings the engine hands to a program (lists/maps as JSON). */
export function toEngineConfig(raw: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || v === null) continue;
    out[k] = typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  return out;
}

export function isSecretWrapper(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Removes secret wrappers anywhere in a value; `found.secret` tells whether any was seen. */
export function unwrapSecrets(v: unknown, found: { secret: boolean } = { secret: false }): unknown {
  if (isSecretWrapper(v)) {
    found.secret = true;
    return unwrapSecrets(v.value, found);
  }
  if (Array.isArray(v)) return v.map((x) => unwrapSecrets(x, found));
  if (v && typeof v === "object" && !(v instanceof Date)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = unwrapSecrets(x, found);
    return o;
  }
  return v;
}

function arnFor(type: string, name: string, inputs: Record<string, any>, region: string, account: string): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const [pkg, mod] = type.split(":");
  const service = (mod ?? "").split("/")[0] || pkg;
  if (service === "s3") return `arn:aws:s3:::${inputs.bucket ?? (inputs.bucketPrefix ?? name + "-") + "mock"}`;
  if (service === "iam") return `arn:aws:iam::${account}:role/${inputs.name ?? name}`;
  const r = (inputs.region as string) ?? region;
  if (type === "aws:rds/instance:Instance") return `arn:aws:rds:${r}:${account}:db:${inputs.identifier ?? name}`;
  if (type === "aws:kms/key:Key") return `arn:aws:kms:${r}:${account}:key/${name}-key-id`;
  if (type === "aws:sns/topic:Topic") return `arn:aws:sns:${r}:${account}:${inputs.name ?? name}`;
  return `arn:aws:${service}:${r}:${account}:${name}`;
}

function providerRegions(resources: MockedResource[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of resources) if (r.type === "pulumi:providers:aws" && typeof r.inputs.region === "string") m.set(r.name, r.inputs.region);
  return m;
}

/** Computed state for a resource: inputs plus the fields the program reads back. */
function mockState(type: string, name: string, inputs: Record<string, any>, region: string, account: string): Record<string, unknown> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const arn = arnFor(type, name, inputs, region, account);
  const base: Record<string, unknown> = { ...inputs, arn, name: inputs.name ?? `${name}-mock`, id: `${name}-id` };
  switch (type) {
    case "aws:rds/instance:Instance": {
      const address = `${inputs.identifier ?? name}.cmock0example.${region}.rds.amazonaws.com`;
      const port = inputs.port ?? 5432;
      // With manageMasterUserPassword RDS creates the master secret (under the given key, else aws/secretsmanager).
      const masterUserSecrets = inputs.manageMasterUserPassword
        ? [{ secretArn: mockManagedSecretArn(region, account, inputs.identifier ?? name), kmsKeyId: inputs.masterUserSecretKmsKeyId ?? "alias/aws/secretsmanager", secretStatus: "active" }]
        : [];
      return { ...base, address, port, endpoint: `${address}:${port}`, resourceId: `db-MOCK${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`, masterUserSecrets };
    }
    case "aws:kms/key:Key":
      return { ...base, keyId: `${name}-key-id` };
    case "aws:s3/bucket:Bucket": {
      const bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? name + "-"}mock`;
      return { ...base, bucket, arn: `arn:aws:s3:::${bucket}` };
    }
    case "random:index/randomPassword:RandomPassword":
      return { ...base, result: `mock-password-${name}-Zz9-_`, bcryptHash: "mock-bcrypt" };
    case "random:index/randomId:RandomId":
      return { ...base, hex: "0a1b2c3d", b64Url: "ChssPQ", dec: "169552957" };
    case "aws:backup/vault:Vault":
      return { ...base, name: inputs.name ?? `${name}-mock` };
    case "aws:serverlessrepository/cloudFormationStack:CloudFormationStack":
      // The rotation applications' one output (the function the template creates, named by the parameter).
      return { ...base, outputs: { RotationLambdaARN: `arn:aws:lambda:${region}:${account}:function:${inputs.parameters?.functionName ?? name}` } };
    default:
      return base;
  }
}

/** The parts of a RegisterResourceRequest read here (generated protobuf accessors). */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  hasProtect?(): boolean;
  getProtect(): boolean;
  getRetainondelete?(): boolean;
  hasRetainondelete?(): boolean;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(f: (v: { getUrnsList(): string[] }, k: string) => void): void };
}

/**
 * Wraps the mock monitor's registerResource so the resource options the engine would receive
 * (protect, parent, dependencies) are recorded per `type::name` before the mock's newResource runs.
 */
function captureRequestOptions(pulumi: typeof import("@pulumi/pulumi"), into: Map<string, MockedResourceOptions[]>): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: RegisterRequest, cb: unknown) => unknown } | undefined;
  if (!monitor) throw new Error("mocks: no monitor after setMocks");
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: RegisterRequest, cb: unknown) => {
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((v, k) => (propertyDependencies[k] = v.getUrnsList()));
    const o: MockedResourceOptions = {
      protect: req.hasProtect?.() ? req.getProtect() : undefined,
      parent: req.getParent(),
      retainOnDelete: req.hasRetainondelete?.() ? req.getRetainondelete?.() : undefined,
      dependencies: req.getDependenciesList(),
      propertyDependencies,
    };
    const key = `${req.getType()}::${req.getName()}`;
    into.set(key, [...(into.get(key) ?? []), o]);
    return original(req, cb);
  };
}

/**
 * Runs the program for a stack and collects what it registered.
 * @param stack  "dev" | "prod" | "local" (reads Pulumi.<stack>.yaml) or `{ stack, config }`.
 */
export async function runProgram(stack: StackSelector, options: RunOptions = {}): Promise<ProgramRun> {
  const stackName = typeof stack === "string" ? stack : (stack.stack ?? "test");
  const raw = { ...(typeof stack === "string" ? readStackFile(stack) : stack.config), ...(options.overrides ?? {}) };
  for (const [k, v] of Object.entries(options.overrides ?? {})) if (v === undefined) delete raw[k];
  const config = toEngineConfig(raw);
  const region = config["phi-db:region"] ?? "us-east-1";
  const account = config["phi-db:accountId"] ?? MOCK_ACCOUNT;
  const program = options.program ?? path.join(REPO_ROOT, "index.ts");

  const resources: MockedResource[] = [];
  const calls: MockedCall[] = [];
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];

  // The SDK keeps its runtime state (monitor, config, stack resource, pending RPCs) on `global`;
  // drop it so this run starts from nothing, whatever ran before in this test file.
  (global as Record<string, unknown>).globalStore = undefined;

  // Each SDK copy registers process exit hooks (leak reports); remove this run's when it is done.
  const hooks = ["exit", "beforeExit"];
  const listeners = (h: string) => process.listeners(h as "exit") as Array<(...a: unknown[]) => void>;
  const before = new Map(hooks.map((h) => [h, new Set(listeners(h))]));

  let failure: unknown;
  const isolate = options.isolate ?? ((load: () => Promise<void>) => jest.isolateModulesAsync(load));
  // Options of each registration, read from the request before the mock's newResource sees it.
  const requestOptions = new Map<string, MockedResourceOptions[]>();
  await isolate(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    await pulumi.runtime.setMocks(
      {
        newResource(args) {
          const found = { secret: false };
          const secretInputs: string[] = [];
          const inputs: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(args.inputs ?? {})) {
            const f = { secret: false };
            inputs[k] = unwrapSecrets(v, f);
            if (f.secret) secretInputs.push(k);
            found.secret ||= f.secret;
          }
          const providerName = args.provider ? args.provider.split("::")[3]?.split("::")[0] : undefined;
          const regionOf = providerName ? providerRegions(resources).get(providerName) : undefined;
          const computed = options.state?.({ type: args.type, name: args.name, inputs }) ?? mockState(args.type, args.name, inputs, regionOf ?? region, account);
          // Like AWS: a bucket's id is its name; everything else gets a readable fake id.
          const id = args.id || (args.type === "aws:s3/bucket:Bucket" ? String(computed.bucket) : `${args.name}-id`);
          const queued = requestOptions.get(`${args.type}::${args.name}`);
          const captured = queued?.shift() ?? { parent: "", dependencies: [], propertyDependencies: {} };
          resources.push({
            type: args.type,
            name: args.name,
            inputs,
            rawInputs: args.inputs ?? {},
            secretInputs,
            provider: args.provider,
            providerName,
            custom: args.custom ?? true,
            id,
            state: computed,
            options: captured,
          });
          return { id, state: computed };
        },
        call(args) {
          calls.push({ token: args.token, inputs: args.inputs, provider: args.provider });
          if (args.token === "aws:secretsmanager/getSecretVersion:getSecretVersion") {
            const secretId = String(args.inputs.secretId);
            // The RDS-managed master secret holds {username, password}; a login secret the access model's layout.
            const secretString = secretId.includes(":secret:rds!")
              ? JSON.stringify({ username: "mock-master", password: MOCK_MANAGED_MASTER_PASSWORD })
              : JSON.stringify({ engine: "postgres", host: "mock-host", port: 5432, dbname: "phi", username: "mock-login", password: mockCurrentLoginPassword(secretId), ssl: true });
            return { ...args.inputs, arn: secretId, versionStages: ["AWSCURRENT"], secretString };
          }
          return args.inputs;
        },
      },
      options.project ?? "phi-db",
      stackName,
      options.preview ?? false,
    );
    pulumi.runtime.setAllConfig(config);
    captureRequestOptions(pulumi, requestOptions);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(program) as Record<string, unknown>;
      for (const [k, v] of Object.entries(mod)) {
        if (v === undefined) continue;
        if (pulumi.Output.isInstance(v)) {
          // The SDK's own resolution, unknowns included (a preview's unknown output never runs an apply callback).
          const out = v as import("@pulumi/pulumi").Output<unknown> & { promise(withUnknowns?: boolean): Promise<unknown> };
          outputs[k] = await out.promise(true);
          if (await pulumi.isSecret(out)) secretOutputs.push(k);
        } else if (!(v instanceof pulumi.Resource)) {
          outputs[k] = v;
        }
      }
      // Wait until every registration the program started has reached the mock monitor.
      const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
      if (waitForRPCs) await waitForRPCs();
      else await new Promise((r) => setTimeout(r, 50));
    } catch (e) {
      failure = e;
    }
  });
  for (const h of hooks) for (const l of listeners(h)) if (!before.get(h)!.has(l)) process.removeListener(h, l);
  if (failure) throw failure;

  const ofType = (type: string) => resources.filter((r) => r.type === type);
  return {
    stack: stackName,
    config,
    resources,
    calls,
    outputs,
    secretOutputs,
    ofType,
    get(type, name) {
      const hits = ofType(type).filter((r) => (typeof name === "string" ? r.name === name || r.name.endsWith(name) : name.test(r.name)));
      if (hits.length !== 1) throw new Error(`expected one ${type} named ${String(name)}, found ${hits.length}: ${ofType(type).map((r) => r.name).join(", ")}`);
      return hits[0];
    },
  };
}

/** Runs the program for each stack file, one after the other, with its parsed infrastructure config (what most AWS tests need). */
export async function runStacks(stacks: string[]): Promise<{ runs: Record<string, ProgramRun>; cfg: Record<string, InfraConfig> }> {
  const runs: Record<string, ProgramRun> = {};
  const cfg: Record<string, InfraConfig> = {};
  for (const stack of stacks) {
    runs[stack] = await runProgram(stack);
    cfg[stack] = parseStackConfig(runs[stack].config, stack).infra!;
  }
  return { runs, cfg };
}
