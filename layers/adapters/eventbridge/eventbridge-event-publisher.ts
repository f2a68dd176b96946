import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
} from "@aws-sdk/client-eventbridge";
import { DependencyError } from "../../domain/errors.js";
import type { EventPublisher } from "../../ports/event-publisher.js";
import { dependencyError } from "../dynamodb/errors.js";

/** PutEvents entry errors after which sending again may succeed. */
const RETRYABLE_ENTRY_ERRORS = new Set([
  "ThrottlingException",
  "InternalFailure",
  "InternalException",
]);

/** EventBridge refuses entries whose detail is over 256 KB. */
const MAX_DETAIL_BYTES = 256 * 1024;

/**
 * Publishes domain events to an EventBridge bus with PutEvents. PutEvents can succeed as a call
 * yet fail an entry (it reports `FailedEntryCount`); that is an error here too, never silent.
 *
 * @example
 * const events = new EventBridgeEventPublisher(aws.eventBridge(), "default", "shaper.forecast");
 * await events.publish("ForecastErrorThresholdExceeded", { wql: 0.62 });
 */
export class EventBridgeEventPublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    /** The events' `source`, which rules match on. @default "shaper.forecast" */
    private readonly source = "shaper.forecast",
  ) {}

  /**
   * @throws DependencyError when EventBridge refuses the call or the entry (retryable when
   *   throttled or failing internally), or when the detail is too large
   */
  async publish(detailType: string, detail: Readonly<Record<string, unknown>>): Promise<void> {
    const body = JSON.stringify(detail);
    if (Buffer.byteLength(body) > MAX_DETAIL_BYTES) {
      throw new DependencyError(
        "EventBridge",
        `Event ${detailType} has a ${Buffer.byteLength(body)}-byte detail; EventBridge accepts at most ${MAX_DETAIL_BYTES}. Send less detail.`,
        { retryable: false },
      );
    }
    let result: PutEventsCommandOutput;
    try {
      result = await this.client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.busName,
              Source: this.source,
              DetailType: detailType,
              Detail: body,
            },
          ],
        }),
      );
    } catch (error) {
      throw dependencyError(
        "EventBridge",
        `publishing ${detailType} to bus ${this.busName}`,
        error,
      );
    }
    if ((result.FailedEntryCount ?? 0) > 0) {
      const entry = result.Entries?.find((e) => e.ErrorCode) ?? {};
      const code = entry.ErrorCode ?? "Unknown";
      throw new DependencyError(
        "EventBridge",
        `EventBridge refused event ${detailType} on bus ${this.busName}: ${code}: ${entry.ErrorMessage ?? "no message"}. Check that the bus exists and the function may put events on it.`,
        { retryable: RETRYABLE_ENTRY_ERRORS.has(code), details: { errorCode: code } },
      );
    }
  }
}
