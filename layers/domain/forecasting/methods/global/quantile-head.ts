/**
 * The multi-horizon, multi-quantile output of the global model, and its pinball loss.
 *
 * For every step h the network gives one raw value per quantile level, plus one value per window,
 * γ, its log "spread": σ = e^γ multiplies every correction and increment. The level nearest 0.5
 * is base + σ·r_mid; the other levels are reached from it by non-negative increments
 * σ·softplus(r), so the quantiles are monotone in their level by construction. Separating the
 * spread lets the network make a flat window's forecast flat (γ ≪ 0) with one output instead of
 * driving every increment to −∞ — which matters for the many step-like demand series.
 *
 * The base is a learned per-step linear combination of "anchors" — simple forecasts computed
 * from the inputs (last value, value one day back, one week back, recent mean) — so the network
 * learns a correction to them rather than the level itself (the residual idea of N-BEATS,
 * Oreshkin et al. 2020; the direct multi-horizon quantile head of MQ-CNN, Wen et al. 2017).
 *
 * For long horizons the raw values are given at knots every `outputStride` steps and
 * interpolated linearly between them (the anchors keep every step's own value), which cuts the
 * output layer of a 288-step head fourfold.
 *
 * Everything here is in the scaled space (values divided by the series' scale).
 */

/** Shape of the head. */
export interface QuantileHeadShape {
  readonly horizon: number;
  /** Quantile levels, ascending, in (0, 1). */
  readonly levels: readonly number[];
  /** Anchors per step. */
  readonly anchorCount: number;
  /** Steps between the knots the network gives raw values at (1 = every step). */
  readonly outputStride: number;
}

/**
 * Anchor weights are stored divided by this gain, so Adam — whose steps are about the learning
 * rate in the stored units — moves them this many times faster than the network's weights:
 * there are few of them and they carry most of the forecast.
 */
export const ANCHOR_GAIN = 10;

/** γ is clamped to this range (σ from about 10⁻¹³ to 2·10⁴ scales). */
const MIN_LOG_SPREAD = -30;
const MAX_LOG_SPREAD = 10;

/** Knots of the head: steps 0, stride, 2·stride, … up to the last step. */
export function knotCount(shape: QuantileHeadShape): number {
  return Math.ceil((shape.horizon - 1) / shape.outputStride) + 1;
}

/** Raw network outputs the head reads per window: `knots × levels`, then γ. */
export function headInputSize(shape: QuantileHeadShape): number {
  return knotCount(shape) * shape.levels.length + 1;
}

/** Index of the level nearest the median: the one the others are built from. */
export function middleLevelIndex(levels: readonly number[]): number {
  let best = 0;
  levels.forEach((level, i) => {
    if (Math.abs(level - 0.5) < Math.abs((levels[best] as number) - 0.5)) best = i;
  });
  return best;
}

/** log(1 + eˣ), without overflow. */
export function softplus(x: number): number {
  return x > 30 ? x : x < -30 ? Math.exp(x) : Math.log1p(Math.exp(x));
}

/** The softplus derivative, 1 / (1 + e⁻ˣ). */
function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Raw value whose softplus is `y` (> 0): the bias that starts an increment at `y`. */
export function inverseSoftplus(y: number): number {
  return y > 30 ? y : Math.log(Math.expm1(y));
}

/** Scratch buffers of the head. */
export interface HeadScratch {
  /** `horizon × levels` raw values per step, interpolated from the knots. */
  readonly stepRaw: Float64Array;
  /** `horizon × levels` gradient with respect to `stepRaw`. */
  readonly stepGrad: Float64Array;
  /** `horizon` bases. */
  readonly bases: Float64Array;
}

/** Scratch for a head shape. */
export function headScratch(shape: QuantileHeadShape): HeadScratch {
  const size = shape.horizon * shape.levels.length;
  return {
    stepRaw: new Float64Array(size),
    stepGrad: new Float64Array(size),
    bases: new Float64Array(shape.horizon),
  };
}

/**
 * Quantiles of one sample.
 *
 * @param shape head shape
 * @param alpha the anchor weights (`horizon × anchorCount`), read from `alphaAt`
 * @param alphaAt offset of the anchor weights in `alpha`
 * @param raw the network output of the sample (`headInputSize`), read from `rawAt`
 * @param rawAt offset of the sample's row in `raw`
 * @param anchors `horizon × anchorCount` anchor values of the sample, read from `anchorsAt`
 * @param anchorsAt offset of the sample's anchors
 * @param scratch buffers (the per-step raw values and the bases are left in it)
 * @param out receives `horizon × levels` quantiles (step-major), monotone in the level
 */
export function headForward(
  shape: QuantileHeadShape,
  alpha: Float64Array,
  alphaAt: number,
  raw: Float64Array,
  rawAt: number,
  anchors: Float64Array,
  anchorsAt: number,
  scratch: HeadScratch,
  out: Float64Array,
): void {
  const levels = shape.levels.length;
  const mid = middleLevelIndex(shape.levels);
  const a = shape.anchorCount;
  const knots = knotCount(shape);
  const gamma = raw[rawAt + knots * levels] as number;
  const spread = Math.exp(Math.min(MAX_LOG_SPREAD, Math.max(MIN_LOG_SPREAD, gamma)));
  const { stepRaw, bases } = scratch;
  for (let h = 0; h < shape.horizon; h++) {
    const position = h / shape.outputStride;
    const k0 = Math.floor(position);
    const k1 = Math.min(k0 + 1, knots - 1);
    const f = position - k0;
    const row = h * levels;
    for (let j = 0; j < levels; j++) {
      const r0 = raw[rawAt + k0 * levels + j] as number;
      stepRaw[row + j] = f === 0 ? r0 : r0 * (1 - f) + (raw[rawAt + k1 * levels + j] as number) * f;
    }
    let base = 0;
    for (let k = 0; k < a; k++) {
      base += (alpha[alphaAt + h * a + k] as number) * (anchors[anchorsAt + h * a + k] as number);
    }
    base *= ANCHOR_GAIN;
    bases[h] = base;
    out[row + mid] = base + spread * (stepRaw[row + mid] as number);
    for (let j = mid + 1; j < levels; j++) {
      out[row + j] = (out[row + j - 1] as number) + spread * softplus(stepRaw[row + j] as number);
    }
    for (let j = mid - 1; j >= 0; j--) {
      out[row + j] = (out[row + j + 1] as number) - spread * softplus(stepRaw[row + j] as number);
    }
  }
}

/** ρτ(y − q) = max(τ(y − q), (τ − 1)(y − q)). */
function pinball(y: number, q: number, tau: number): number {
  return y >= q ? tau * (y - q) : (1 - tau) * (q - y);
}

/**
 * Pinball loss of one sample and its gradient.
 *
 * Loss: Σ over observed steps h and levels τ of ρτ(y_h − q_hτ) (Koenker & Bassett 1978),
 * times `weight`.
 *
 * @param shape head shape
 * @param alpha anchor weights, from `alphaAt`
 * @param alphaAt offset of the anchor weights
 * @param raw network output of the sample, from `rawAt`
 * @param rawAt offset of the sample's row
 * @param anchors the sample's anchors, from `anchorsAt`
 * @param anchorsAt offset of the sample's anchors
 * @param targets the sample's `horizon` scaled actuals, from `targetsAt`; NaN is not scored
 * @param targetsAt offset of the sample's targets
 * @param weight multiplies the loss and the gradients
 * @param scratch buffers (overwritten)
 * @param quantiles receives the sample's `horizon × levels` quantiles
 * @param rawGrad receives the gradient with respect to the raw outputs, at `rawAt`
 * @param alphaGrad accumulates the gradient with respect to the anchor weights, at `alphaAt`
 * @returns the weighted loss
 */
export function headLoss(
  shape: QuantileHeadShape,
  alpha: Float64Array,
  alphaAt: number,
  raw: Float64Array,
  rawAt: number,
  anchors: Float64Array,
  anchorsAt: number,
  targets: Float64Array,
  targetsAt: number,
  weight: number,
  scratch: HeadScratch,
  quantiles: Float64Array,
  rawGrad: Float64Array,
  alphaGrad: Float64Array,
): number {
  headForward(shape, alpha, alphaAt, raw, rawAt, anchors, anchorsAt, scratch, quantiles);
  const { bases, stepRaw, stepGrad } = scratch;
  const levels = shape.levels;
  const count = levels.length;
  const mid = middleLevelIndex(levels);
  const a = shape.anchorCount;
  const knots = knotCount(shape);
  const gammaAt = rawAt + knots * count;
  const gamma = raw[gammaAt] as number;
  const clamped = gamma < MIN_LOG_SPREAD || gamma > MAX_LOG_SPREAD;
  const spread = Math.exp(Math.min(MAX_LOG_SPREAD, Math.max(MIN_LOG_SPREAD, gamma)));
  let gammaGrad = 0;
  let loss = 0;
  for (let h = 0; h < shape.horizon; h++) {
    const row = h * count;
    const y = targets[targetsAt + h] as number;
    if (Number.isNaN(y)) {
      stepGrad.fill(0, row, row + count);
      continue;
    }
    const base = bases[h] as number;
    // ∂loss/∂q per level, cumulated outwards from the middle (an increment moves every level
    // beyond it); ∂q/∂γ = q − base for every level.
    let upper = 0;
    for (let j = count - 1; j > mid; j--) {
      const q = quantiles[row + j] as number;
      const tau = levels[j] as number;
      const dq = y >= q ? -tau : 1 - tau;
      loss += pinball(y, q, tau);
      upper += dq;
      gammaGrad += dq * (q - base);
      stepGrad[row + j] = weight * spread * upper * sigmoid(stepRaw[row + j] as number);
    }
    let lower = 0;
    for (let j = 0; j < mid; j++) {
      const q = quantiles[row + j] as number;
      const tau = levels[j] as number;
      const dq = y >= q ? -tau : 1 - tau;
      loss += pinball(y, q, tau);
      lower += dq;
      gammaGrad += dq * (q - base);
      stepGrad[row + j] = -weight * spread * lower * sigmoid(stepRaw[row + j] as number);
    }
    const qMid = quantiles[row + mid] as number;
    const tauMid = levels[mid] as number;
    const dMid = y >= qMid ? -tauMid : 1 - tauMid;
    loss += pinball(y, qMid, tauMid);
    gammaGrad += dMid * (qMid - base);
    const total = upper + lower + dMid;
    stepGrad[row + mid] = weight * spread * total;
    for (let k = 0; k < a; k++) {
      const at = alphaAt + h * a + k;
      alphaGrad[at] =
        (alphaGrad[at] as number) +
        weight * total * ANCHOR_GAIN * (anchors[anchorsAt + h * a + k] as number);
    }
  }
  // Back from the steps to the knots they interpolate.
  rawGrad.fill(0, rawAt, gammaAt);
  for (let h = 0; h < shape.horizon; h++) {
    const position = h / shape.outputStride;
    const k0 = Math.floor(position);
    const k1 = Math.min(k0 + 1, knots - 1);
    const f = position - k0;
    const row = h * count;
    for (let j = 0; j < count; j++) {
      const g = stepGrad[row + j] as number;
      const at0 = rawAt + k0 * count + j;
      rawGrad[at0] = (rawGrad[at0] as number) + g * (1 - f);
      if (f > 0) {
        const at1 = rawAt + k1 * count + j;
        rawGrad[at1] = (rawGrad[at1] as number) + g * f;
      }
    }
  }
  rawGrad[gammaAt] = clamped ? 0 : weight * gammaGrad;
  return loss * weight;
}
