/** Publishes domain events (EventBridge in AWS), e.g. "forecast error passed the threshold". */
export interface EventPublisher {
  publish(detailType: string, detail: Readonly<Record<string, unknown>>): Promise<void>;
}
