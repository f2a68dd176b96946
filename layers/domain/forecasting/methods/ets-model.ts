import { minimizeNelderMead } from "./nelder-mead.js";

/**
 * Exponential smoothing state-space models with additive errors (Hyndman, Koehler, Ord & Snyder,
 * "Forecasting with Exponential Smoothing: the State Space Approach", 2008, ch. 2 and 5):
 * trend none (N), additive (A) or additive damped (Ad); season none (N) or additive (A).
 *
 *   ŷ_t = l_{t−1} + φ·b_{t−1} + s_{t−m}           e_t = y_t − ŷ_t
 *   l_t = l_{t−1} + φ·b_{t−1} + α·e_t
 *   b_t = φ·b_{t−1} + β·e_t                        (φ = 1 for A; b ≡ 0 for N)
 *   s_t = s_{t−m} + γ·e_t
 *   ŷ_{T+h|T} = l_T + (φ + … + φ^h)·b_T + s_{T+h−m(k+1)},  k = ⌊(h − 1)/m⌋
 *
 * A missing observation (NaN) skips the update: the state moves by its one-step prediction
 * (e_t = 0), so a gap is neither glued over nor read as a value.
 *
 * Fitting (`fitEts`): α, β, γ, φ and the initial level minimise the sum of squared one-step
 * errors (the Gaussian likelihood, concentrated over σ²) with `minimizeNelderMead`, under the
 * usual bounds 0 < α ≤ 1, 0 < β ≤ α, 0 ≤ γ ≤ 1 − α, 0.8 ≤ φ ≤ 0.98 (Hyndman et al. 2008 §5.3;
 * φ > 0.98 is indistinguishable from a linear trend, φ < 0.8 from no trend). The initial trend
 * and seasonal states come from a classical decomposition of the fit window (a centred moving
 * average for the trend, the mean detrended value of each slot for the season, normalised to sum
 * to 0), rather than being optimised: with m = 288 five-minute slots per day, optimising 287 more
 * states is out of reach of a lean optimiser and brings little on long series.
 *
 * Everything here works in the caller's working units (the series divided by its magnitude), so
 * sums of squares never overflow and fitted parameters are scale-free.
 */

export type EtsTrend = "N" | "A" | "Ad";
export type EtsSeason = "N" | "A";

export interface EtsSpec {
  readonly trend: EtsTrend;
  readonly season: EtsSeason;
  /** Steps per season; 1 when `season` is "N". */
  readonly period: number;
}

export interface EtsParameters {
  readonly alpha: number;
  readonly beta: number;
  readonly gamma: number;
  readonly phi: number;
}

/** The filter's state after the last observation fed. */
export interface EtsState {
  level: number;
  trend: number;
  /** Ring of the last `period` seasonal states; `season[seasonPos]` is s_{t−m} for the next t. */
  readonly season: Float64Array;
  seasonPos: number;
}

export interface EtsFit {
  readonly spec: EtsSpec;
  readonly parameters: EtsParameters;
  /** State after the last value of the fit window. */
  readonly state: EtsState;
  /** Sum of squared one-step errors over the observed values, in working units². */
  readonly sse: number;
  /** Observed values the errors were summed over. */
  readonly observed: number;
  /** Corrected Akaike information criterion (lower is better); Infinity when not estimable. */
  readonly aicc: number;
  /** Variance of the one-step error, in working units². */
  readonly sigma2: number;
}

export interface EtsFitOptions {
  /**
   * Steps ahead (≥ 1, ascending) whose squared errors the parameters minimise, averaged ("AMSE",
   * Hyndman et al. 2008 §5.2; forecast::ets's opt.crit = "amse"). Unset: one-step errors (the
   * likelihood). Fitting for the horizon that will be asked smooths more on noisy series.
   */
  readonly horizons?: Int32Array;
  /**
   * Objective evaluations allowed to the optimiser. @default 30 + 30 · free parameters (the sum of
   * squares is then within about 0.1 % of a 10× longer search on hourly and 5-minute traces)
   */
  readonly maxEvaluations?: number;
}

/** "ETS(A,Ad,A)" and the like. */
export function etsModelName(spec: EtsSpec): string {
  return `ETS(A,${spec.trend},${spec.season})`;
}

/** Bounds (Hyndman et al. 2008 §5.3, "usual" region). */
const ALPHA_MIN = 1e-4;
const PHI_MIN = 0.8;
const PHI_MAX = 0.98;
/** A state this far outside the working units (|y| ≤ 1) means the recursion diverged. */
const DIVERGED = 1e6;

/**
 * The objective's value, or +∞ when the recursion diverged (checked once at the end: a diverging
 * state only grows, so the end state tells, and the hot loops stay branch-free).
 */
function finiteOrInfinity(sse: number, level: number): number {
  return Number.isFinite(sse) && level < DIVERGED && level > -DIVERGED
    ? sse
    : Number.POSITIVE_INFINITY;
}

/** φ actually used by the recursions: 1 for a plain additive trend (and unused without one). */
function effectivePhi(spec: EtsSpec, phi: number): number {
  return spec.trend === "Ad" ? phi : 1;
}

/**
 * Feeds one value to the state (NaN = missing: the state moves by its one-step prediction).
 *
 * @returns the one-step error, or NaN when the value was missing
 */
export function etsUpdate(
  spec: EtsSpec,
  parameters: EtsParameters,
  state: EtsState,
  value: number,
): number {
  const phi = effectivePhi(spec, parameters.phi);
  const seasonal = spec.season === "A";
  const s = seasonal ? (state.season[state.seasonPos] as number) : 0;
  const damped = phi * state.trend;
  const base = state.level + damped;
  let error = Number.NaN;
  if (Number.isFinite(value)) {
    error = value - (base + s);
    state.level = base + parameters.alpha * error;
    state.trend = spec.trend === "N" ? 0 : damped + parameters.beta * error;
    if (seasonal) state.season[state.seasonPos] = s + parameters.gamma * error;
  } else {
    state.level = base;
    state.trend = spec.trend === "N" ? 0 : damped;
  }
  if (seasonal) state.seasonPos = (state.seasonPos + 1) % spec.period;
  return error;
}

/**
 * Writes the mean forecast of the next `horizon` steps (working units) into `out`.
 *
 * @param out buffer of at least `horizon` values
 */
export function etsForecastInto(
  spec: EtsSpec,
  parameters: EtsParameters,
  state: EtsState,
  out: Float64Array,
  horizon: number,
): void {
  const phi = effectivePhi(spec, parameters.phi);
  const seasonal = spec.season === "A";
  const m = spec.period;
  let cumulative = 0;
  let power = 1;
  for (let h = 0; h < horizon; h++) {
    power *= phi;
    cumulative += power;
    const s = seasonal ? (state.season[(state.seasonPos + h) % m] as number) : 0;
    out[h] = state.level + cumulative * state.trend + s;
  }
}

/**
 * Writes, for h = 1…horizon, the h-step forecast variance divided by σ²: 1 + Σ_{j<h} c_j² with
 * c_j = α + β·(φ + … + φ^j) + γ·[j mod m = 0] (Hyndman et al. 2008, Table 6.1, class 1).
 *
 * @param out buffer of at least `horizon` values
 */
export function etsVarianceFactorsInto(
  spec: EtsSpec,
  parameters: EtsParameters,
  out: Float64Array,
  horizon: number,
): void {
  const phi = effectivePhi(spec, parameters.phi);
  const beta = spec.trend === "N" ? 0 : parameters.beta;
  const gamma = spec.season === "A" ? parameters.gamma : 0;
  let sum = 1;
  let cumulative = 0;
  let power = 1;
  for (let h = 0; h < horizon; h++) {
    out[h] = sum;
    // c_j for j = h + 1, added for the next step.
    const j = h + 1;
    power *= phi;
    cumulative += power;
    const c = parameters.alpha + beta * cumulative + (j % spec.period === 0 ? gamma : 0);
    sum += c * c;
  }
}

/** Observed values needed to fit a model: two full seasons for a seasonal one. */
export function minimumObservations(spec: EtsSpec): number {
  const trendExtra = spec.trend === "N" ? 0 : 2;
  return spec.season === "A" ? Math.max(2 * spec.period, 8 + trendExtra) : 4 + trendExtra;
}

/**
 * Fits one model to `y` (working units, NaN = missing) and runs it to the end of `y`.
 *
 * @param y the fit window, oldest first
 * @param spec the model
 * @returns the fit, or undefined when `y` has too few observations for this model
 */
export function fitEts(
  y: Float64Array,
  spec: EtsSpec,
  options: EtsFitOptions = {},
): EtsFit | undefined {
  const n = y.length;
  let observed = 0;
  for (let t = 0; t < n; t++) if (Number.isFinite(y[t])) observed++;
  if (observed < minimumObservations(spec) || (spec.season === "A" && n < 2 * spec.period)) {
    return undefined;
  }
  const initial = initialState(y, spec);
  const hasTrend = spec.trend !== "N";
  const seasonal = spec.season === "A";
  const damped = spec.trend === "Ad";
  // Unit-box layout: [α, β/α?, γ/(1−α)?, (φ−0.8)/0.18?, initial level offset].
  const iBeta = hasTrend ? 1 : -1;
  const iGamma = seasonal ? 1 + (hasTrend ? 1 : 0) : -1;
  const iPhi = damped ? 1 + (hasTrend ? 1 : 0) + (seasonal ? 1 : 0) : -1;
  const iLevel = 1 + (hasTrend ? 1 : 0) + (seasonal ? 1 : 0) + (damped ? 1 : 0);
  const dims = iLevel + 1;
  const levelSpread = initial.spread > 0 ? initial.spread : 1e-9;
  const scratch = new Float64Array(spec.period);

  const decode = (u: ArrayLike<number>): EtsParameters & { level0: number } => {
    const alpha = ALPHA_MIN + (1 - ALPHA_MIN) * (u[0] as number);
    return {
      alpha,
      beta: iBeta >= 0 ? Math.max(1e-5, alpha * (u[iBeta] as number)) : 0,
      gamma: iGamma >= 0 ? (1 - alpha) * (u[iGamma] as number) : 0,
      phi: iPhi >= 0 ? PHI_MIN + (PHI_MAX - PHI_MIN) * (u[iPhi] as number) : 1,
      level0: initial.level + ((u[iLevel] as number) - 0.5) * 2 * levelSpread,
    };
  };
  const steps = options.horizons;
  const objective = (u: Float64Array): number => {
    const p = decode(u);
    return steps !== undefined && steps.length > 0
      ? multiStepSquaredErrors(y, spec, p, p.level0, initial.trend, initial.season, scratch, steps)
      : sumSquaredErrors(y, spec, p, p.level0, initial.trend, initial.season, scratch);
  };

  // Starting values: a moderately adaptive level, a slow trend and season (Hyndman et al.
  // 2008 §5.3 start from similar values), the heuristic initial level.
  const start = new Float64Array(dims);
  start[0] = 0.3;
  if (iBeta >= 0) start[iBeta] = 0.1;
  if (iGamma >= 0) start[iGamma] = 0.05;
  if (iPhi >= 0) start[iPhi] = 0.9;
  start[iLevel] = 0.5;
  const best = minimizeNelderMead(objective, start, {
    maxEvaluations: options.maxEvaluations ?? 30 + 30 * dims,
    tolerance: 1e-5,
    initialStep: 0.15,
    restarts: 1,
  });
  const decoded = decode(best.x);
  const parameters: EtsParameters = {
    alpha: decoded.alpha,
    beta: decoded.beta,
    gamma: decoded.gamma,
    phi: decoded.phi,
  };
  const state: EtsState = {
    level: decoded.level0,
    trend: initial.trend,
    season: Float64Array.from(initial.season),
    seasonPos: 0,
  };
  let sse = 0;
  for (let t = 0; t < n; t++) {
    const e = etsUpdate(spec, parameters, state, y[t] as number);
    if (Number.isFinite(e)) sse += e * e;
  }
  if (!Number.isFinite(sse) || !isFiniteState(state)) return undefined;
  const freeParameters = dims + (hasTrend ? 1 : 0) + (seasonal ? spec.period - 1 : 0) + 1;
  return {
    spec,
    parameters,
    state,
    sse,
    observed,
    aicc: aicc(sse, observed, freeParameters),
    sigma2: sse / observed,
  };
}

/**
 * AICc of a Gaussian model with `k` estimated parameters (σ² included) and sum of squared errors
 * `sse` over `n` observations: n·log(SSE/n) + 2k + 2k(k+1)/(n−k−1), constants dropped.
 */
function aicc(sse: number, n: number, k: number): number {
  if (n - k - 1 <= 0) return Number.POSITIVE_INFINITY;
  // A perfect fit has SSE 0; floor it so models still rank by their parameter count.
  const logLikTerm = n * Math.log(Math.max(sse, 1e-300) / n);
  return logLikTerm + 2 * k + (2 * k * (k + 1)) / (n - k - 1);
}

function isFiniteState(state: EtsState): boolean {
  if (!Number.isFinite(state.level) || !Number.isFinite(state.trend)) return false;
  for (let i = 0; i < state.season.length; i++) {
    if (!Number.isFinite(state.season[i])) return false;
  }
  return true;
}

/**
 * The objective: Σ e_t² over observed values, run from the given initial states. The hot loop of
 * every fit: locals only, no allocation (the seasonal ring is copied into `ring`), one loop per
 * seasonal/non-seasonal case so the JIT sees no per-step branch on the model.
 */
function sumSquaredErrors(
  y: Float64Array,
  spec: EtsSpec,
  p: EtsParameters,
  level0: number,
  trend0: number,
  season0: Float64Array,
  ring: Float64Array,
): number {
  const alpha = p.alpha;
  const phi = effectivePhi(spec, p.phi);
  const beta = spec.trend === "N" ? 0 : p.beta;
  let level = level0;
  let trend = spec.trend === "N" ? 0 : trend0;
  let sse = 0;
  const n = y.length;
  if (spec.season !== "A") {
    for (let t = 0; t < n; t++) {
      const v = y[t] as number;
      const damped = phi * trend;
      const base = level + damped;
      if (!Number.isNaN(v)) {
        const e = v - base;
        sse += e * e;
        level = base + alpha * e;
        trend = damped + beta * e;
      } else {
        level = base;
        trend = damped;
      }
    }
    return finiteOrInfinity(sse, level);
  }
  const gamma = p.gamma;
  const m = spec.period;
  ring.set(season0);
  let pos = 0;
  for (let t = 0; t < n; t++) {
    const v = y[t] as number;
    const s = ring[pos] as number;
    const damped = phi * trend;
    const base = level + damped;
    if (!Number.isNaN(v)) {
      const e = v - base - s;
      sse += e * e;
      level = base + alpha * e;
      trend = damped + beta * e;
      ring[pos] = s + gamma * e;
    } else {
      level = base;
      trend = damped;
    }
    if (++pos === m) pos = 0;
  }
  return finiteOrInfinity(sse, level);
}

/**
 * The multi-step objective: at every origin t, the squared errors of the forecasts `steps` ahead
 * against the observed values there, summed over origins and steps. O(n · steps.length).
 */
function multiStepSquaredErrors(
  y: Float64Array,
  spec: EtsSpec,
  p: EtsParameters,
  level0: number,
  trend0: number,
  season0: Float64Array,
  ring: Float64Array,
  steps: Int32Array,
): number {
  const alpha = p.alpha;
  const phi = effectivePhi(spec, p.phi);
  const beta = spec.trend === "N" ? 0 : p.beta;
  const gamma = p.gamma;
  const seasonal = spec.season === "A";
  const m = spec.period;
  const k = steps.length;
  ring.set(season0);
  let level = level0;
  let trend = spec.trend === "N" ? 0 : trend0;
  let pos = 0;
  let sse = 0;
  const n = y.length;
  // φ + φ² + … + φ^h for each step h in `steps`: fixed for the whole evaluation.
  const damping = new Float64Array(k);
  for (let j = 0, h = 0, power = 1, cumulative = 0; j < k; j++) {
    const target = steps[j] as number;
    for (; h < target; h++) {
      power *= phi;
      cumulative += power;
    }
    damping[j] = cumulative;
  }
  for (let t = 0; t < n; t++) {
    // Forecasts from origin t (before y_t is seen) for t + h − 1, h in steps.
    for (let j = 0; j < k; j++) {
      const h = steps[j] as number;
      const index = t + h - 1;
      if (index >= n) break;
      const v = y[index] as number;
      if (Number.isNaN(v)) continue;
      const s = seasonal ? (ring[(pos + h - 1) % m] as number) : 0;
      const e = v - (level + (damping[j] as number) * trend + s);
      sse += e * e;
    }
    const v = y[t] as number;
    const s = seasonal ? (ring[pos] as number) : 0;
    const damped = phi * trend;
    const base = level + damped;
    if (!Number.isNaN(v)) {
      const e = v - base - s;
      level = base + alpha * e;
      trend = damped + beta * e;
      if (seasonal) ring[pos] = s + gamma * e;
    } else {
      level = base;
      trend = damped;
    }
    if (seasonal && ++pos === m) pos = 0;
  }
  return finiteOrInfinity(sse, level);
}

/**
 * Up to `count` steps in [1, horizon], spread geometrically (1, 2, 3, 5, 8, 12 for 12), where a
 * multi-step objective is evaluated: near steps matter most and cost is bounded for long horizons.
 */
export function objectiveSteps(horizon: number, count = 6): Int32Array {
  const steps = new Set<number>([1, horizon]);
  for (let i = 1; i < count - 1; i++) {
    steps.add(Math.max(1, Math.round(horizon ** (i / (count - 1)))));
  }
  return Int32Array.from([...steps].filter((h) => h >= 1 && h <= horizon).sort((a, b) => a - b));
}

interface InitialState {
  readonly level: number;
  readonly trend: number;
  readonly season: Float64Array;
  /** Spread of the first deseasonalised values around the level: the optimiser's range for it. */
  readonly spread: number;
}

/**
 * Heuristic initial states (Hyndman et al. 2008 §2.6.1, adapted to missing values): seasonal
 * indices from a classical decomposition of the whole window, then level and trend from a least
 * squares line through the first deseasonalised observations.
 */
function initialState(y: Float64Array, spec: EtsSpec): InitialState {
  const n = y.length;
  const m = spec.period;
  const season = new Float64Array(m);
  if (spec.season === "A") seasonalIndices(y, m, season);
  // Line through the first observations (at least 10, a season's worth when seasonal, capped so
  // a weekly season does not smear the level over a week).
  const wanted = spec.season === "A" ? Math.min(Math.max(10, m), 288) : 10;
  let count = 0;
  let sumT = 0;
  let sumZ = 0;
  let sumTT = 0;
  let sumTZ = 0;
  let last = 0;
  for (let t = 0; t < n && count < wanted; t++) {
    const v = y[t] as number;
    if (!Number.isFinite(v)) continue;
    const z = v - (season[t % m] as number);
    const x = t + 1;
    count++;
    sumT += x;
    sumZ += z;
    sumTT += x * x;
    sumTZ += x * z;
    last = t;
  }
  if (count === 0) return { level: 0, trend: 0, season, spread: 0 };
  const meanT = sumT / count;
  const meanZ = sumZ / count;
  const varT = sumTT / count - meanT * meanT;
  const slope = count >= 3 && varT > 0 ? (sumTZ / count - meanT * meanZ) / varT : 0;
  const level = meanZ - slope * meanT;
  let spread = 0;
  for (let t = 0; t <= last; t++) {
    const v = y[t] as number;
    if (!Number.isFinite(v)) continue;
    spread = Math.max(spread, Math.abs(v - (season[t % m] as number) - level));
  }
  return { level, trend: spec.trend === "N" ? 0 : slope, season, spread };
}

/**
 * Mean of (y − centred moving average of width m) per slot t mod m, normalised to sum to 0.
 * Slots never observed get 0. O(n) with prefix sums.
 */
function seasonalIndices(y: Float64Array, m: number, out: Float64Array): void {
  const n = y.length;
  const prefixSum = new Float64Array(n + 1);
  const prefixCount = new Int32Array(n + 1);
  for (let t = 0; t < n; t++) {
    const v = y[t] as number;
    const ok = Number.isFinite(v);
    prefixSum[t + 1] = (prefixSum[t] as number) + (ok ? v : 0);
    prefixCount[t + 1] = (prefixCount[t] as number) + (ok ? 1 : 0);
  }
  const sums = new Float64Array(m);
  const counts = new Int32Array(m);
  const before = Math.floor(m / 2);
  const after = m - 1 - before;
  for (let t = before; t + after < n; t++) {
    const v = y[t] as number;
    if (!Number.isFinite(v)) continue;
    const c = (prefixCount[t + after + 1] as number) - (prefixCount[t - before] as number);
    if (2 * c < m) continue;
    const average = ((prefixSum[t + after + 1] as number) - (prefixSum[t - before] as number)) / c;
    const slot = t % m;
    sums[slot] = (sums[slot] as number) + (v - average);
    counts[slot] = (counts[slot] as number) + 1;
  }
  let total = 0;
  let slots = 0;
  for (let k = 0; k < m; k++) {
    if ((counts[k] as number) > 0) {
      out[k] = (sums[k] as number) / (counts[k] as number);
      total += out[k] as number;
      slots++;
    }
  }
  const mean = slots > 0 ? total / slots : 0;
  for (let k = 0; k < m; k++) out[k] = (counts[k] as number) > 0 ? (out[k] as number) - mean : 0;
}
