import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConfig, type ShaperConfig } from "../../../layers/domain/config.js";
import { ConfigError, type FieldIssue } from "../../../layers/domain/errors.js";
import { RESOURCES } from "../../../layers/domain/resources.js";
import { testConfigInput } from "../../fixtures/config.js";

/**
 * Hostile config files through `parseConfig` (the one check behind `shaper config validate`, the
 * CDK context and the registry item): a valid config with one or more values replaced, removed
 * or added. Either the config comes back with every invariant the pipeline relies on, or a
 * ConfigError lists each problem with its field path, and the message names every field.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path into a JSON value (objects and arrays included), as key lists. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...prefix, i]));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

const base = testConfigInput() as unknown as Json;
const PATHS = paths(base).filter((p) => p.length > 0);

/**
 * Sets (or, with `undefined`, removes) the value at `path` in a deep copy of `root`; leaves the
 * copy as it is when an earlier change already replaced a parent with a non-object.
 */
function withValue(root: Json, path: (string | number)[], value: unknown): Json {
  const copy = structuredClone(root);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== "object") return copy;
    node = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    1,
    1e308,
    -1e308,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    2 ** 53 + 1,
    1e-320,
  ),
  fc.double(),
  fc.integer(),
  fc.constantFrom("", "x", "a#b", "cpu", "premium", "0.9", "NaN", "__proto__"),
  fc.constantFrom(null, true, false, [], {}, [0.9], { vcpu: -1 }, { tpu: 1 }),
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 2 }),
);

const mutation = fc.tuple(fc.constantFrom(...PATHS), hostileValue);
const mutatedConfig = fc
  .array(mutation, { minLength: 1, maxLength: 3 })
  .map((changes) => changes.reduce<Json>((c, [path, value]) => withValue(c, path, value), base));

/** Lower-cased with spaces dropped. */
function squash(text: string): string {
  return text.toLowerCase().replace(/\s/g, "");
}

function checkConfig(config: ShaperConfig): void {
  const numbers: number[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === "number") numbers.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v !== null && typeof v === "object") Object.values(v).forEach(collect);
  };
  collect(config);
  expect(numbers.every(Number.isFinite)).toBe(true);
  expect(config.intervalSeconds).toBeGreaterThan(0);
  expect(Object.keys(config.pools).length).toBeGreaterThan(0);
  expect(Object.keys(config.tiers).length).toBeGreaterThan(0);
  for (const pool of Object.values(config.pools)) {
    expect(pool.minTasks).toBeLessThanOrEqual(pool.maxTasks);
    expect(RESOURCES.some((r) => (pool.perTask[r] ?? 0) > 0)).toBe(true);
    for (const alt of pool.alternatives) expect(config.pools[alt]).toBeDefined();
  }
  for (const tier of Object.values(config.tiers)) {
    expect(config.quantiles).toContain(tier.forecastQuantile);
    expect(tier.weight).toBeGreaterThan(0);
    for (const r of RESOURCES) {
      const cap = tier.cap?.[r];
      if (cap !== undefined) expect(tier.guaranteedMinimum[r] ?? 0).toBeLessThanOrEqual(cap);
    }
  }
  for (const user of config.users) expect(config.tiers[user.tier]).toBeDefined();
}

function checkRefusal(error: unknown): void {
  expect(error).toBeInstanceOf(ConfigError);
  const issues = ((error as ConfigError).details.issues ?? []) as FieldIssue[];
  expect(issues.length).toBeGreaterThan(0);
  for (const issue of issues) {
    expect(issue.field.length).toBeGreaterThan(0);
    expect(squash((error as Error).message)).toContain(squash(`${issue.field}: ${issue.message}`));
  }
}

describe("config files (hostile input)", () => {
  it("parses a config with hostile values into a consistent config, or refuses it naming every field", () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(mutatedConfig, (input) => {
        let config: ShaperConfig | undefined;
        try {
          config = parseConfig(input, "fuzzed.json");
        } catch (error) {
          checkRefusal(error);
          expect((error as Error).message).toContain("fuzzed.json");
          refused++;
          return;
        }
        checkConfig(config);
        accepted++;
      }),
      { numRuns: 1_500 },
    );
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it("refuses whatever is not a config object, naming the root or the missing fields", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (input) => {
        let parsed: ShaperConfig | undefined;
        try {
          parsed = parseConfig(input, "garbage.json");
        } catch (error) {
          checkRefusal(error);
          return;
        }
        // fc.anything() could in principle build a valid config; then it must be consistent.
        checkConfig(parsed);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses zero capacity per task, empty pools and tiers, and NaN or infinite numbers", () => {
    const cases: [Json, string][] = [
      [
        withValue(base, ["pools", "cpu", "perTask"], { vcpu: 0, memoryGiB: 0 }),
        "pools.cpu.perTask",
      ],
      [withValue(base, ["pools"], {}), "pools"],
      [withValue(base, ["tiers"], {}), "tiers"],
      [withValue(base, ["pools", "cpu", "maxTasks"], 0), "pools.cpu.maxTasks"],
      [withValue(base, ["pools", "gpu", "perTask", "gpu"], Number.NaN), "pools.gpu.perTask.gpu"],
      [
        withValue(base, ["tiers", "free", "cap", "vcpu"], Number.POSITIVE_INFINITY),
        "tiers.free.cap.vcpu",
      ],
      [withValue(base, ["intervalSeconds"], -300), "intervalSeconds"],
      [withValue(base, ["pools", "cpu", "perTask", "vcpu"], 1e308), "pools.cpu.perTask.vcpu"],
    ];
    for (const [input, field] of cases) {
      let error: unknown;
      try {
        parseConfig(input, "edge.json");
      } catch (e) {
        error = e;
      }
      checkRefusal(error);
      const fields = ((error as ConfigError).details.issues as FieldIssue[]).map((i) => i.field);
      expect(fields).toContain(field);
    }
  });
});
