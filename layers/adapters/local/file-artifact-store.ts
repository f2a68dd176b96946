import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { NotFoundError, ValidationError } from "../../domain/errors.js";
import type { ArtifactStore } from "../../ports/artifact-store.js";

/**
 * Model artefacts as JSON files under a folder, for the local runtime. `putJson` returns the
 * file's absolute path, which the local model server reads from `MODEL_ARTIFACT_URI` just as the
 * container reads an s3:// URI.
 */
export class FileArtifactStore implements ArtifactStore {
  private readonly root: string;

  constructor(folder: string) {
    this.root = path.resolve(folder);
  }

  async putJson(key: string, value: unknown): Promise<string> {
    const file = path.resolve(this.root, key);
    if (!file.startsWith(`${this.root}${path.sep}`)) {
      throw new ValidationError(
        `Artefact key "${key}" leaves the artefact folder ${this.root}. Expected a relative key such as "models/v1.json".`,
        [{ field: "key", message: "must stay inside the artefact folder" }],
      );
    }
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(value), "utf8");
    return file;
  }

  async getJson(uri: string): Promise<unknown> {
    const file = uri.startsWith("file://") ? fileURLToPath(uri) : path.resolve(uri);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") {
        throw new NotFoundError(
          `Artefact ${file} does not exist. Expected a file written by the retrain flow; check the registry's artifactUri.`,
          { details: { uri } },
        );
      }
      throw error;
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ValidationError(
        `Artefact ${file} is not valid JSON: ${(error as Error).message}. Expected a JSON document written by putJson.`,
      );
    }
  }
}
