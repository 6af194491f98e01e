import { z } from 'zod';
import type { SnapshotMeta } from './types';

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO date');

const metaSchema = z.object({
  key: z.string().min(1),
  cluster: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  bytes: z.number().int().min(0),
  raftIndex: z.number().int().min(0),
  raftTerm: z.number().int().min(0),
  takenAt: isoDate,
  verifiedAt: isoDate,
  canaryNonce: z.string().optional(),
  canaryWrittenAt: z.string().optional(),
  storage: z.string().min(1),
});

/** The catalog entry as written: exactly SnapshotMeta, pretty-printed for people reading the bucket. */
export function catalogEntry(meta: SnapshotMeta): string {
  return `${JSON.stringify(meta, null, 2)}\n`;
}

/**
 * Parses a catalog entry and checks it describes `expectedKey`. Returns an error
 * text instead of throwing, so one damaged entry does not hide every other snapshot.
 */
export function parseCatalogEntry(text: string, expectedKey: string): SnapshotMeta | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  const parsed = metaSchema.safeParse(json);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  }
  if (parsed.data.key !== expectedKey) return `names key ${parsed.data.key}, expected ${expectedKey}`;
  return parsed.data;
}

/** Newest first by takenAt; equal times by key, descending, so the order never depends on input order. */
export function newestFirst(a: SnapshotMeta, b: SnapshotMeta): number {
  const d = Date.parse(b.takenAt) - Date.parse(a.takenAt);
  if (d !== 0) return d;
  return a.key < b.key ? 1 : a.key > b.key ? -1 : 0;
}

/** Maps with at most `limit` calls in flight (catalog reads: one request per entry). */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
