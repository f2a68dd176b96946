import { z } from "zod";
import { ConfigError, type FieldIssue } from "./errors.js";
import {
  type Amounts,
  AmountsSchema,
  RESOURCES,
  type Resource,
  ResourceSchema,
} from "./resources.js";

/**
 * The configuration of a shaper deployment: schedule, quantiles, tiers, pools and (locally, or as
 * a deployment seed) users. The same schema validates the CDK context at synth, the registry item
 * the functions load at run time, and the local config file of `npm start`.
 */

/** Quantile levels every deployment forecasts, whatever else is configured. */
export const REQUIRED_QUANTILES = [
  0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99,
] as const;

export const CRITICALITIES = ["critical", "normal", "deferrable"] as const;
export type Criticality = (typeof CRITICALITIES)[number];
export const CriticalitySchema = z.enum(CRITICALITIES);

/** Ids of users, pools and tiers: safe inside DynamoDB keys (`#` is our key separator). */
export const IdSchema = z
  .string()
  .min(1, "must not be empty")
  .max(128, "must be at most 128 characters")
  .regex(/^[A-Za-z0-9._:@=+\-/]+$/, "may contain only letters, digits and . _ : @ = + - /");

const QuantileLevelSchema = z
  .number()
  .gt(0, "must be above 0")
  .lt(1, "must be below 1")
  .refine((q) => Number.isFinite(q), "must be finite");

export const TierSchema = z.strictObject({
  /** Priority weight in the weighted max-min fair share (a weight-2 tier gets twice the share). */
  weight: z.number().positive().max(1e6).default(1),
  /** Capacity each user of the tier can always get at once, per pool and resource. */
  guaranteedMinimum: AmountsSchema.default({}),
  /** Most a user of the tier may hold per pool and resource; absent means no cap. */
  cap: AmountsSchema.optional(),
  /** Service target: share of this tier's requests granted at once. */
  sloGrantNowRate: z.number().min(0).max(1).default(0.99),
  /** Forecast quantile the plan provisions for (the tier's footprint). Must be a configured quantile. */
  forecastQuantile: QuantileLevelSchema.default(0.9),
  /** Extra capacity provisioned above the footprint, as a fraction of it. */
  headroomFraction: z.number().min(0).max(5).default(0.1),
});
export type Tier = z.infer<typeof TierSchema>;

export const PoolSchema = z.strictObject({
  /** Capacity one ECS task of the pool's service adds, per resource (e.g. `{ vcpu: 4, memoryGiB: 16 }`). */
  perTask: AmountsSchema.refine(
    (a) => RESOURCES.some((r) => (a[r] ?? 0) > 0),
    "must give a positive capacity for at least one resource",
  ),
  minTasks: z.number().int().nonnegative().default(0),
  maxTasks: z.number().int().positive().max(100_000),
  /** Time from asking ECS for a task until it serves, in seconds. Scaling is scheduled this early. */
  provisioningLagSeconds: z.number().int().nonnegative().max(86_400).default(180),
  /** How long predicted demand must stay low before the plan scales in, in seconds. */
  scaleInDelaySeconds: z.number().int().nonnegative().max(86_400).default(900),
  /** Price of one task for one hour, in USD. */
  costPerTaskHour: z.number().nonnegative().default(0),
  /** The ECS service that backs the pool. */
  ecs: z.strictObject({ cluster: z.string().min(1), service: z.string().min(1) }),
  /** Other pools that can serve this pool's requests as an offered alternative. */
  alternatives: z.array(IdSchema).default([]),
});
export type Pool = z.infer<typeof PoolSchema>;

export const UserSchema = z.strictObject({
  userId: IdSchema,
  tier: IdSchema,
  /** Pools the user draws from; absent means every pool. */
  pools: z.array(IdSchema).optional(),
  /** Per-user overrides of the tier's guarantee and cap. */
  guaranteedMinimum: AmountsSchema.optional(),
  cap: AmountsSchema.optional(),
});
export type User = z.infer<typeof UserSchema>;

export const CollectConfigSchema = z.strictObject({
  /** CloudWatch namespace of per-user usage metrics. */
  namespace: z.string().min(1).default("Shaper/Usage"),
  /** Metric name per resource. */
  metricNames: z
    .partialRecord(ResourceSchema, z.string().min(1))
    .default({ vcpu: "vcpu", memoryGiB: "memoryGiB", gpu: "gpu" }),
  userDimension: z.string().min(1).default("UserId"),
  poolDimension: z.string().min(1).default("Pool"),
  /** CloudWatch statistic that turns samples within an interval into the interval's usage. */
  statistic: z.enum(["Average", "Maximum", "Sum", "Minimum", "p90", "p99"]).default("Average"),
  /** Intervals re-read on every run, so metrics that arrive late are picked up (idempotent writes). */
  lookbackIntervals: z.number().int().min(1).max(288).default(3),
});

export const ForecastConfigSchema = z.strictObject({
  /** SageMaker endpoint name of the forecasting model. */
  endpointName: z.string().min(1).default("shaper-forecaster"),
  numSamples: z.number().int().min(1).max(1000).default(100),
  /** Per InvokeEndpoint call, in milliseconds; past it the in-function fallback model answers. */
  timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  /** Series per InvokeEndpoint call. */
  batchSize: z.number().int().min(1).max(1_000).default(50),
  /** Mean weighted quantile loss of recent forecasts above which the retrain flow is triggered. */
  errorThresholdWql: z.number().positive().default(0.5),
  /**
   * Days a user's largest critical burst is remembered after its last critical request: while
   * remembered, the plan keeps room for it (capacity-plan.ts, rule 2b). Critical requests can be
   * weeks apart, longer than the history a forecast reads. 0 = no room is kept.
   */
  criticalPeakDays: z.number().min(0).max(365).default(30),
  /**
   * Most intervals a user's forecast stands before the forecast stage renews it. Sooner when the
   * user's usage leaves the forecast's 80 % band or it sends a critical request; 1 renews every
   * user on every run. Pools are forecast on every run.
   */
  refreshIntervals: z.number().int().min(1).max(288).default(6),
});

export const AdmissionConfigSchema = z.strictObject({
  /** `maxDelaySeconds` a request gets when it does not say, per criticality. */
  defaultMaxDelaySeconds: z
    .strictObject({
      critical: z.number().int().nonnegative().default(0),
      normal: z.number().int().nonnegative().default(600),
      deferrable: z.number().int().nonnegative().default(3_600),
    })
    .default({ critical: 0, normal: 600, deferrable: 3_600 }),
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: z.number().int().min(1_024).max(1_048_576).default(65_536),
  /** Smallest fraction of the asked amount worth offering as a "smaller now" alternative. */
  offerMinFraction: z.number().gt(0).max(1).default(0.25),
  /** How long a decision record is kept, in seconds. */
  decisionRetentionSeconds: z
    .number()
    .int()
    .min(3_600)
    .default(30 * 86_400),
});

export const RetrainConfigSchema = z.strictObject({
  /** A candidate must beat the current model's wQL by at least this fraction to be promoted. */
  minRelativeImprovement: z.number().min(0).max(1).default(0.02),
  /** Most recent intervals held out for validation. */
  holdoutIntervals: z.number().int().min(1).default(288),
  /** Series sampled for training and validation per run. */
  sampleSeries: z.number().int().min(1).default(500),
});

export const PolicyBoundsSchema = z.strictObject({
  quantileMin: QuantileLevelSchema.default(0.5),
  quantileMax: QuantileLevelSchema.default(0.99),
  headroomMin: z.number().min(0).default(0),
  headroomMax: z.number().min(0).default(1),
  /** Largest change of a knob in one adaptation step. */
  quantileStep: z.number().positive().default(0.05),
  headroomStep: z.number().positive().default(0.05),
  /**
   * Mean pool utilisation (0–1) below which a tier far above its SLO gives back a knob step:
   * at 0.8, a fifth of what was provisioned sat unused over the day.
   */
  lowerBelowUtilisation: z.number().gt(0).max(1).default(0.8),
  /**
   * Most days of request outcomes a lowering rests on (counted since the tier's last change):
   * a tier far above a strict SLO needs thousands of requests to show it (2,700 without a miss for
   * 99.9 %), more than most tiers send in a day. 1 judges each day alone.
   */
  lowerEvidenceDays: z.number().int().min(1).max(90).default(14),
});

export const ShaperConfigSchema = z.strictObject({
  /** Length of one collect/forecast/plan interval, in seconds. */
  intervalSeconds: z.number().int().min(60).max(3_600).default(300),
  /** Forecast and plan horizon, in intervals (12 × 5 min = 1 h). */
  horizonIntervals: z.number().int().min(1).max(2_016).default(12),
  /** History the forecast reads per series, in intervals (2,016 × 5 min = 7 days). */
  historyIntervals: z.number().int().min(2).max(20_160).default(2_016),
  /** Quantile levels forecast and stored; must include 0.1…0.9, 0.95 and 0.99. */
  quantiles: z
    .array(QuantileLevelSchema)
    .min(1)
    .default([...REQUIRED_QUANTILES]),
  /** Users are split into this many shards, processed in parallel by collect and forecast. */
  shardCount: z.number().int().min(1).max(10_000).default(16),
  /** `shadow` computes and records plans and decisions but actuates nothing. */
  mode: z.enum(["active", "shadow"]).default("active"),
  tiers: z
    .record(IdSchema, TierSchema)
    .refine((t) => Object.keys(t).length > 0, "must define at least one tier"),
  pools: z
    .record(IdSchema, PoolSchema)
    .refine((p) => Object.keys(p).length > 0, "must define at least one pool"),
  users: z.array(UserSchema).default([]),
  collect: CollectConfigSchema.default(CollectConfigSchema.parse({})),
  forecast: ForecastConfigSchema.default(ForecastConfigSchema.parse({})),
  admission: AdmissionConfigSchema.default(AdmissionConfigSchema.parse({})),
  retrain: RetrainConfigSchema.default(RetrainConfigSchema.parse({})),
  policyBounds: PolicyBoundsSchema.default(PolicyBoundsSchema.parse({})),
  /**
   * How scarce capacity is shared among users: `per-resource` weighted max-min on each resource
   * on its own, or `drf` (weighted dominant-resource fairness: a user's vCPU, memory and GPUs
   * grow together in the ratio it uses them).
   */
  allocation: z
    .strictObject({ method: z.enum(["per-resource", "drf"]).default("per-resource") })
    .default({ method: "per-resource" }),
  /**
   * How a pool's planned demand takes its tiers' forecast quantiles and headroom: `tier-share`
   * gives each tier its share of the users' expected use at its own; `highest-tier` provisions
   * the whole pool forecast at the most demanding tier's (more capacity, more room for bursts
   * when lower tiers hold much of the demand). docs/benchmarks.md measures both.
   */
  planning: z
    .strictObject({
      poolDemand: z.enum(["tier-share", "highest-tier"]).default("tier-share"),
    })
    .default({ poolDemand: "tier-share" }),
});
export type ShaperConfig = z.infer<typeof ShaperConfigSchema>;
/** The config as written (defaults optional). */
export type ShaperConfigInput = z.input<typeof ShaperConfigSchema>;

/** Turn zod issues into field issues with dotted paths. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.length === 0 ? "(root)" : issue.path.map(String).join("."),
    message: issue.message,
  }));
}

/**
 * Checks a config and fills in defaults.
 *
 * @param input the parsed JSON of a config file, CDK context value or registry item
 * @param source where it came from, named in the error (e.g. a file path)
 * @returns the config with every default filled in
 * @throws ConfigError listing every problem with its field path, what was expected and what to do
 * @example
 * const config = parseConfig(JSON.parse(readFileSync("shaper.config.json", "utf8")), "shaper.config.json");
 */
export function parseConfig(input: unknown, source = "config"): ShaperConfig {
  const parsed = ShaperConfigSchema.safeParse(input);
  const issues: FieldIssue[] = parsed.success
    ? checkConsistency(parsed.data)
    : toFieldIssues(parsed.error);
  if (!parsed.success || issues.length > 0) {
    const lines = issues.map((i) => `  - ${i.field}: ${i.message}`).join("\n");
    throw new ConfigError(
      `Invalid shaper config in ${source} (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${lines}\nFix these fields and load the config again.`,
      { details: { source, issues } },
    );
  }
  return parsed.data;
}

function checkConsistency(config: ShaperConfig): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const levels = new Set(config.quantiles);
  for (const q of REQUIRED_QUANTILES) {
    if (!levels.has(q)) {
      issues.push({
        field: "quantiles",
        message: `is missing ${q}. Expected every one of ${REQUIRED_QUANTILES.join(", ")} (others may be added).`,
      });
    }
  }
  if (levels.size !== config.quantiles.length) {
    issues.push({ field: "quantiles", message: "lists a level twice. Expected distinct levels." });
  }
  for (const [name, tier] of Object.entries(config.tiers)) {
    if (!levels.has(tier.forecastQuantile)) {
      issues.push({
        field: `tiers.${name}.forecastQuantile`,
        message: `${tier.forecastQuantile} is not one of the configured quantiles (${config.quantiles.join(", ")}). Use one of them or add it to "quantiles".`,
      });
    }
    issues.push(
      ...checkGuaranteeWithinCap(
        `Tier "${name}"`,
        `tiers.${name}`,
        tier.guaranteedMinimum,
        tier.cap,
      ),
    );
  }
  for (const [name, pool] of Object.entries(config.pools)) {
    if (pool.minTasks > pool.maxTasks) {
      issues.push({
        field: `pools.${name}.minTasks`,
        message: `Pool "${name}": minTasks ${pool.minTasks} exceeds maxTasks ${pool.maxTasks}. Expected minTasks <= maxTasks.`,
      });
    }
    for (const alt of pool.alternatives) {
      if (alt === name) {
        issues.push({
          field: `pools.${name}.alternatives`,
          message: `Pool "${name}" lists itself as an alternative. Remove it.`,
        });
      } else if (!config.pools[alt]) {
        issues.push({
          field: `pools.${name}.alternatives`,
          message: `names pool "${alt}", which is not configured. Expected one of: ${Object.keys(config.pools).join(", ")}.`,
        });
      }
    }
  }
  const seen = new Set<string>();
  config.users.forEach((user, i) => {
    const field = `users.${i}`;
    if (seen.has(user.userId)) {
      issues.push({
        field: `${field}.userId`,
        message: `"${user.userId}" is listed twice. Expected each user once.`,
      });
    }
    seen.add(user.userId);
    const tier = config.tiers[user.tier];
    if (!tier) {
      issues.push({
        field: `${field}.tier`,
        message: `"${user.tier}" is not a configured tier. Expected one of: ${Object.keys(config.tiers).join(", ")}.`,
      });
    }
    for (const pool of user.pools ?? []) {
      if (!config.pools[pool]) {
        issues.push({
          field: `${field}.pools`,
          message: `names pool "${pool}", which is not configured. Expected one of: ${Object.keys(config.pools).join(", ")}.`,
        });
      }
    }
    issues.push(
      ...checkGuaranteeWithinCap(
        `User "${user.userId}"`,
        field,
        user.guaranteedMinimum ?? tier?.guaranteedMinimum ?? {},
        user.cap ?? tier?.cap,
      ),
    );
  });
  return issues;
}

function checkGuaranteeWithinCap(
  who: string,
  field: string,
  guarantee: Amounts,
  cap: Amounts | undefined,
): FieldIssue[] {
  if (!cap) return [];
  const issues: FieldIssue[] = [];
  for (const r of RESOURCES) {
    const g = guarantee[r] ?? 0;
    const c = cap[r];
    if (c !== undefined && g > c) {
      issues.push({
        field: `${field}.guaranteedMinimum.${r}`,
        message: `${who}: guaranteedMinimum ${g} ${r} exceeds cap ${c} ${r}. Expected minimum <= cap. Lower the minimum or raise the cap.`,
      });
    }
  }
  return issues;
}

/** The resources a pool offers (those with a positive per-task capacity), in canonical order. */
export function poolResources(pool: Pool): Resource[] {
  return RESOURCES.filter((r) => (pool.perTask[r] ?? 0) > 0);
}

/** A user's effective guarantee and cap: the user's overrides, else the tier's. */
export function effectiveLimits(
  user: User,
  tier: Tier,
): { guaranteedMinimum: Amounts; cap: Amounts | undefined } {
  return {
    guaranteedMinimum: user.guaranteedMinimum ?? tier.guaranteedMinimum,
    cap: user.cap ?? tier.cap,
  };
}

/** The pools a user draws from. */
export function userPools(user: User, config: ShaperConfig): string[] {
  return user.pools ?? Object.keys(config.pools);
}

/** Length of one season (one day) in intervals. */
export function seasonIntervals(config: Pick<ShaperConfig, "intervalSeconds">): number {
  return Math.max(1, Math.round(86_400 / config.intervalSeconds));
}

/** The key a quantile level has in DeepAR responses and in stored forecasts: `0.1` → "0.1". */
export function quantileKey(level: number): string {
  // Every forecast of every series reads its levels by key: number → text once per level.
  let key = quantileKeys.get(level);
  if (key === undefined) {
    key = String(level);
    if (quantileKeys.size < 1_000) quantileKeys.set(level, key);
  }
  return key;
}

const quantileKeys = new Map<number, string>();
