import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  DescribeArchiveCommand,
  type EventBridgeClient,
  type PutEventsCommand,
} from "@aws-sdk/client-eventbridge";
import { describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { EventBridgeEventPublisher } from "../../layers/adapters/eventbridge/eventbridge-event-publisher.js";
import { DependencyError } from "../../layers/domain/errors.js";
import { uniquePrefix } from "../helpers/tables.js";

const aws = createAwsClients();

describe("EventBridgeEventPublisher", () => {
  it("puts the event on its bus with its source and detail type", async () => {
    const events = aws.eventBridge();
    const busName = `${uniquePrefix()}-bus`;
    const archiveName = `${uniquePrefix()}-archive`;
    const bus = await events.send(new CreateEventBusCommand({ Name: busName }));
    await events.send(
      new CreateArchiveCommand({
        ArchiveName: archiveName,
        EventSourceArn: bus.EventBusArn,
        EventPattern: JSON.stringify({ source: ["shaper.forecast"], "detail-type": ["Probe"] }),
      }),
    );
    const publisher = new EventBridgeEventPublisher(events, busName);
    await publisher.publish("Probe", { wql: 0.7 });
    await publisher.publish("Other", { wql: 0.7 });
    const archive = await events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
    expect(archive.EventCount).toBe(1);
  });

  it("fails with a DependencyError when the bus does not exist", async () => {
    const publisher = new EventBridgeEventPublisher(aws.eventBridge(), `${uniquePrefix()}-missing`);
    await expect(publisher.publish("Probe", {})).rejects.toThrow(DependencyError);
  });

  it("treats a refused entry as a failure, retryable when EventBridge was throttled", async () => {
    // An emulator cannot refuse a single entry: a client that answers as EventBridge does.
    const refusing = (code: string) =>
      ({
        send: async (_command: PutEventsCommand) => ({
          FailedEntryCount: 1,
          Entries: [{ ErrorCode: code, ErrorMessage: "no" }],
          $metadata: {},
        }),
      }) as unknown as EventBridgeClient;
    const throttled = new EventBridgeEventPublisher(refusing("ThrottlingException"), "default");
    const error = (await throttled
      .publish("Probe", {})
      .catch((e: unknown) => e)) as DependencyError;
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("ThrottlingException");
    const denied = new EventBridgeEventPublisher(refusing("AccessDeniedException"), "default");
    expect(
      ((await denied.publish("Probe", {}).catch((e: unknown) => e)) as DependencyError).retryable,
    ).toBe(false);
  });

  it("refuses a detail over EventBridge's 256 KB limit without calling it", async () => {
    const publisher = new EventBridgeEventPublisher(aws.eventBridge(), "default");
    await expect(publisher.publish("Probe", { blob: "x".repeat(300_000) })).rejects.toThrow(
      /256|262144/,
    );
  });
});
