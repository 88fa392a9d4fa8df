/**
 * Runs the pack's policies over a list of resources the way the Pulumi engine's analyzer does
 * (@pulumi/policy's server): per policy the enforcement level is the policy's entry in the pack
 * configuration, else `all`, else the policy's own level, else the pack's; `getConfig()` returns the
 * policy's configured properties; resource policies see each resource's inputs, stack policies see
 * every resource's outputs with providers and property dependencies; `notApplicable` and unknown
 * values are recorded, not reported as violations.
 *
 * The configuration is checked against each policy's `configSchema` first (unknown policy, unknown
 * property, wrong type or value), as the Pulumi CLI does with `--policy-pack-config`.
 */
import type { EnforcementLevel, PolicyResource, ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import type { MockedResource, ProgramRun } from "../test/support/mocks";
import { PhiPolicy, policies as PACK } from "./policies";

export type PackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export interface HarnessResource {
  type: string;
  name: string;
  urn: string;
  /** What a resource policy sees (the resource's inputs). */
  inputs: Record<string, unknown>;
  /** What a stack policy sees (the resource's outputs). */
  outputs: Record<string, unknown>;
  /** The provider resource (type, name, urn, props = its inputs). */
  provider?: { type: string; name: string; urn: string; props: Record<string, unknown> };
  /** Property name -> urns of the resources it depends on. */
  propertyDependencies?: Record<string, string[]>;
}

export interface Violation {
  policy: string;
  enforcementLevel: EnforcementLevel;
  message: string;
  /** urn of the resource in violation (undefined: the whole stack). */
  urn?: string;
}

export interface PackResult {
  violations: Violation[];
  notApplicable: Array<{ policy: string; urn?: string; reason: string }>;
  /** Policies that could not run because a value was unknown (the engine reports these as advisory). */
  unknown: Array<{ policy: string; urn?: string; message: string }>;
  /**
   * Per policy, how many resources it actually judged: a resource validation counts a resource when
   * it ran to the end (not "not applicable") and read the resource's properties (so a validation for
   * another type, which returns early, counts nothing); a stack policy counts the distinct resources
   * whose properties it read.
   */
  evaluated: Record<string, number>;
  /** Per policy, the enforcement level it ran with (configuration, then the pack's default). */
  enforcement: Record<string, EnforcementLevel>;
}

class NotApplicable extends Error {
  constructor(public readonly reason: string) {
    super(reason);
  }
}

/**
 * The mocked program's resources as the analyzer would present them (custom resources only): urns
 * as the engine forms them (type qualified by the parent chain, `a$b$type`; the stack's own type
 * left out), providers, and the property dependencies the engine passes to stack policies (from the
 * RegisterResource requests; the mock monitor's own urns, which keep only the parent's last type,
 * are translated).
 */
export function fromProgramRun(run: ProgramRun, project = "phi-db"): HarnessResource[] {
  const prefix = `urn:pulumi:${run.stack}::${project}::`;
  const qualifiedOf = (urn: string) => urn.split("::")[2] ?? "";
  // mock monitor urn -> engine urn, in registration order (a parent registers before its children)
  const engine = new Map<string, string>();
  const urns = new Map<MockedResource, string>();
  for (const r of run.resources) {
    const parent = r.options?.parent ?? "";
    const mockUrn = parent ? `${prefix}${qualifiedOf(parent).split("$").pop()}$${r.type}::${r.name}` : `${prefix}${r.type}::${r.name}`;
    const parentEngine = parent ? (engine.get(parent) ?? parent) : "";
    const parentQualified = parentEngine ? qualifiedOf(parentEngine) : "";
    const urn = parentQualified && parentQualified !== "pulumi:pulumi:Stack" ? `${prefix}${parentQualified}$${r.type}::${r.name}` : `${prefix}${r.type}::${r.name}`;
    engine.set(mockUrn, urn);
    urns.set(r, urn);
  }
  const providers = new Map(run.resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((p) => [p.name, p]));
  return run.resources
    .filter((r: MockedResource) => r.custom)
    .map((r) => {
      const p = r.providerName ? providers.get(r.providerName) : undefined;
      const deps = Object.fromEntries(Object.entries(r.options?.propertyDependencies ?? {}).map(([k, us]) => [k, us.map((u) => engine.get(u) ?? u)]));
      return {
        type: r.type,
        name: r.name,
        urn: urns.get(r)!,
        inputs: r.inputs,
        outputs: r.state,
        provider: p ? { type: p.type, name: p.name, urn: urns.get(p)!, props: p.inputs } : undefined,
        propertyDependencies: deps,
      };
    });
}

function normalise(c: PackConfig[string] | undefined): { enforcementLevel?: EnforcementLevel; properties: Record<string, unknown> } {
  if (c === undefined) return { properties: {} };
  if (typeof c === "string") return { enforcementLevel: c, properties: {} };
  const { enforcementLevel, ...properties } = c;
  return { enforcementLevel, properties };
}

function checkValue(where: string, schema: PolicyConfigJSONSchema, v: unknown): string[] {
  const type = schema.type;
  const errors: string[] = [];
  const typeOk =
    type === undefined ||
    (type === "integer" && Number.isInteger(v)) ||
    (type === "number" && typeof v === "number") ||
    (type === "string" && typeof v === "string") ||
    (type === "boolean" && typeof v === "boolean") ||
    (type === "array" && Array.isArray(v)) ||
    (type === "object" && v !== null && typeof v === "object" && !Array.isArray(v));
  if (!typeOk) return [`${where}: expected ${String(type)}, got ${JSON.stringify(v)}`];
  if (schema.enum && !schema.enum.includes(v as never)) errors.push(`${where}: expected one of ${schema.enum.join(", ")}, got ${JSON.stringify(v)}`);
  if (typeof v === "number" && schema.minimum !== undefined && v < schema.minimum) errors.push(`${where}: below minimum ${schema.minimum}`);
  if (typeof v === "number" && schema.maximum !== undefined && v > schema.maximum) errors.push(`${where}: above maximum ${schema.maximum}`);
  if (typeof v === "string" && schema.pattern && !new RegExp(schema.pattern).test(v)) errors.push(`${where}: does not match ${schema.pattern}`);
  if (Array.isArray(v) && schema.items && !Array.isArray(schema.items)) v.forEach((x, i) => errors.push(...checkValue(`${where}[${i}]`, schema.items as PolicyConfigJSONSchema, x)));
  return errors;
}

/** Problems of a pack configuration against the policies' config schemas (empty: valid). */
export function validatePackConfig(policies: PhiPolicy[], config: PackConfig): string[] {
  const errors: string[] = [];
  const levels = ["advisory", "mandatory", "remediate", "disabled"];
  for (const [name, raw] of Object.entries(config)) {
    const policy = policies.find((p) => p.name === name);
    if (name !== "all" && !policy) {
      errors.push(`${name}: no such policy in the pack`);
      continue;
    }
    const { enforcementLevel, properties } = normalise(raw);
    if (enforcementLevel !== undefined && !levels.includes(enforcementLevel)) errors.push(`${name}: enforcementLevel ${JSON.stringify(enforcementLevel)} is not one of ${levels.join(", ")}`);
    if (name === "all") {
      if (Object.keys(properties).length) errors.push(`all: only enforcementLevel may be set`);
      continue;
    }
    const schema = policy!.configSchema?.properties ?? {};
    for (const [k, v] of Object.entries(properties)) {
      if (!(k in schema)) errors.push(`${name}.${k}: not a config property of the policy (has: ${Object.keys(schema).join(", ") || "none"})`);
      else errors.push(...checkValue(`${name}.${k}`, schema[k], v));
    }
  }
  return errors;
}

function isUnknownValueError(e: unknown): boolean {
  return e instanceof Error && e.constructor.name === "UnknownValueError";
}

/** Runs `policies` over `resources` with a pack configuration; throws on an invalid configuration. */
export async function runPolicies(
  policies: PhiPolicy[],
  resources: HarnessResource[],
  config: PackConfig = {},
  packLevel: EnforcementLevel = "mandatory",
): Promise<PackResult> {
  // The configuration is for the whole pack, even when only some policies run.
  const configErrors = validatePackConfig(PACK, config);
  if (configErrors.length) throw new Error(`invalid policy pack configuration:\n  ${configErrors.join("\n  ")}`);
  const result: PackResult = { violations: [], notApplicable: [], unknown: [], evaluated: {}, enforcement: {} };
  const all = normalise(config.all);
  const byUrn = new Map<string, PolicyResource>();
  // Resources whose properties the running stack policy read (undefined outside a stack policy).
  let reads: Set<string> | undefined;
  const stackResources: PolicyResource[] = resources.map((r) => {
    const pr = {
      type: r.type,
      name: r.name,
      urn: r.urn,
      get props() {
        reads?.add(r.urn);
        return r.outputs;
      },
      opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
      provider: r.provider,
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    } as unknown as PolicyResource;
    byUrn.set(r.urn, pr);
    return pr;
  });
  resources.forEach((r, i) => {
    const deps: Record<string, PolicyResource[]> = {};
    for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) deps[k] = urns.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x);
    (stackResources[i] as { propertyDependencies: Record<string, PolicyResource[]> }).propertyDependencies = deps;
    (stackResources[i] as { dependencies: PolicyResource[] }).dependencies = Object.values(deps).flat();
  });

  for (const policy of policies) {
    const own = normalise(config[policy.name]);
    const level = own.enforcementLevel ?? all.enforcementLevel ?? policy.enforcementLevel ?? packLevel;
    result.enforcement[policy.name] = level;
    if (level === "disabled") continue;
    result.evaluated[policy.name] = 0;
    const done = (n = 1) => (result.evaluated[policy.name] += n);
    const getConfig = <T extends object>() => own.properties as T;
    const notApplicable = (reason?: string): never => {
      throw new NotApplicable(reason ?? "");
    };
    const resourcePolicy = policy as ResourceValidationPolicy;
    if (resourcePolicy.validateResource) {
      const validations: ResourceValidation[] = Array.isArray(resourcePolicy.validateResource) ? resourcePolicy.validateResource : [resourcePolicy.validateResource];
      for (const r of resources) {
        for (const validate of validations) {
          // Whether the validation looked at this resource's properties (a validation for another
          // type returns, or says "not applicable", before it does).
          let judged = false;
          const matches = (cls: { __pulumiType?: string }) => cls.__pulumiType === r.type;
          const args = {
            type: r.type,
            get props() {
              judged = true;
              return r.inputs;
            },
            urn: r.urn,
            name: r.name,
            opts: stackResources[0]?.opts,
            provider: r.provider,
            stackTags: new Map<string, string>(),
            isType: matches,
            asType: (cls: { __pulumiType?: string }) => {
              if (!matches(cls)) return undefined;
              judged = true;
              return r.inputs;
            },
            getConfig,
            notApplicable,
          } as unknown as ResourceValidationArgs;
          try {
            await validate(args, (message) => result.violations.push({ policy: policy.name, enforcementLevel: level, message, urn: r.urn }));
            if (judged) done();
          } catch (e) {
            if (e instanceof NotApplicable) result.notApplicable.push({ policy: policy.name, urn: r.urn, reason: e.reason });
            else if (isUnknownValueError(e)) result.unknown.push({ policy: policy.name, urn: r.urn, message: (e as Error).message });
            else throw new Error(`policy ${policy.name} threw on ${r.urn}: ${(e as Error).stack ?? e}`);
          }
        }
      }
    }
    const stackPolicy = policy as StackValidationPolicy;
    if (stackPolicy.validateStack) {
      const args = { resources: stackResources, stackTags: new Map<string, string>(), getConfig, notApplicable } as unknown as StackValidationArgs;
      reads = new Set();
      try {
        await stackPolicy.validateStack(args, (message, urn) => result.violations.push({ policy: policy.name, enforcementLevel: level, message, urn }));
        done(reads.size);
      } catch (e) {
        if (e instanceof NotApplicable) result.notApplicable.push({ policy: policy.name, reason: e.reason });
        else if (isUnknownValueError(e)) result.unknown.push({ policy: policy.name, message: (e as Error).message });
        else throw new Error(`policy ${policy.name} threw on the stack: ${(e as Error).stack ?? e}`);
      } finally {
        reads = undefined;
      }
    }
  }
  return result;
}
