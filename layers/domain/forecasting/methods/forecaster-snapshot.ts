import { z } from "zod";
import { ValidationError } from "../../errors.js";
import type { SeriesForecaster } from "./method.js";
import { MAX_HORIZON_STEPS } from "./method-inputs.js";
import { Float32sSchema, Float64sSchema, StoredNumberSchema } from "./state-codec.js";

/**
 * The serialised state of a per-series forecaster: everything needed to resume it without
 * refitting (forecaster-state.ts restores it). One JSON document per series:
 *
 * ```json
 * { "stateVersion": 1, "method": "shaper", "stepSeconds": 300, "originSeconds": 1700003600,
 *   "horizon": 12, "quantiles": [0.1, …, 0.9],
 *   "forecaster": { "kind": "conformal", …, "inner": { "kind": "ensemble", "members": [ … ] } } }
 * ```
 *
 * - `originSeconds` is the epoch second of the first observation NOT yet absorbed: a caller feeds
 *   the values from there on (earlier ones are ignored; a gap is missing data).
 * - `forecaster` is a tree of components, one per forecaster kind: "conformal" (the calibration
 *   wrapper of the shaper method, with its error memory, local scale and pending forecasts),
 *   "ensemble" (a mean/median combination of leaves), and the leaves "ets" (every ETS variant
 *   and the naive model), "croston" (Croston, SBA, TSB) and "seasonal-naive".
 * - Numbers are exact: scalars are JSON numbers (non-finite ones spelled "NaN", "Infinity",
 *   "-Infinity"), arrays are base64 of little-endian floats (state-codec.ts).
 * - `stateVersion` changes whenever the layout does; a reader accepts only its own version, and
 *   a caller holding another refits from scratch.
 */

/** Version of the state layout written and read by this code. */
export const FORECASTER_STATE_VERSION = 1;

/** A series' values on its time grid: what a forecaster reads and a restore is given. */
export interface SeriesHistory {
  /** Values oldest first, NaN where data is missing. */
  readonly values: ArrayLike<number>;
  /** Epoch seconds of values[0]. */
  readonly startSeconds: number;
  /** Seconds between consecutive values. */
  readonly stepSeconds: number;
}

/** Where a forecaster stands on its series' time grid, and the forecasts it gives. */
export interface StateHeader {
  /** Epoch seconds of the first observation not yet absorbed (the current origin). */
  readonly originSeconds: number;
  readonly stepSeconds: number;
  /** Longest horizon it forecasts, in steps. */
  readonly horizon: number;
  /** Quantile levels of its forecasts, ascending. */
  readonly quantiles: readonly number[];
}

/**
 * The state header of a forecaster standing at `origin` of `series`.
 *
 * @param series the series it reads (its time grid)
 * @param origin index of the first value not yet absorbed
 * @param shape the horizon and quantile levels it forecasts
 */
export function headerAt(
  series: Pick<SeriesHistory, "startSeconds" | "stepSeconds">,
  origin: number,
  shape: { readonly horizon: number; readonly quantiles: readonly number[] },
): StateHeader {
  return {
    originSeconds: series.startSeconds + origin * series.stepSeconds,
    stepSeconds: series.stepSeconds,
    horizon: shape.horizon,
    quantiles: shape.quantiles,
  };
}

/** A forecaster that can save its state. */
export interface SnapshotForecaster extends SeriesForecaster {
  /** Its component of the state tree, at the current origin. */
  snapshot(): ForecasterSnapshot;
  /** Its origin, step and forecast shape. */
  stateHeader(): StateHeader;
  state(): ForecasterState;
}

/** Whether `forecaster` can save its state. */
export function isSnapshotForecaster(
  forecaster: SeriesForecaster,
): forecaster is SnapshotForecaster {
  const f = forecaster as Partial<SnapshotForecaster>;
  return typeof f.snapshot === "function" && typeof f.stateHeader === "function";
}

/**
 * The component of `forecaster`, for a container saving its members.
 *
 * @param role what the forecaster is to its container, for the error message
 * @throws ValidationError when the forecaster cannot save its state (e.g. a global-model member)
 */
export function snapshotOf(forecaster: SeriesForecaster, role: string): ForecasterSnapshot {
  if (!isSnapshotForecaster(forecaster)) {
    throw new ValidationError(
      `Cannot save the forecaster state: its ${role} cannot save state (only ETS, naive, seasonal naive, Croston/SBA/TSB, their mean/median ensembles and the conformal wrapper can). Refit this series instead of resuming it.`,
      [{ field: role, message: "cannot save state" }],
    );
  }
  return forecaster.snapshot();
}

/**
 * The full state of a forecaster: the version, the method's name, the header and its component.
 *
 * @param method the method's name (e.g. "shaper")
 * @param forecaster the forecaster whose state it is
 */
export function forecasterState(method: string, forecaster: SnapshotForecaster): ForecasterState {
  const header = forecaster.stateHeader();
  return {
    stateVersion: FORECASTER_STATE_VERSION,
    method,
    stepSeconds: header.stepSeconds,
    originSeconds: header.originSeconds,
    horizon: header.horizon,
    quantiles: [...header.quantiles],
    forecaster: forecaster.snapshot(),
  };
}

/** Largest seasonal period, capacity or window a state may declare (bounds what a restore allocates). */
const MAX_LENGTH = 1_000_000;
const name = z.string().min(1).max(200);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const unitInterval = z.number().min(0).max(1);

/** An ETS forecaster (every ETS variant, and the naive model: ETS(A,N,N) with α = 1). */
export const EtsSnapshotSchema = z
  .object({
    kind: z.literal("ets"),
    name,
    spec: z.object({
      trend: z.enum(["N", "A", "Ad"]),
      season: z.enum(["N", "A"]),
      period: z.number().int().min(1).max(MAX_LENGTH),
    }),
    parameters: z.object({
      alpha: unitInterval,
      beta: unitInterval,
      gamma: unitInterval,
      phi: unitInterval,
    }),
    /** Working unit: model values × unit = series values. */
    unit: z.number().positive(),
    nonNegative: z.boolean(),
    /** One-step error variance, working units². */
    sigma2: z.number().min(0),
    level: StoredNumberSchema,
    trend: StoredNumberSchema,
    /** The seasonal ring, as laid out (`seasonPos` is the next slot). */
    season: Float64sSchema,
    seasonPos: z.number().int().min(0),
  })
  .superRefine((s, context) => {
    if (s.spec.season === "N" && s.spec.period !== 1) {
      context.addIssue({
        code: "custom",
        path: ["spec", "period"],
        message: "expected 1 for a model without season",
      });
    }
    if (s.season.length !== s.spec.period) {
      context.addIssue({
        code: "custom",
        path: ["season"],
        message: `holds ${s.season.length} values; expected spec.period = ${s.spec.period}`,
      });
    }
    if (s.seasonPos >= s.spec.period) {
      context.addIssue({
        code: "custom",
        path: ["seasonPos"],
        message: `expected < ${s.spec.period}`,
      });
    }
  });

/** A Croston, SBA or TSB forecaster. */
export const CrostonSnapshotSchema = z.object({
  kind: z.literal("croston"),
  name,
  parameters: z.object({
    variant: z.enum(["croston", "sba", "tsb"]),
    alphaSize: unitInterval,
    alphaRate: unitInterval,
  }),
  unit: z.number().positive(),
  nonNegative: z.boolean(),
  sigma2: z.number().min(0),
  size: StoredNumberSchema,
  interval: StoredNumberSchema,
  sinceDemand: count,
  probability: StoredNumberSchema,
  started: z.boolean(),
});

/** A seasonal-naive forecaster: the latest value of each seasonal slot in its window. */
export const SeasonalNaiveSnapshotSchema = z
  .object({
    kind: z.literal("seasonal-naive"),
    name,
    seasonLength: z.number().int().min(1).max(MAX_LENGTH),
    historyPoints: z.number().int().min(1).max(MAX_LENGTH),
    /** Steps of history the model sees before the origin: min(origin, historyPoints). */
    window: z.number().int().min(0).max(MAX_LENGTH),
    /**
     * Per seasonal slot, how many steps before the origin its latest observed value in the
     * window lies (ascending; slots with no observed value are left out) …
     */
    ages: z.array(z.number().int().min(1).max(MAX_LENGTH)).max(MAX_LENGTH),
    /** … and that value (series units). */
    values: Float64sSchema,
  })
  .superRefine((s, context) => {
    if (s.window > s.historyPoints) {
      context.addIssue({
        code: "custom",
        path: ["window"],
        message: `expected ≤ historyPoints (${s.historyPoints})`,
      });
    }
    if (s.values.length !== s.ages.length) {
      context.addIssue({
        code: "custom",
        path: ["values"],
        message: `holds ${s.values.length} values for ${s.ages.length} ages; expected one per age`,
      });
    }
    s.ages.forEach((age, i) => {
      if (age > s.window || (i > 0 && age <= (s.ages[i - 1] as number))) {
        context.addIssue({
          code: "custom",
          path: ["ages", i],
          message: `is ${age}; expected ages ascending, each in [1, window = ${s.window}]`,
        });
      }
    });
  });

/** The forecasters an ensemble combines. */
export const LeafSnapshotSchema = z.discriminatedUnion("kind", [
  EtsSnapshotSchema,
  CrostonSnapshotSchema,
  SeasonalNaiveSnapshotSchema,
]);

/** A mean or median combination of leaves. */
export const EnsembleSnapshotSchema = z.object({
  kind: z.literal("ensemble"),
  combination: z.enum(["mean", "median"]),
  members: z.array(LeafSnapshotSchema).min(1).max(64),
});

/** What a conformal wrapper wraps: one forecaster or an ensemble. */
export const InnerSnapshotSchema = z.discriminatedUnion("kind", [
  EtsSnapshotSchema,
  CrostonSnapshotSchema,
  SeasonalNaiveSnapshotSchema,
  EnsembleSnapshotSchema,
]);

/** A conformal error memory (error-calibrator.ts). */
export const ErrorCalibratorSnapshotSchema = z
  .object({
    capacity: z.number().int().min(1).max(MAX_LENGTH),
    /** Per step ahead, the errors held. */
    counts: z.array(count),
    /** Every step's errors, oldest first, step after step (32-bit floats). */
    errors: Float32sSchema,
  })
  .superRefine((s, context) => {
    let total = 0;
    s.counts.forEach((n, step) => {
      total += n;
      if (n > s.capacity) {
        context.addIssue({
          code: "custom",
          path: ["counts", step],
          message: `is ${n}; expected ≤ capacity (${s.capacity})`,
        });
      }
    });
    if (s.errors.length !== total) {
      context.addIssue({
        code: "custom",
        path: ["errors"],
        message: `holds ${s.errors.length} errors; expected the sum of counts (${total})`,
      });
    } else if (!s.errors.every(Number.isFinite)) {
      context.addIssue({ code: "custom", path: ["errors"], message: "holds a non-finite error" });
    }
  });

/** A local scale tracker (local-scale.ts), its ring as laid out. */
export const LocalScaleSnapshotSchema = z
  .object({
    mode: z.enum(["none", "level", "noise"]),
    window: z.number().int().min(1).max(MAX_LENGTH),
    floor: z.number().positive(),
    /** The ring of terms, as laid out. */
    terms: Float64sSchema,
    count,
    head: count,
    sum: StoredNumberSchema,
    previous: StoredNumberSchema,
    sinceResum: count,
  })
  .superRefine((s, context) => {
    const size = s.mode === "none" ? 1 : s.window;
    if (s.terms.length !== size) {
      context.addIssue({
        code: "custom",
        path: ["terms"],
        message: `holds ${s.terms.length} values; expected ${size}`,
      });
    }
    if (s.count > size || s.head >= size) {
      context.addIssue({
        code: "custom",
        path: ["count"],
        message: `count and head must be within the ${size} terms`,
      });
    }
  });

/** A forecast made at an earlier origin whose actuals are still arriving. */
export const PendingForecastSchema = z.object({
  /** Steps between its origin and the current one (≥ 1). */
  age: z.number().int().min(1).max(MAX_HORIZON_STEPS),
  /** The error divisor at its origin (unit × local scale). */
  scale: StoredNumberSchema,
  /** Its point forecast for the steps from the current origin on (horizon − age values). */
  points: Float64sSchema,
});

/** The conformal wrapper (conformal.ts) of the shaper method and `conformalMethod`. */
export const ConformalSnapshotSchema = z.object({
  kind: z.literal("conformal"),
  name,
  unit: z.number().positive(),
  nonNegative: z.boolean(),
  stride: z.number().int().min(1).max(MAX_HORIZON_STEPS),
  minErrors: z.number().int().min(1).max(MAX_LENGTH),
  coverageAdaptation: z.number().min(0),
  spreadFactor: z.number().positive(),
  /** Per step: the error median and the 0.1 and 0.9 quantiles' offsets from it (NaN: unknown). */
  band: Float64sSchema,
  calibrator: ErrorCalibratorSnapshotSchema,
  scale: LocalScaleSnapshotSchema,
  /** The ring of pending forecasts as laid out (null: free), and the next slot to fill. */
  pending: z.object({
    head: count,
    slots: z
      .array(PendingForecastSchema.nullable())
      .min(1)
      .max(MAX_HORIZON_STEPS + 2),
  }),
  /** Steps from the current origin to the next calibration origin. */
  nextDueIn: count,
  /** Whether a forecast was asked at the current origin (it is then calibrated too). */
  askedHere: z.boolean(),
  inner: InnerSnapshotSchema,
});

/** Any component at the top of a state. */
export const TopSnapshotSchema = z.discriminatedUnion("kind", [
  ConformalSnapshotSchema,
  EtsSnapshotSchema,
  CrostonSnapshotSchema,
  SeasonalNaiveSnapshotSchema,
  EnsembleSnapshotSchema,
]);

/** A whole saved state (see the module comment). */
export const ForecasterStateSchema = z
  .object({
    stateVersion: z.literal(FORECASTER_STATE_VERSION),
    method: name,
    stepSeconds: z.number().positive(),
    originSeconds: z.number(),
    horizon: z.number().int().min(1).max(MAX_HORIZON_STEPS),
    quantiles: z.array(z.number().gt(0).lt(1)).min(1).max(1000),
    forecaster: TopSnapshotSchema,
  })
  .superRefine((s, context) => {
    s.quantiles.forEach((level, i) => {
      if (i > 0 && !(level > (s.quantiles[i - 1] as number))) {
        context.addIssue({
          code: "custom",
          path: ["quantiles", i],
          message: `is ${level}; expected levels ascending`,
        });
      }
    });
    const f = s.forecaster;
    if (f.kind !== "conformal") return;
    const issue = (path: (string | number)[], message: string) =>
      context.addIssue({ code: "custom", path: ["forecaster", ...path], message });
    const h = s.horizon;
    if (f.band.length !== 3 * h)
      issue(["band"], `holds ${f.band.length} values; expected 3 × horizon = ${3 * h}`);
    if (f.calibrator.counts.length !== h) {
      issue(
        ["calibrator", "counts"],
        `has ${f.calibrator.counts.length} entries; expected one per step of the horizon (${h})`,
      );
    }
    const slots = Math.ceil(h / f.stride) + 2;
    if (f.pending.slots.length !== slots) {
      issue(
        ["pending", "slots"],
        `has ${f.pending.slots.length} entries; expected ⌈horizon / stride⌉ + 2 = ${slots}`,
      );
    }
    if (f.pending.head >= f.pending.slots.length)
      issue(["pending", "head"], "expected a slot index");
    f.pending.slots.forEach((slot, i) => {
      if (slot === null) return;
      if (slot.age >= h)
        issue(["pending", "slots", i, "age"], `is ${slot.age}; expected < horizon (${h})`);
      else if (slot.points.length !== h - slot.age) {
        issue(
          ["pending", "slots", i, "points"],
          `holds ${slot.points.length} values; expected horizon − age = ${h - slot.age}`,
        );
      }
    });
    if (f.nextDueIn >= f.stride)
      issue(["nextDueIn"], `is ${f.nextDueIn}; expected < stride (${f.stride})`);
  });

/** The JSON of a forecaster's state, as `state()` writes it. */
export type ForecasterState = z.input<typeof ForecasterStateSchema>;
/** A component of the state tree, as written. */
export type ForecasterSnapshot = z.input<typeof TopSnapshotSchema>;
export type LeafSnapshot = z.input<typeof LeafSnapshotSchema>;
export type InnerSnapshot = z.input<typeof InnerSnapshotSchema>;
export type EtsSnapshot = z.input<typeof EtsSnapshotSchema>;
export type CrostonSnapshot = z.input<typeof CrostonSnapshotSchema>;
export type SeasonalNaiveSnapshot = z.input<typeof SeasonalNaiveSnapshotSchema>;
export type EnsembleSnapshot = z.input<typeof EnsembleSnapshotSchema>;
export type ConformalSnapshot = z.input<typeof ConformalSnapshotSchema>;
export type ErrorCalibratorSnapshot = z.input<typeof ErrorCalibratorSnapshotSchema>;
export type LocalScaleSnapshot = z.input<typeof LocalScaleSnapshotSchema>;
/** The parsed (decoded) forms restores work from. */
export type ParsedForecasterState = z.output<typeof ForecasterStateSchema>;
export type ParsedEtsSnapshot = z.output<typeof EtsSnapshotSchema>;
export type ParsedCrostonSnapshot = z.output<typeof CrostonSnapshotSchema>;
export type ParsedSeasonalNaiveSnapshot = z.output<typeof SeasonalNaiveSnapshotSchema>;
export type ParsedConformalSnapshot = z.output<typeof ConformalSnapshotSchema>;
export type ParsedErrorCalibratorSnapshot = z.output<typeof ErrorCalibratorSnapshotSchema>;
export type ParsedLocalScaleSnapshot = z.output<typeof LocalScaleSnapshotSchema>;
export type ParsedSnapshot = z.output<typeof TopSnapshotSchema>;
