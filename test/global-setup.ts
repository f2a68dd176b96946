import type { TestProject } from "vitest/node";
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
  }
}

export async function setup(project: TestProject) {
  const stops: Array<() => Promise<void>> = [];
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
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
