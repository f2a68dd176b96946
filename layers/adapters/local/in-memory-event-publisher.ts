import type { EventPublisher } from "../../ports/event-publisher.js";

/** An event as the in-memory publisher recorded it. */
export interface PublishedEvent {
  readonly detailType: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * Records published events in memory (local runtime and tests). The detail is copied through
 * JSON, as EventBridge would serialise it, so what is recorded is what a subscriber would see.
 */
export class InMemoryEventPublisher implements EventPublisher {
  readonly events: PublishedEvent[] = [];

  async publish(detailType: string, detail: Readonly<Record<string, unknown>>): Promise<void> {
    this.events.push({ detailType, detail: JSON.parse(JSON.stringify(detail)) });
  }

  /** Events of one detail type, oldest first. */
  ofType(detailType: string): PublishedEvent[] {
    return this.events.filter((e) => e.detailType === detailType);
  }
}
