/**
 * The stack's modules and request guard reach the schema resource as plain inputs (so `pulumi preview`
 * shows a change to them), for the dev and prod stacks under mocks, and an overridden value changes
 * only those inputs.
 */
import { runProgram } from "../support/mocks";

const SCHEMA = "pulumi-nodejs:dynamic/phi-db:DatabaseSchema";

it.each([
  ["dev", { ecommerce: true }, { ipAllowlist: ["10.20.0.0/16"] }],
  ["prod", { ecommerce: false }, {}],
])("%s: the schema resource carries modules and requestGuard from Pulumi.<stack>.yaml", async (stack, modules, requestGuard) => {
  const run = await runProgram(stack);
  const s = run.ofType(SCHEMA)[0];
  expect(s.inputs.modules).toEqual(modules);
  expect(s.inputs.requestGuard).toEqual(requestGuard);
  expect(s.secretInputs).not.toContain("modules");
  expect(s.secretInputs).not.toContain("requestGuard");
});

it("a settings override changes those inputs and nothing else", async () => {
  const base = (await runProgram("prod")).ofType(SCHEMA)[0].inputs;
  const hours = { timezone: "America/New_York", days: [1, 2, 3, 4, 5], start: "07:00", end: "19:00" };
  const changed = (
    await runProgram("prod", { overrides: { "phi-db:modules": ["ecommerce"], "phi-db:requestGuard": { businessHours: hours } } })
  ).ofType(SCHEMA)[0].inputs;
  expect(changed.modules).toEqual({ ecommerce: true });
  expect(changed.requestGuard).toEqual({ businessHours: hours });
  const strip = (i: Record<string, unknown>) => {
    const { modules: _m, requestGuard: _g, connection: _c, __provider: _p, ...rest } = i;
    return rest;
  };
  expect(strip(changed)).toEqual(strip(base));
});
