import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes that make each run findable in the Temporal UI
 * ("SecdrCluster = 'prod' AND SecdrOutcome = 'failed'"). `secdr dev` registers
 * them on the dev server; on a self-hosted cluster or Cloud create them once with
 * `temporal operator search-attribute create`.
 */
export const SA = {
  cluster: defineSearchAttributeKey('SecdrCluster', SearchAttributeType.KEYWORD),
  procedure: defineSearchAttributeKey('SecdrProcedure', SearchAttributeType.KEYWORD),
  outcome: defineSearchAttributeKey('SecdrOutcome', SearchAttributeType.KEYWORD),
  sloBreached: defineSearchAttributeKey('SecdrSloBreached', SearchAttributeType.BOOL),
} as const;

/** `NAME=Type` pairs for `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_FLAGS = ['SecdrCluster=Keyword', 'SecdrProcedure=Keyword', 'SecdrOutcome=Keyword', 'SecdrSloBreached=Bool'];

/** Registers secdr's search attributes (idempotent); the test server and fresh clusters need it. */
export async function registerSearchAttributes(connection: {
  operatorService: { addSearchAttributes(req: { namespace: string; searchAttributes: Record<string, number> }): Promise<unknown> };
}, namespace: string): Promise<void> {
  // IndexedValueType: 2 = KEYWORD, 5 = BOOL.
  const wanted: Record<string, number> = { SecdrCluster: 2, SecdrProcedure: 2, SecdrOutcome: 2, SecdrSloBreached: 5 };
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: wanted });
  } catch (err) {
    if (!/already exists/i.test((err as Error).message)) throw err;
  }
}
