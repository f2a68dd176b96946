import type { Random } from "./random.js";

/**
 * A small multilayer perceptron written by hand for the global model: ReLU hidden layers, a
 * linear output layer, batched forward and backward passes over flat `Float64Array`s with no
 * allocation per sample, and Adam (Kingma & Ba 2015) with decoupled weight decay (AdamW).
 *
 * Parameters live in one flat array so that the optimiser, the serialiser and the gradient check
 * treat the network as a single vector. Layer l stores its weights row-major (outputs × inputs)
 * followed by its biases.
 */

/** Layer sizes of a network. */
export interface MlpShape {
  readonly inputSize: number;
  /** Widths of the ReLU hidden layers, input side first; may be empty (a linear model). */
  readonly hiddenSizes: readonly number[];
  readonly outputSize: number;
}

/** Buffers a forward and backward pass reuse, sized for up to `batchCapacity` rows. */
export interface MlpWorkspace {
  readonly batchCapacity: number;
  /** Output of every layer (hidden ones after ReLU), `batchCapacity × width` each. */
  readonly activations: Float64Array[];
  /** Gradient of the loss with respect to each layer's output (before ReLU is applied). */
  readonly deltas: Float64Array[];
}

/** Rows processed together so that one weight row stays in cache across them. */
const ROW_BLOCK = 16;

function layerSizes(shape: MlpShape): number[] {
  return [shape.inputSize, ...shape.hiddenSizes, shape.outputSize];
}

/**
 * Number of parameters (weights and biases) of a network.
 *
 * @param shape layer sizes
 * @returns the length of the flat parameter vector
 */
export function mlpParameterCount(shape: MlpShape): number {
  const sizes = layerSizes(shape);
  let count = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    count += (sizes[l] as number) * (sizes[l + 1] as number) + (sizes[l + 1] as number);
  }
  return count;
}

/**
 * Allocates the buffers of a pass.
 *
 * @param shape layer sizes
 * @param batchCapacity largest batch the workspace serves
 */
export function mlpWorkspace(shape: MlpShape, batchCapacity: number): MlpWorkspace {
  const sizes = layerSizes(shape).slice(1);
  return {
    batchCapacity,
    activations: sizes.map((size) => new Float64Array(size * batchCapacity)),
    deltas: sizes.map((size) => new Float64Array(size * batchCapacity)),
  };
}

/**
 * He initialisation for the ReLU layers (He et al. 2015); the output layer is scaled by
 * `outputGain` so the network starts close to its output biases.
 *
 * @param shape layer sizes
 * @param params the flat parameter vector
 * @param offset where this network's parameters start in `params`
 * @param random the seeded source
 * @param outputGain multiplier of the output layer's initial weights
 */
export function initMlp(
  shape: MlpShape,
  params: Float64Array,
  offset: number,
  random: Random,
  outputGain: number,
): void {
  const sizes = layerSizes(shape);
  let at = offset;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l] as number;
    const fanOut = sizes[l + 1] as number;
    const isOutput = l + 2 === sizes.length;
    const std = Math.sqrt(2 / fanIn) * (isOutput ? outputGain : 1);
    for (let i = 0; i < fanIn * fanOut; i++) params[at++] = random.normal() * std;
    for (let i = 0; i < fanOut; i++) params[at++] = 0;
  }
}

/**
 * Forward pass over a batch.
 *
 * @param shape layer sizes
 * @param params the flat parameter vector
 * @param offset where the network's parameters start
 * @param input `batch × inputSize` values, row-major
 * @param batch rows in this batch (≤ the workspace's capacity)
 * @param workspace buffers of the pass
 * @returns the output buffer (`batch × outputSize`, row-major); valid until the next pass
 */
export function mlpForward(
  shape: MlpShape,
  params: Float64Array,
  offset: number,
  input: Float64Array,
  batch: number,
  workspace: MlpWorkspace,
): Float64Array {
  const sizes = layerSizes(shape);
  let x = input;
  let at = offset;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inSize = sizes[l] as number;
    const outSize = sizes[l + 1] as number;
    const y = workspace.activations[l] as Float64Array;
    const relu = l + 2 < sizes.length;
    const biasAt = at + inSize * outSize;
    for (let b0 = 0; b0 < batch; b0 += ROW_BLOCK) {
      const b1 = Math.min(batch, b0 + ROW_BLOCK);
      for (let o = 0; o < outSize; o++) {
        const w = at + o * inSize;
        const bias = params[biasAt + o] as number;
        for (let b = b0; b < b1; b++) {
          const xRow = b * inSize;
          let s0 = 0;
          let s1 = 0;
          let i = 0;
          for (; i + 1 < inSize; i += 2) {
            s0 += (params[w + i] as number) * (x[xRow + i] as number);
            s1 += (params[w + i + 1] as number) * (x[xRow + i + 1] as number);
          }
          if (i < inSize) s0 += (params[w + i] as number) * (x[xRow + i] as number);
          const s = bias + s0 + s1;
          y[b * outSize + o] = relu && s < 0 ? 0 : s;
        }
      }
    }
    at = biasAt + outSize;
    x = y;
  }
  return x;
}

/**
 * Backward pass: given the gradient of the loss with respect to the outputs of the last forward
 * pass, adds the gradient with respect to every parameter into `grad` (same layout as `params`)
 * and, when `inputGrad` is given, writes the gradient with respect to the inputs there.
 *
 * @param shape layer sizes
 * @param params the flat parameter vector (as in the forward pass)
 * @param offset where the network's parameters start (in both `params` and `grad`)
 * @param input the forward pass's input
 * @param batch rows in the batch
 * @param workspace the forward pass's workspace (its activations are read)
 * @param outputGrad `batch × outputSize` gradient of the loss with respect to the outputs
 * @param grad accumulates parameter gradients
 * @param inputGrad optional `batch × inputSize` buffer overwritten with input gradients
 */
export function mlpBackward(
  shape: MlpShape,
  params: Float64Array,
  offset: number,
  input: Float64Array,
  batch: number,
  workspace: MlpWorkspace,
  outputGrad: Float64Array,
  grad: Float64Array,
  inputGrad?: Float64Array,
): void {
  const sizes = layerSizes(shape);
  const offsets: number[] = [];
  let at = offset;
  for (let l = 0; l + 1 < sizes.length; l++) {
    offsets.push(at);
    at += (sizes[l] as number) * (sizes[l + 1] as number) + (sizes[l + 1] as number);
  }
  let delta = outputGrad;
  for (let l = sizes.length - 2; l >= 0; l--) {
    const inSize = sizes[l] as number;
    const outSize = sizes[l + 1] as number;
    const w0 = offsets[l] as number;
    const biasAt = w0 + inSize * outSize;
    const x = l === 0 ? input : (workspace.activations[l - 1] as Float64Array);
    const target = l === 0 ? inputGrad : (workspace.deltas[l - 1] as Float64Array);
    if (target) target.fill(0, 0, batch * inSize);
    // Blocks of rows, so each weight row (and its gradient row) is reused from cache.
    for (let b0 = 0; b0 < batch; b0 += ROW_BLOCK) {
      const b1 = Math.min(batch, b0 + ROW_BLOCK);
      for (let o = 0; o < outSize; o++) {
        const w = w0 + o * inSize;
        let biasGrad = 0;
        for (let b = b0; b < b1; b++) {
          const g = delta[b * outSize + o] as number;
          if (g === 0) continue;
          biasGrad += g;
          const xRow = b * inSize;
          for (let i = 0; i < inSize; i++) {
            grad[w + i] = (grad[w + i] as number) + g * (x[xRow + i] as number);
          }
          if (target) {
            for (let i = 0; i < inSize; i++) {
              target[xRow + i] = (target[xRow + i] as number) + g * (params[w + i] as number);
            }
          }
        }
        grad[biasAt + o] = (grad[biasAt + o] as number) + biasGrad;
      }
    }
    if (!target) break;
    if (l > 0) {
      // Through the ReLU of the layer below: no gradient where it was inactive.
      for (let k = 0; k < batch * inSize; k++) if ((x[k] as number) <= 0) target[k] = 0;
    }
    delta = target;
  }
}

/** Settings of the Adam optimiser. */
export interface AdamSettings {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Decoupled weight decay per step, as a fraction of the learning rate (AdamW). */
  readonly weightDecay: number;
}

/** The optimiser's running moments. */
export interface AdamState {
  readonly m: Float64Array;
  readonly v: Float64Array;
  step: number;
}

/** Fresh optimiser state for `size` parameters. */
export function adamState(size: number): AdamState {
  return { m: new Float64Array(size), v: new Float64Array(size), step: 0 };
}

/**
 * One AdamW update.
 *
 * @param params updated in place
 * @param grad gradient of the loss (read only)
 * @param state moments, advanced by one step
 * @param learningRate step size of this update
 * @param settings betas, epsilon and weight decay
 * @param decayMask optional 1/0 per parameter: which parameters weight decay applies to
 */
export function adamStep(
  params: Float64Array,
  grad: Float64Array,
  state: AdamState,
  learningRate: number,
  settings: AdamSettings,
  decayMask?: Uint8Array,
): void {
  state.step++;
  const { beta1, beta2, epsilon, weightDecay } = settings;
  const correction1 = 1 - beta1 ** state.step;
  const correction2 = 1 - beta2 ** state.step;
  const stepSize = learningRate / correction1;
  const m = state.m;
  const v = state.v;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i] as number;
    const mi = beta1 * (m[i] as number) + (1 - beta1) * g;
    const vi = beta2 * (v[i] as number) + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    let p = params[i] as number;
    if (weightDecay > 0 && (decayMask === undefined || decayMask[i] === 1)) {
      p -= learningRate * weightDecay * p;
    }
    params[i] = p - (stepSize * mi) / (Math.sqrt(vi / correction2) + epsilon);
  }
}

/**
 * Which parameters of a network are weights (1) rather than biases (0), for weight decay.
 *
 * @param shape layer sizes
 * @param mask written from `offset` on
 * @param offset where the network's parameters start
 */
export function markWeights(shape: MlpShape, mask: Uint8Array, offset: number): void {
  const sizes = layerSizes(shape);
  let at = offset;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const weights = (sizes[l] as number) * (sizes[l + 1] as number);
    mask.fill(1, at, at + weights);
    at += weights;
    mask.fill(0, at, at + (sizes[l + 1] as number));
    at += sizes[l + 1] as number;
  }
}
