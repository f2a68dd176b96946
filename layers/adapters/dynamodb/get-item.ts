import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { dependencyError } from "./errors.js";

/**
 * Reads one item by key; a failure becomes a DependencyError that says what was being read.
 *
 * @param doing what the read is for, e.g. "reading the ledger of pool cpu"
 * @param options.consistent strongly consistent read (needed before a conditional write)
 * @returns the item, or undefined when there is none
 * @throws DependencyError (retryable for throttling and transient faults)
 */
export async function getItem(
  client: DynamoDBDocumentClient,
  tableName: string,
  key: { readonly pk: string; readonly sk: string },
  doing: string,
  options: { readonly consistent?: boolean } = {},
): Promise<Record<string, unknown> | undefined> {
  try {
    const result = await client.send(
      new GetCommand({
        TableName: tableName,
        Key: key,
        ...(options.consistent ? { ConsistentRead: true } : {}),
      }),
    );
    return result.Item;
  } catch (error) {
    throw dependencyError("DynamoDB", doing, error);
  }
}
