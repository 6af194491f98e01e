import type { PrefixStats } from './raft-state';

/** What a valid snapshot holds. */
export interface SnapshotInspection {
  /** Bytes of the compressed archive as received. */
  archiveBytes: number;
  /** Hex SHA-256 of the compressed archive. */
  archiveSha256: string;
  /** Raft index, term, snapshot format version and id, from meta.json. */
  index: number;
  term: number;
  version: number;
  id: string;
  stateBytes: number;
  stateSha256: string;
  /** Tar entries in archive order with their sizes in bytes. */
  entries: { name: string; size: number }[];
  /** Storage entries (key/value pairs) in state.bin. */
  keys: number;
  /** Keys and bytes (of state.bin, length prefixes included) per key prefix, largest first. */
  prefixes: PrefixStats[];
}

/** A table like `vault operator raft snapshot inspect -details`, plus the checksums. */
export function formatInspection(i: SnapshotInspection): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const head: [string, string][] = [
    ['ID', i.id],
    ['Index', String(i.index)],
    ['Term', String(i.term)],
    ['Version', String(i.version)],
    ['Archive', `${n(i.archiveBytes)} bytes, sha256 ${i.archiveSha256}`],
    ['state.bin', `${n(i.stateBytes)} bytes, sha256 ${i.stateSha256}`],
    ['Entries', i.entries.map((e) => `${e.name} (${n(e.size)})`).join(', ')],
    ['Keys', n(i.keys)],
  ];
  const rows: [string, string, string][] = i.prefixes.map((p) => [p.prefix, n(p.keys), n(p.bytes)]);
  const total: [string, string, string] = ['Total', n(i.keys), n(i.prefixes.reduce((s, p) => s + p.bytes, 0))];
  const w0 = Math.max('Key prefix'.length, ...rows.map((r) => r[0].length), total[0].length);
  const w1 = Math.max('Keys'.length, ...rows.map((r) => r[1].length), total[1].length);
  const w2 = Math.max('Bytes'.length, ...rows.map((r) => r[2].length), total[2].length);
  const line = (r: [string, string, string]) => `${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2].padStart(w2)}`;
  return [
    ...head.map(([k, v]) => `${k.padEnd(10)} ${v}`),
    '',
    line(['Key prefix', 'Keys', 'Bytes']),
    line(['-'.repeat(w0), '-'.repeat(w1), '-'.repeat(w2)]),
    ...rows.map(line),
    line(['-'.repeat(w0), '-'.repeat(w1), '-'.repeat(w2)]),
    line(total),
  ].join('\n');
}
