/** Where time comes from: the wall clock in AWS, a simulated clock in replays and tests. */
export interface Clock {
  /** Now, in epoch seconds (may carry a fraction). */
  nowSeconds(): number;
}
