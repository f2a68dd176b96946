import { describe, expect, it } from "vitest";
import {
  adamState,
  adamStep,
  initMlp,
  type MlpShape,
  markWeights,
  mlpBackward,
  mlpForward,
  mlpParameterCount,
  mlpWorkspace,
} from "../../../../../../layers/domain/forecasting/methods/global/network.js";
import { seededRandom } from "../../../../../../layers/domain/forecasting/methods/global/random.js";

/** A scalar loss of the network's outputs: Σ w·y with fixed random weights w. */
function setup(shape: MlpShape, batch: number) {
  const random = seededRandom(7);
  const params = new Float64Array(mlpParameterCount(shape));
  initMlp(shape, params, 0, random, 1);
  // Non-zero biases so that every ReLU's side is tested, away from the kink.
  for (let i = 0; i < params.length; i++)
    params[i] = (params[i] as number) + 0.05 * random.normal();
  const input = Float64Array.from({ length: batch * shape.inputSize }, () => random.normal());
  const weights = Float64Array.from({ length: batch * shape.outputSize }, () => random.normal());
  const workspace = mlpWorkspace(shape, batch);
  const loss = (p: Float64Array, x: Float64Array): number => {
    const out = mlpForward(shape, p, 0, x, batch, workspace);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) sum += (weights[i] as number) * (out[i] as number);
    return sum;
  };
  return { params, input, weights, workspace, loss };
}

describe("mlp", () => {
  const shape: MlpShape = { inputSize: 5, hiddenSizes: [7, 6], outputSize: 4 };
  const batch = 3;

  it("counts weights and biases of every layer", () => {
    expect(mlpParameterCount(shape)).toBe(5 * 7 + 7 + 7 * 6 + 6 + 6 * 4 + 4);
  });

  it("has parameter gradients that match finite differences", () => {
    const { params, input, weights, workspace, loss } = setup(shape, batch);
    loss(params, input);
    const grad = new Float64Array(params.length);
    mlpBackward(shape, params, 0, input, batch, workspace, weights, grad);
    const eps = 1e-6;
    for (let i = 0; i < params.length; i++) {
      const plus = Float64Array.from(params);
      const minus = Float64Array.from(params);
      plus[i] = (plus[i] as number) + eps;
      minus[i] = (minus[i] as number) - eps;
      const numeric = (loss(plus, input) - loss(minus, input)) / (2 * eps);
      expect(grad[i]).toBeCloseTo(numeric, 5);
    }
  });

  it("has input gradients that match finite differences", () => {
    const { params, input, weights, workspace, loss } = setup(shape, batch);
    loss(params, input);
    const grad = new Float64Array(params.length);
    const inputGrad = new Float64Array(input.length);
    mlpBackward(shape, params, 0, input, batch, workspace, weights, grad, inputGrad);
    const eps = 1e-6;
    for (let i = 0; i < input.length; i++) {
      const plus = Float64Array.from(input);
      const minus = Float64Array.from(input);
      plus[i] = (plus[i] as number) + eps;
      minus[i] = (minus[i] as number) - eps;
      const numeric = (loss(params, plus) - loss(params, minus)) / (2 * eps);
      expect(inputGrad[i]).toBeCloseTo(numeric, 5);
    }
  });

  it("accumulates gradients rather than overwriting them", () => {
    const { params, input, weights, workspace, loss } = setup(shape, batch);
    loss(params, input);
    const once = new Float64Array(params.length);
    mlpBackward(shape, params, 0, input, batch, workspace, weights, once);
    const twice = new Float64Array(params.length);
    mlpBackward(shape, params, 0, input, batch, workspace, weights, twice);
    mlpBackward(shape, params, 0, input, batch, workspace, weights, twice);
    for (let i = 0; i < params.length; i++)
      expect(twice[i]).toBeCloseTo(2 * (once[i] as number), 10);
  });

  it("is a linear model when it has no hidden layer", () => {
    const linear: MlpShape = { inputSize: 2, hiddenSizes: [], outputSize: 1 };
    const params = Float64Array.from([2, -3, 0.5]);
    const out = mlpForward(
      linear,
      params,
      0,
      Float64Array.from([1, 1, 4, 2]),
      2,
      mlpWorkspace(linear, 2),
    );
    expect([...out.slice(0, 2)]).toEqual([2 - 3 + 0.5, 8 - 6 + 0.5]);
  });

  it("marks weights for decay and leaves biases out", () => {
    const mask = new Uint8Array(mlpParameterCount(shape));
    markWeights(shape, mask, 0);
    expect(mask.slice(0, 35).every((m) => m === 1)).toBe(true);
    expect(mask.slice(35, 42).every((m) => m === 0)).toBe(true);
  });
});

describe("adamStep", () => {
  it("walks a quadratic bowl to its minimum", () => {
    const target = [3, -2, 0.5];
    const params = new Float64Array(3);
    const grad = new Float64Array(3);
    const state = adamState(3);
    const settings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };
    for (let step = 0; step < 2000; step++) {
      for (let i = 0; i < 3; i++) grad[i] = 2 * ((params[i] as number) - (target[i] as number));
      adamStep(params, grad, state, 0.05, settings);
    }
    target.forEach((t, i) => {
      expect(params[i]).toBeCloseTo(t, 2);
    });
  });

  it("shrinks decayed parameters towards zero when there is no gradient", () => {
    const params = Float64Array.from([1, 1]);
    const state = adamState(2);
    const settings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.5 };
    adamStep(params, new Float64Array(2), state, 0.1, settings, Uint8Array.from([1, 0]));
    expect(params[0]).toBeCloseTo(0.95, 10);
    expect(params[1]).toBe(1);
  });
});
