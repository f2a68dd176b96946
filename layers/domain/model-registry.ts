/** Quality of a model on held-out data (lower wQL is better). */
export interface ModelMetrics {
  readonly wql: number;
  readonly coverage80: number;
  readonly series: number;
  readonly points: number;
}

/** One trained model version in the registry. */
export interface ModelRecord {
  readonly modelName: string;
  readonly version: string;
  /** Where the fitted artefact lives (an s3:// URI in AWS, a path locally). */
  readonly artifactUri: string;
  readonly trainedAt: number;
  readonly metrics?: ModelMetrics;
  readonly status: "candidate" | "promoted" | "rejected" | "retired";
  /** Why it was promoted or rejected. */
  readonly statusReason?: string;
}
