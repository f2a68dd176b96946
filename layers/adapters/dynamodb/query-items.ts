import {
  type DynamoDBDocumentClient,
  paginateQuery,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { dependencyError } from "./errors.js";

/**
 * Every item a Query matches, page after page; a failure becomes a DependencyError that says what
 * was being read (as `getItem` does for one item).
 *
 * @param doing what the read is for, e.g. "reading the leases of pool cpu"
 * @param options.pageSize items per page (DynamoDB's `Limit`); default: 1 MB pages
 * @throws DependencyError (retryable for throttling and transient faults)
 */
export async function queryItems(
  client: DynamoDBDocumentClient,
  input: QueryCommandInput,
  doing: string,
  options: { readonly pageSize?: number } = {},
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  try {
    const pages = paginateQuery(
      { client, ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }) },
      input,
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
  } catch (error) {
    throw dependencyError("DynamoDB", doing, error);
  }
  return items;
}
