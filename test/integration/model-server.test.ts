import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { InvokeEndpointCommand, type ModelError } from "@aws-sdk/client-sagemaker-runtime";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { uniquePrefix } from "../helpers/tables.js";

/**
 * The model server against the real SageMaker Runtime client: the SDK reaches the server started
 * by the global setup through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME (PREDICTION_LENGTH 12), exactly as
 * it would reach a SageMaker endpoint. The container entry point (model-server/main.ts) is also
 * started as its own process, configured by environment, with its artefact in S3 (moto).
 */

const aws = createAwsClients();
const url = inject("modelServerUrl");
const predictionLength = inject("modelServerPredictionLength");
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

async function invoke(body: unknown, accept?: string) {
  const output = await aws.sagemakerRuntime().send(
    new InvokeEndpointCommand({
      EndpointName: "shaper-forecaster",
      ContentType: "application/json",
      ...(accept ? { Accept: accept } : {}),
      Body: new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body)),
    }),
  );
  return { contentType: output.ContentType, text: new TextDecoder().decode(output.Body) };
}

async function invokeJson(body: unknown) {
  return JSON.parse((await invoke(body)).text) as {
    predictions: { mean?: number[]; quantiles?: Record<string, number[]>; samples?: number[][] }[];
  };
}

const daily = (days: number) =>
  Array.from(
    { length: 288 * days },
    (_, i) => 10 + 5 * Math.sin((2 * Math.PI * i) / 288) + (i % 5),
  );

describe("model server through the SageMaker Runtime SDK", () => {
  it("answers a DeepAR request with mean and the default deciles over the configured prediction length", async () => {
    const { predictions } = await invokeJson({
      instances: [
        { start: "2026-11-20 00:00:00", target: daily(3), cat: [1] },
        { start: "2026-11-27 00:00:00", target: [4, 5, 6] },
      ],
    });
    expect(predictions).toHaveLength(2);
    for (const p of predictions) {
      expect(p.mean).toHaveLength(predictionLength);
      expect(Object.keys(p.quantiles ?? {}).sort()).toEqual([
        "0.1",
        "0.2",
        "0.3",
        "0.4",
        "0.5",
        "0.6",
        "0.7",
        "0.8",
        "0.9",
      ]);
      for (const row of Object.values(p.quantiles ?? {}))
        expect(row).toHaveLength(predictionLength);
      p.quantiles?.["0.9"]?.forEach((v, h) => {
        expect(v).toBeGreaterThanOrEqual(p.quantiles?.["0.1"]?.[h] ?? 0);
      });
      expect(p.samples).toBeUndefined();
    }
    // The served model (shaper, no artefact) follows the daily shape: its first step is near the
    // value one day back (the 5-step ripple on top is not a daily pattern, so not exactly it).
    const history = daily(3);
    expect(
      Math.abs((predictions[0]?.mean?.[0] ?? 0) - (history[history.length - 288] ?? 0)),
    ).toBeLessThan(2);
  });

  it("takes the prediction length from its configuration, not from the request", async () => {
    const { predictions } = await invokeJson({
      instances: [
        {
          start: "2026-11-27 00:00:00",
          target: [1, 2, 3],
          dynamic_feat: [new Array(3 + predictionLength).fill(0)],
        },
      ],
      configuration: { num_samples: 3, output_types: ["mean", "samples"], prediction_length: 48 },
    });
    expect(predictions[0]?.mean).toHaveLength(predictionLength);
    expect(predictions[0]?.samples).toHaveLength(3);
    expect(predictions[0]?.quantiles).toBeUndefined();
  });

  it("reads NaN strings as missing values and forecasts one-point and empty-history series", async () => {
    const { predictions } = await invokeJson({
      instances: [
        { start: "2026-11-27 00:00:00", target: [3, "NaN", 3, null, 3] },
        { start: "2026-11-27 00:00:00", target: [10] },
        { start: "2026-11-27 00:00:00", target: ["NaN", "NaN"] },
      ],
      configuration: { quantiles: ["0.1", "0.9"] },
    });
    const [gappy, single, none] = predictions;
    expect(gappy?.mean).toEqual(new Array(predictionLength).fill(3));
    expect(gappy?.quantiles?.["0.9"]).toEqual(new Array(predictionLength).fill(3));
    expect(single?.mean?.[0]).toBe(10);
    expect(
      (single?.quantiles?.["0.9"]?.[0] ?? 0) - (single?.quantiles?.["0.1"]?.[0] ?? 0),
    ).toBeGreaterThan(10);
    expect(none?.mean).toEqual(new Array(predictionLength).fill(0));
  });

  it("answers JSON Lines when asked, one prediction per line", async () => {
    const { contentType, text } = await invoke(
      {
        instances: [
          { start: "2026-11-27", target: [1, 2] },
          { start: "2026-11-27", target: [3] },
        ],
      },
      "application/jsonlines",
    );
    expect(contentType).toBe("application/jsonlines");
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { mean: number[] });
    expect(lines).toHaveLength(2);
    expect(lines[1]?.mean[0]).toBe(3);
  });

  it("reports a malformed request as SageMaker does: ModelError carrying the 400 naming the field", async () => {
    const instances = Array.from({ length: 4 }, () => ({
      start: "2026-11-27 00:00:00",
      target: [1, 2] as unknown[],
    }));
    const bad = instances[3];
    if (bad) bad.target = [1, 2, 3, 4, 5, 6, 7, "seven"];
    const error = (await invoke({ instances }).catch((e: unknown) => e)) as ModelError;
    expect(error.name).toBe("ModelError");
    expect(error.$metadata.httpStatusCode).toBe(424);
    expect(error.OriginalStatusCode).toBe(400);
    expect(error.OriginalMessage).toContain("instances.3.target.7");
    expect(error.message).toContain("instances.3.target.7");
  });

  it("rejects a body that is not JSON", async () => {
    const error = (await invoke("{not json").catch((e: unknown) => e)) as ModelError;
    expect(error.OriginalStatusCode).toBe(400);
    expect(error.OriginalMessage).toMatch(/\(body\).*not valid JSON/);
  });
});

describe("model server container contract over plain HTTP", () => {
  it("answers /ping with 200 once the model is loaded", async () => {
    const response = await fetch(`${url}/ping`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok", predictionLength });
  });

  it("answers /invocations bad input with 400 and a JSON body naming the field", async () => {
    const response = await fetch(`${url}/invocations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ instances: [{ start: "27/11/2026", target: [1] }] }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { issues: { field: string }[]; message: string };
    expect(body.issues.map((i) => i.field)).toEqual(["instances.0.start"]);
    expect(body.message).toContain("instances.0.start");
  });

  it("refuses bodies over 6 MB with 413", async () => {
    const big = JSON.stringify({
      instances: [{ start: "2026-11-27", target: new Array(1_600_000).fill(1.25) }],
    });
    expect(big.length).toBeGreaterThan(6 * 1024 * 1024 - 1);
    const response = await fetch(`${url}/invocations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    expect(response.status).toBe(413);
  });

  it("answers unsupported media types, methods and paths with 415, 405 and 404", async () => {
    const post = (p: string, headers: Record<string, string>) =>
      fetch(`${url}${p}`, { method: "POST", headers, body: "{}" });
    expect((await post("/invocations", { "content-type": "text/csv" })).status).toBe(415);
    expect(
      (await post("/invocations", { "content-type": "application/json", accept: "text/csv" }))
        .status,
    ).toBe(406);
    expect((await fetch(`${url}/invocations`)).status).toBe(405);
    expect((await post("/models", { "content-type": "application/json" })).status).toBe(404);
  });
});

/** Starts model-server/main.ts as the container would run it; resolves with its URL. */
async function startContainerProcess(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "model-server/main.ts", "serve"], {
    cwd: root,
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"event":"listening","port":(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`model server exited with ${code}: ${output}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function waitReady(base: string): Promise<Response> {
  for (;;) {
    const response = await fetch(`${base}/ping`);
    if (response.status !== 503) return response;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("model server container entry point", () => {
  const bucket = `${uniquePrefix()}-models`;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    await aws.s3().send(new CreateBucketCommand({ Bucket: bucket }));
    await aws.s3().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "models/seasonal-naive/v7.json",
        Body: JSON.stringify({
          kind: "seasonal-naive",
          version: "v7",
          seasonLength: 4,
          intervalScale: 1.5,
        }),
      }),
    );
  });
  afterAll(() => {
    for (const child of children) child.kill("SIGTERM");
  });

  it("serves with PREDICTION_LENGTH from the environment and the artefact loaded from S3", async () => {
    const { child, url: base } = await startContainerProcess({
      PREDICTION_LENGTH: "5",
      MODEL_ARTIFACT_URI: `s3://${bucket}/models/seasonal-naive/v7.json`,
    });
    children.push(child);
    const ping = await waitReady(base);
    expect(ping.status).toBe(200);
    expect(await ping.json()).toMatchObject({ version: "v7", predictionLength: 5 });
    const response = await fetch(`${base}/endpoints/any-name/invocations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        instances: [{ start: "2026-11-27", target: [1, 2, 3, 4, 5, 6, 7, 8] }],
      }),
    });
    const { predictions } = (await response.json()) as { predictions: { mean: number[] }[] };
    // Season 4 from the artefact: the forecast repeats the last four values.
    expect(predictions[0]?.mean).toEqual([5, 6, 7, 8, 5]);
  });

  it("exits with an error when its artefact cannot be loaded", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "shaper-artifact-"));
    const file = path.join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ kind: "deepar", version: "x" }));
    const child = spawn(process.execPath, ["--import", "tsx", "model-server/main.ts", "serve"], {
      cwd: root,
      env: { ...process.env, PORT: "0", PREDICTION_LENGTH: "5", MODEL_ARTIFACT_URI: file },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(1);
    expect(output).toContain("model-load-failed");
    expect(output).toContain("kind");
  });
});
