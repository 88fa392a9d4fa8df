/**
 * The pack as the Pulumi engine runs it: `policy/` started by @pulumi/pulumi's policy-pack runner
 * (ts-node, working directory policy/, exactly what `pulumi preview --policy-pack policy` launches),
 * then driven over its gRPC Analyzer interface: GetAnalyzerInfo, Configure (the pack configuration
 * the CLI sends from --policy-pack-config, `all` expanded per policy), Analyze per resource and
 * AnalyzeStack. This proves the pack loads and serves, and that the enforcement levels really come
 * from the configuration, independently of policy/harness.ts.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { runProgram } from "../test/support/mocks";
import { fromProgramRun, HarnessResource, PackConfig } from "./harness";
import { policies, PROD_ONLY, TYPES } from "./policies";

/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any */
const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const fromPulumi = (m: string) => require(require.resolve(m, { paths: [PULUMI_DIR] }));
const grpc = fromPulumi("@grpc/grpc-js");
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb.js");

const POLICY_DIR = __dirname;
const LEVEL: Record<string, number> = { advisory: analyzerPb.EnforcementLevel.ADVISORY, mandatory: analyzerPb.EnforcementLevel.MANDATORY, disabled: analyzerPb.EnforcementLevel.DISABLED };
const LEVEL_NAME = Object.fromEntries(Object.entries(LEVEL).map(([k, v]) => [v, k]));
const readConfig = (f: string) => JSON.parse(fs.readFileSync(path.join(POLICY_DIR, f), "utf8")) as PackConfig;

let child: ChildProcess;
let client: any;
let prod: HarnessResource[];
let dev: HarnessResource[];

const call = <T>(method: string, req: unknown): Promise<T> =>
  new Promise((resolve, reject) => client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));

beforeAll(async () => {
  const runner = path.join(PULUMI_DIR, "cmd", "run-policy-pack");
  child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: POLICY_DIR, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`the policy pack exited (${code}) before serving:\n${stderr}`)));
  });
  client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  prod = fromProgramRun(await runProgram("prod"));
  dev = fromProgramRun(await runProgram("dev"));
}, 180000);

afterAll(() => {
  client?.close();
  child?.kill();
});

/** What the CLI sends for a --policy-pack-config file: every policy's level (own entry, else `all`) and properties. */
async function configure(config: PackConfig) {
  const req = new analyzerPb.ConfigureAnalyzerRequest();
  const map = req.getPolicyconfigMap();
  const all = config.all;
  for (const p of policies) {
    const own = config[p.name];
    const { enforcementLevel, ...props } = typeof own === "string" ? { enforcementLevel: own } : (own ?? {});
    const level = enforcementLevel ?? (typeof all === "string" ? all : all?.enforcementLevel);
    const pc = new analyzerPb.PolicyConfig();
    if (level) pc.setEnforcementlevel(LEVEL[level]);
    pc.setProperties(Struct.fromJavaScript(props));
    map.set(p.name, pc);
  }
  await call("configure", req);
}

const struct = (v: Record<string, unknown>) => Struct.fromJavaScript(JSON.parse(JSON.stringify(v)));
function options() {
  const o = new analyzerPb.AnalyzerResourceOptions();
  o.setCustomtimeouts(new analyzerPb.AnalyzerResourceOptions.CustomTimeouts());
  return o;
}
function provider(r: HarnessResource) {
  if (!r.provider) return undefined;
  const p = new analyzerPb.AnalyzerProviderResource();
  p.setType(r.provider.type);
  p.setName(r.provider.name);
  p.setUrn(r.provider.urn);
  p.setProperties(struct(r.provider.props));
  return p;
}

interface Diagnostic {
  policy: string;
  level: string;
  message: string;
  urn: string;
}
const diagnostics = (res: any): Diagnostic[] =>
  res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), level: LEVEL_NAME[d.getEnforcementlevel()], message: d.getMessage(), urn: d.getUrn() }));

/** Analyze (every resource, its inputs) then AnalyzeStack (all resources, their outputs), as in a `pulumi up`. */
async function analyzeAll(resources: HarnessResource[]): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const r of resources) {
    const req = new analyzerPb.AnalyzeRequest();
    req.setType(r.type);
    req.setName(r.name);
    req.setUrn(r.urn);
    req.setProperties(struct(r.inputs));
    req.setOptions(options());
    const p = provider(r);
    if (p) req.setProvider(p);
    out.push(...diagnostics(await call("analyze", req)));
  }
  const stack = new analyzerPb.AnalyzeStackRequest();
  stack.setResourcesList(
    resources.map((r) => {
      const a = new analyzerPb.AnalyzerResource();
      a.setType(r.type);
      a.setName(r.name);
      a.setUrn(r.urn);
      a.setProperties(struct(r.outputs));
      a.setOptions(options());
      const p = provider(r);
      if (p) a.setProvider(p);
      return a;
    }),
  );
  out.push(...diagnostics(await call("analyzeStack", stack)));
  return out;
}

test("GetAnalyzerInfo: the pack phi-db-hipaa with exactly the exported policies, configurable", async () => {
  const info = await call<any>("getAnalyzerInfo", new Empty());
  expect(info.getName()).toBe("phi-db-hipaa");
  expect(info.getVersion()).toBe(JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "package.json"), "utf8")).version);
  expect(info.getSupportsconfig()).toBe(true);
  expect(info.getPoliciesList().map((p: any) => p.getName())).toEqual(policies.map((p) => p.name));
  for (const p of info.getPoliciesList()) expect([p.getName(), LEVEL_NAME[p.getEnforcementlevel()]]).toEqual([p.getName(), "mandatory"]);
}, 60000);

test("prod under policy/prod.json: no diagnostic at all", async () => {
  await configure(readConfig("prod.json"));
  expect(await analyzeAll(prod)).toEqual([]);
}, 120000);

test("dev under policy/dev.json: exactly the prod-only rules, advisory", async () => {
  await configure(readConfig("dev.json"));
  const d = await analyzeAll(dev);
  expect([...new Set(d.map((x) => x.policy))].sort()).toEqual([...PROD_ONLY].sort());
  expect(new Set(d.map((x) => x.level))).toEqual(new Set(["advisory"]));
}, 120000);

test("a mutated prod stack: mandatory under prod.json, advisory under dev.json (resource and stack policies)", async () => {
  const rs = JSON.parse(JSON.stringify(prod)) as HarnessResource[];
  const db = rs.find((r) => r.type === TYPES.instance)!;
  db.inputs.multiAz = false;
  db.outputs.multiAz = false;
  const sse = rs.find((r) => r.type === TYPES.sse[0] && r.name === "buckets-documents")!;
  const mutated = rs.filter((r) => r !== sse);

  await configure(readConfig("prod.json"));
  const p = await analyzeAll(mutated);
  expect(p.map((x) => [x.policy, x.level]).sort()).toEqual([
    ["rds-multi-az-support", "mandatory"],
    ["s3-default-encryption-kms", "mandatory"],
  ]);
  expect(p.find((x) => x.policy === "s3-default-encryption-kms")!.message).toMatch(/buckets-documents .*no default encryption/);

  await configure(readConfig("dev.json"));
  const d = await analyzeAll(mutated);
  expect(d.filter((x) => ["rds-multi-az-support", "s3-default-encryption-kms"].includes(x.policy)).map((x) => x.level)).toEqual(["advisory", "advisory"]);
}, 180000);
