/**
 * Streaming parser for `state.bin`, the raft FSM part of a Vault/OpenBao snapshot.
 *
 * OpenBao's `physical/raft/fsm.go` (writeTo) walks the bolt `data` bucket in key order and
 * writes every pair as a length-delimited protobuf message (a uvarint byte length, then the
 * message) of `StorageEntry { string key = 1; bytes value = 2; bool seal_wrap = 3; }`.
 * The parser keeps O(1) state whatever the size: values are skipped by arithmetic, and at
 * most the first KEY_BYTES_KEPT bytes of each key are kept (enough for its prefix).
 */

/** Keys and bytes under one key prefix. */
export interface PrefixStats {
  prefix: string;
  keys: number;
  /** Bytes of state.bin taken by these entries, length prefixes included (they sum to state.bin's size). */
  bytes: number;
}

/** First path segments that name a mount, a subsystem or a namespace: their prefix keeps two segments. */
const TWO_SEGMENT_ROOTS = new Set(['logical', 'auth', 'audit', 'sys', 'namespaces']);
const KEY_BYTES_KEPT = 1024;
/** More distinct prefixes than this (not seen in Vault's layout) are counted under OTHER, so memory stays bounded. */
const MAX_PREFIXES = 10_000;
const OTHER = '(other)';
/** A uvarint of a 64-bit value has at most 10 bytes. */
const MAX_VARINT_BYTES = 10;

/**
 * The prefix a key is counted under: its first segment (`core/`), or two for mounts and
 * subsystems (`logical/<mount uuid>/`, `auth/<uuid>/`, `sys/token/`, `sys/expire/`).
 */
export function keyPrefix(key: string): string {
  const first = key.indexOf('/');
  if (first < 0) return key;
  if (TWO_SEGMENT_ROOTS.has(key.slice(0, first))) {
    const second = key.indexOf('/', first + 1);
    if (second > first + 1) return key.slice(0, second + 1);
  }
  return key.slice(0, first + 1);
}

export class StateFormatError extends Error {}

const enum S {
  /** The uvarint length in front of a message. */
  RecordLength,
  /** A field tag inside a message. */
  Tag,
  /** The length of a length-delimited field. */
  FieldLength,
  /** A varint field's value (skipped). */
  VarintValue,
  /** The key's bytes. */
  Key,
  /** Bytes of a field that is skipped (value, fixed32/64, unknown). */
  Skip,
}

/**
 * Feed state.bin's bytes in any chunking with `write`, then call `end`. Throws
 * StateFormatError (from `write` or `end`) at the first byte that does not fit the format,
 * naming the byte offset; nothing is parsed after that.
 */
export class RaftStateParser {
  keys = 0;
  private readonly stats = new Map<string, { keys: number; bytes: number }>();
  private offset = 0;
  private state = S.RecordLength;
  private varint = 0;
  private varintBytes = 0;
  private recordStart = 0;
  private messageLeft = 0;
  private field = 0;
  private skip = 0;
  private keyParts: Buffer[] = [];
  private keyKept = 0;
  private keyLength = -1;

  /** @param size the byte length of state.bin (from its tar header): no message may run past it. */
  constructor(private readonly size: number) {}

  write(chunk: Buffer): void {
    let p = 0;
    while (p < chunk.length) {
      if (this.state === S.Skip || this.state === S.Key) {
        const n = Math.min(this.skip, chunk.length - p);
        if (this.state === S.Key && this.keyKept < KEY_BYTES_KEPT) {
          const keep = Math.min(n, KEY_BYTES_KEPT - this.keyKept);
          this.keyParts.push(chunk.subarray(p, p + keep));
          this.keyKept += keep;
        }
        p += n;
        this.offset += n;
        this.skip -= n;
        this.messageLeft -= n;
        if (this.skip === 0) this.fieldDone();
        continue;
      }
      // Every other state reads one varint byte.
      const byte = chunk[p++];
      if (this.state !== S.RecordLength) {
        if (this.messageLeft === 0) this.fail('a field runs past the end of its message');
        this.messageLeft--;
      }
      this.offset++;
      if (this.varintBytes === MAX_VARINT_BYTES) this.fail('a varint is longer than 10 bytes');
      this.varint += (byte & 0x7f) * 2 ** (7 * this.varintBytes);
      this.varintBytes++;
      if (byte & 0x80) continue;
      const value = this.varint;
      this.varint = 0;
      this.varintBytes = 0;
      this.varintDone(value);
    }
  }

  /** Call after the last byte; throws when state.bin ends inside a message. */
  end(): void {
    if (this.state !== S.RecordLength || this.varintBytes !== 0) {
      this.fail(`state.bin ends inside the entry that starts at byte ${this.recordStart}`);
    }
    if (this.offset !== this.size) this.fail(`state.bin has ${this.offset} bytes, its tar header says ${this.size}`);
  }

  /** Per-prefix counts, largest first. */
  prefixes(): PrefixStats[] {
    return [...this.stats]
      .map(([prefix, s]) => ({ prefix, keys: s.keys, bytes: s.bytes }))
      .sort((a, b) => b.bytes - a.bytes || a.prefix.localeCompare(b.prefix));
  }

  private varintDone(value: number): void {
    switch (this.state) {
      case S.RecordLength: {
        if (value === 0) this.fail('an entry has length 0 (a StorageEntry always has a key)');
        if (value > this.size - this.offset) {
          this.fail(
            `an entry of ${value} bytes runs past the end of state.bin (${this.size - this.offset} bytes left)`,
          );
        }
        this.messageLeft = value;
        this.keyParts = [];
        this.keyKept = 0;
        this.keyLength = -1;
        this.state = S.Tag;
        return;
      }
      case S.Tag: {
        this.field = Math.floor(value / 8);
        const wireType = value & 7;
        if (this.field === 0) this.fail('a field has number 0');
        if ((this.field === 1 || this.field === 2) && wireType !== 2) {
          this.fail(
            `field ${this.field} (${this.field === 1 ? 'key' : 'value'}) has wire type ${wireType}, expected 2 (bytes)`,
          );
        }
        switch (wireType) {
          case 0:
            this.state = S.VarintValue;
            return;
          case 1:
            return this.startSkip(8);
          case 2:
            this.state = S.FieldLength;
            return;
          case 5:
            return this.startSkip(4);
          default:
            this.fail(`a field has wire type ${wireType}, which StorageEntry does not use`);
        }
        return;
      }
      case S.FieldLength:
        if (value > this.messageLeft) this.fail(`a field of ${value} bytes runs past the end of its entry`);
        if (this.field === 1) {
          if (this.keyLength >= 0) this.fail('an entry has two keys');
          this.keyLength = value;
          this.skip = value;
          this.state = S.Key;
          if (value === 0) this.fieldDone();
          return;
        }
        return this.startSkip(value);
      case S.VarintValue:
        return this.fieldDone();
      default:
        return;
    }
  }

  private startSkip(n: number): void {
    if (n > this.messageLeft) this.fail(`a field of ${n} bytes runs past the end of its entry`);
    this.skip = n;
    this.state = S.Skip;
    if (n === 0) this.fieldDone();
  }

  private fieldDone(): void {
    this.state = S.Tag;
    if (this.messageLeft > 0) return;
    // The message is complete.
    if (this.keyLength <= 0) this.fail('an entry has no key');
    const key = Buffer.concat(this.keyParts).toString('utf8');
    const bytes = this.offset - this.recordStart;
    let prefix = keyPrefix(key);
    if (!this.stats.has(prefix) && this.stats.size >= MAX_PREFIXES) prefix = OTHER;
    const s = this.stats.get(prefix) ?? { keys: 0, bytes: 0 };
    s.keys++;
    s.bytes += bytes;
    this.stats.set(prefix, s);
    this.keys++;
    this.keyParts = [];
    this.recordStart = this.offset;
    this.state = S.RecordLength;
  }

  private fail(what: string): never {
    throw new StateFormatError(`${what} (at byte ${this.offset} of state.bin, entry ${this.keys + 1})`);
  }
}
