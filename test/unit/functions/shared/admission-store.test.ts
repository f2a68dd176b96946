import { describe, expect, it } from "vitest";
import { admissionStoreFor } from "../../../../functions/shared/admission-store.js";
import { createAwsClients } from "../../../../layers/adapters/aws-clients.js";

describe("admissionStoreFor", () => {
  it("keeps one store per client, table and options across invocations", () => {
    const client = createAwsClients().documentClient();
    const options = { shardCount: 4, decisionRetentionSeconds: 3_600 };
    const first = admissionStoreFor(client, "admission", options);
    expect(admissionStoreFor(client, "admission", { ...options })).toBe(first);
    expect(admissionStoreFor(client, "admission", { ...options, shardCount: 8 })).not.toBe(first);
    expect(admissionStoreFor(client, "other", options)).not.toBe(first);
    expect(admissionStoreFor(createAwsClients().documentClient(), "admission", options)).not.toBe(
      first,
    );
  });
});
