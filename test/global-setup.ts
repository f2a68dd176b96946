import type { TestProject } from "vitest/node";
import { startModelServer } from "../model-server/server.js";
import { startMoto } from "./helpers/moto.js";

/**
 * Starts what the tests need, once per run: an AWS-compatible server (moto, unless
 * AWS_ENDPOINT_URL already points at one such as LocalStack) and the local model server.
 * Both are stopped when the run ends, also when tests fail.
 */
declare module "vitest" {
  export interface ProvidedContext {
    awsEndpointUrl: string;
    awsEndpointIsMoto: boolean;
    /** The local model server (SageMaker container contract), reached by the SDK through it. */
    modelServerUrl: string;
    /** The model server's prediction length (its PREDICTION_LENGTH). */
    modelServerPredictionLength: number;
  }
}

/** As the stack's endpoint: one hour of 5-minute steps. */
const MODEL_SERVER_PREDICTION_LENGTH = 12;

export async function setup(project: TestProject) {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const external = process.env.AWS_ENDPOINT_URL;
    if (external) {
      project.provide("awsEndpointUrl", external);
      project.provide("awsEndpointIsMoto", false);
    } else {
      const moto = await startMoto();
      stops.push(moto.stop);
      project.provide("awsEndpointUrl", moto.endpoint);
      project.provide("awsEndpointIsMoto", true);
    }
    const modelServer = await startModelServer({
      port: 0,
      host: "127.0.0.1",
      predictionLength: MODEL_SERVER_PREDICTION_LENGTH,
      seasonLength: 288,
      modelVersion: "test",
    });
    stops.push(modelServer.close);
    await modelServer.ready;
    project.provide("modelServerUrl", modelServer.url);
    project.provide("modelServerPredictionLength", MODEL_SERVER_PREDICTION_LENGTH);
  } catch (error) {
    // Whatever started must not outlive a failed setup.
    await stopAll();
    throw error;
  }
  return stopAll;
}
