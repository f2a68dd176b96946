/** Fitted model artefacts (S3 in AWS, a folder locally). */
export interface ArtifactStore {
  /** Stores a JSON artefact; returns its URI. */
  putJson(key: string, value: unknown): Promise<string>;
  getJson(uri: string): Promise<unknown>;
}
