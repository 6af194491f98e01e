import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';
import { extract as tarExtract, type Extract, type ExtractEvents, type Header } from 'tar-stream';
import { SnapshotCorruptError, type SnapshotCorruptReasonCode } from './corrupt';
import { checkGzipTrailer, GZIP_TRAILER_BYTES, MAX_GZIP_HEADER_BYTES, parseGzipHeader } from './gzip-member';
import type { SnapshotInspection } from './inspection';
import { RaftStateParser, StateFormatError } from './raft-state';
import { parseSha256Sums } from './sha256sums';

/**
 * Verifies Vault/OpenBao raft snapshot archives (the body of `GET /v1/sys/storage/raft/snapshot`)
 * in one streaming pass, as `vault operator raft snapshot inspect -details` does and more:
 * gzip framing and CRC, no trailing data, the tar entries and their order, SHA256SUMS against
 * the bytes, meta.json's Size against state.bin, and state.bin parsed entry by entry.
 * Pure Node (no Temporal), so the CLI, the activities and the benchmark share it.
 */

const META = 'meta.json';
const STATE = 'state.bin';
const SUMS = 'SHA256SUMS';
const SEALED = 'SHA256SUMS.sealed';
const ENTRY_ORDER: readonly string[] = [META, STATE, SUMS, SEALED];
const LAYOUT = `a snapshot holds exactly ${ENTRY_ORDER.join(', ')}, in that order`;
const ADVICE = 'use the previous snapshot or re-run the backup';
/** meta.json and SHA256SUMS are buffered; Vault's are a few hundred bytes. */
const MAX_SMALL_ENTRY_BYTES = 1024 * 1024;
const TAR_BLOCK = 512;

interface Meta {
  Version: number;
  ID: string;
  Index: number;
  Term: number;
  Size: number;
}
const META_FIELDS: [keyof Meta, 'count' | 'id'][] = [
  ['Version', 'count'],
  ['ID', 'id'],
  ['Index', 'count'],
  ['Term', 'count'],
  ['Size', 'count'],
];

/**
 * meta.json's five fields, checked by hand rather than with zod: loading zod costs the
 * `secdr snapshot verify` CLI a few hundred milliseconds of start-up for five fields.
 * Returns the problems (field: what is wrong), or the metadata.
 */
function parseMeta(raw: unknown): Meta | string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return ['(root): expected an object'];
  const rec = raw as Record<string, unknown>;
  const issues = META_FIELDS.flatMap(([field, kind]) => {
    const v = rec[field];
    const ok = kind === 'id' ? typeof v === 'string' && v.length > 0 : Number.isSafeInteger(v) && (v as number) >= 0;
    if (ok) return [];
    const want = kind === 'id' ? 'a non-empty string' : 'a non-negative integer';
    return [`${field}: ${v === undefined ? `missing (${want})` : `expected ${want}, got ${JSON.stringify(v)}`}`];
  });
  return issues.length > 0 ? issues : (rec as unknown as Meta);
}

type EntryStream = ExtractEvents['entry'][1];

interface EntryHandler {
  data(chunk: Buffer): void;
  end(): void;
}

/**
 * A Writable to pipe the archive's bytes into, in any chunking; `result` settles once the
 * sink has ended and everything is checked. It rejects with SnapshotCorruptError when the
 * archive is bad (as early as the problem shows), or with the input's error when the sink is
 * destroyed with one. The sink itself never emits 'error': after a verdict it keeps
 * accepting and discarding bytes, so a tee feeding it never stalls. `result` already has a
 * handler attached, so an ignored rejection cannot crash the process.
 */
export function createSnapshotVerifier(label: string): {
  sink: Writable;
  result: Promise<SnapshotInspection>;
} {
  const v = new ArchiveVerifier(label);
  return { sink: v.sink, result: v.result };
}

class ArchiveVerifier {
  readonly result: Promise<SnapshotInspection>;
  readonly sink: Writable;
  private resolve!: (i: SnapshotInspection) => void;
  private reject!: (e: Error) => void;
  private settled = false;

  // The compressed side.
  private readonly archiveHash = createHash('sha256');
  private archiveBytes = 0;
  private phase: 'header' | 'deflate' | 'trailer' = 'header';
  private headerBuf = Buffer.alloc(0);
  private readonly inflate: InflateRaw;
  private fedToInflate = 0;
  private inflateEnded = false;
  private readonly trailer: Buffer[] = [];
  private trailerBytes = 0;
  private trailingBytes = 0;
  private trailerOk = false;
  private inputEnded = false;
  private pendingWrite?: () => void;

  // The decompressed (tar) side.
  private readonly extract: Extract;
  private tarBytes = 0;
  private crc = 0;
  /** Offset just past the last non-zero byte of the tar stream. */
  private lastNonZeroEnd = 0;
  private tarFinished = false;
  private readonly entries: { name: string; size: number }[] = [];
  private entriesEnded = 0;
  /** Offset just past the data of SHA256SUMS.sealed (the last entry), when tar-stream reports offsets. */
  private lastEntryEnd?: number;

  // What the entries said.
  private metaJson?: Buffer;
  private metaSha256?: string;
  private meta?: Meta;
  private state?: { bytes: number; sha256: string; parser: RaftStateParser; error?: string };

  constructor(private readonly label: string) {
    this.result = new Promise<SnapshotInspection>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.result.catch(() => undefined);

    // 256 KiB output chunks: the 16 KiB default makes inflate several times slower on large snapshots.
    this.inflate = createInflateRaw({ chunkSize: 256 * 1024 });
    this.inflate.on('data', (chunk: Buffer) => this.onTarBytes(chunk));
    this.inflate.on('end', () => {
      this.inflateEnded = true;
      this.checkTrailer();
      if (!this.settled) this.extract.end(undefined);
    });
    this.inflate.on('error', (err: Error) =>
      this.fail(
        'bad-gzip',
        `the compressed data is corrupt (${err.message}, after ${this.tarBytes} bytes of tar); ${ADVICE}`,
      ),
    );

    this.extract = tarExtract();
    this.extract.on('entry', (header, stream, next) => this.onEntry(header, stream, next));
    this.extract.on('drain', () => this.inflate.resume());
    this.extract.on('finish', () => {
      this.tarFinished = true;
      this.maybeFinish();
    });
    this.extract.on('error', (err: Error) => this.onTarError(err));

    this.sink = new Writable({
      write: (chunk: Buffer, _encoding, cb) => this.onWrite(chunk, cb),
      final: (cb) => {
        this.onInputEnd();
        cb();
      },
      destroy: (err, cb) => {
        this.onDestroy(err);
        cb(err);
      },
    });
  }

  // ---- compressed side: gzip header, raw deflate body, trailer, nothing after ----

  private onWrite(chunk: Buffer, cb: () => void): void {
    this.archiveHash.update(chunk);
    this.archiveBytes += chunk.length;
    if (this.settled) return cb();
    this.pendingWrite = cb;
    this.feed(chunk);
  }

  /** Lets the writer send the next chunk; called exactly once per write. */
  private release(): void {
    const cb = this.pendingWrite;
    this.pendingWrite = undefined;
    cb?.();
  }

  private feed(chunk: Buffer): void {
    if (this.phase === 'header') {
      const buf = this.headerBuf.length > 0 ? Buffer.concat([this.headerBuf, chunk]) : chunk;
      const header = parseGzipHeader(buf);
      if (header.kind === 'invalid') {
        const first = buf
          .subarray(0, 4)
          .toString('hex')
          .replace(/(..)(?=.)/g, '$1 ');
        const reason = buf[0] !== 0x1f || buf[1] !== 0x8b ? 'not-gzip' : 'bad-gzip';
        return this.fail(
          reason,
          `not a gzip archive: it ${header.why} (starts with ${first}); a raft snapshot is the gzip-compressed tar that /v1/sys/storage/raft/snapshot returns; ${ADVICE}`,
        );
      }
      if (header.kind === 'need-more') {
        if (buf.length > MAX_GZIP_HEADER_BYTES)
          return this.fail('bad-gzip', `the gzip header is longer than ${MAX_GZIP_HEADER_BYTES} bytes; ${ADVICE}`);
        this.headerBuf = Buffer.from(buf);
        return this.release();
      }
      this.headerBuf = Buffer.alloc(0);
      this.phase = 'deflate';
      chunk = buf.subarray(header.length);
    }
    if (this.phase === 'deflate') {
      if (chunk.length === 0) return this.release();
      this.fedToInflate += chunk.length;
      this.inflate.write(chunk, () => this.afterInflateWrite(chunk));
      return;
    }
    this.takeTrailer(chunk);
    this.release();
  }

  /**
   * Raw inflate stops at the end of the deflate stream and leaves the rest of the chunk
   * unconsumed: that rest is the gzip trailer and whatever follows it.
   */
  private afterInflateWrite(chunk: Buffer): void {
    if (!this.settled) {
      const unconsumed = this.fedToInflate - this.inflate.bytesWritten;
      if (unconsumed > 0) {
        this.phase = 'trailer';
        this.takeTrailer(chunk.subarray(chunk.length - Math.min(unconsumed, chunk.length)));
      }
    }
    this.release();
  }

  private takeTrailer(bytes: Buffer): void {
    const take = Math.min(GZIP_TRAILER_BYTES - this.trailerBytes, bytes.length);
    if (take > 0) {
      this.trailer.push(Buffer.from(bytes.subarray(0, take)));
      this.trailerBytes += take;
    }
    this.trailingBytes += bytes.length - take;
    if (take > 0 && this.trailerBytes === GZIP_TRAILER_BYTES) this.checkTrailer();
  }

  /** Once the trailer is in and every inflated byte went through the CRC. */
  private checkTrailer(): void {
    if (this.settled || this.trailerOk || !this.inflateEnded || this.trailerBytes < GZIP_TRAILER_BYTES) return;
    const problem = checkGzipTrailer(Buffer.concat(this.trailer), this.crc, this.tarBytes);
    if (problem) return this.fail('bad-gzip', `${problem}: the compressed data is corrupt; ${ADVICE}`);
    this.trailerOk = true;
    this.maybeFinish();
  }

  private onInputEnd(): void {
    this.inputEnded = true;
    if (this.settled) return;
    const n = this.archiveBytes;
    if (n === 0) return this.fail('empty', `the archive is empty (0 bytes): the backup wrote nothing; ${ADVICE}`);
    const cut = `the archive ends after ${n} byte${n === 1 ? '' : 's'}`;
    if (this.phase === 'header')
      return this.fail('truncated', `${cut}, inside the gzip header: it was cut short; ${ADVICE}`);
    if (this.phase === 'deflate') {
      return this.fail(
        'truncated',
        `${cut}, inside the compressed data (${this.tarBytes} bytes of tar so far): it was cut short; ${ADVICE}`,
      );
    }
    if (this.trailerBytes < GZIP_TRAILER_BYTES) {
      return this.fail('truncated', `${cut}, inside the 8-byte gzip trailer: it was cut short; ${ADVICE}`);
    }
    if (this.trailingBytes > 0) {
      return this.fail(
        'trailing-data',
        `${this.trailingBytes} bytes of trailing data follow the end of the gzip stream (at byte ${n - this.trailingBytes} of ${n}): ` +
          `something was appended to the snapshot; ${ADVICE}`,
      );
    }
    this.maybeFinish();
  }

  private onDestroy(err: Error | null): void {
    if (this.settled || this.inputEnded) return;
    if (err) return this.settle(err);
    this.fail(
      'truncated',
      `the input was closed after ${this.archiveBytes} bytes, before the archive ended; ${ADVICE}`,
    );
  }

  // ---- decompressed side: the tar entries ----

  private onTarBytes(chunk: Buffer): void {
    if (this.settled) return;
    this.crc = crc32(chunk, this.crc);
    for (let i = chunk.length - 1; i >= 0; i--) {
      if (chunk[i] !== 0) {
        this.lastNonZeroEnd = this.tarBytes + i + 1;
        break;
      }
    }
    this.tarBytes += chunk.length;
    if (!this.extract.write(chunk)) this.inflate.pause();
  }

  private onTarError(err: Error): void {
    if (this.settled) return;
    if (this.entriesEnded === ENTRY_ORDER.length) {
      return this.fail(
        'trailing-data',
        `data after ${SEALED} is not the tar end-of-archive marker (${err.message}); ${ADVICE}`,
      );
    }
    const last = this.entries[this.entries.length - 1];
    const entry = last ? `entry ${this.entries.length} (${last.name})` : undefined;
    if (/unexpected end of data/i.test(err.message)) {
      return this.fail(
        'truncated',
        `the tar archive ends inside ${entry ?? 'its first header'}: it was cut short; ${ADVICE}`,
      );
    }
    this.fail(
      'bad-tar',
      `the tar archive is corrupt ${entry ? `after ${entry}` : 'at its first header'} (${err.message}); ${ADVICE}`,
    );
  }

  private onEntry(header: Header, stream: EntryStream, next: () => void): void {
    // An entry's error also destroys the extractor, whose 'error' is handled; this only keeps the entry's copy quiet.
    stream.on('error', () => undefined);
    if (this.settled) return;
    const name = header.name;
    const size = header.size ?? 0;
    const pos = this.entries.length;
    const expected = ENTRY_ORDER[pos];
    const described = `${JSON.stringify(name)} (${size} bytes)`;
    if (expected === undefined) {
      return this.fail('unexpected-entry', `unexpected entry ${described} after ${SEALED}; ${LAYOUT}; ${ADVICE}`);
    }
    if (!ENTRY_ORDER.includes(name)) {
      return this.fail(
        'unexpected-entry',
        `unexpected entry ${described} at position ${pos + 1}; ${LAYOUT}; ${ADVICE}`,
      );
    }
    if (this.entries.some((e) => e.name === name)) {
      return this.fail(
        'unexpected-entry',
        `${name} appears twice (again at position ${pos + 1}); ${LAYOUT}; ${ADVICE}`,
      );
    }
    if (name !== expected) {
      return this.fail(
        'entry-order',
        `entry ${pos + 1} is ${name} where ${expected} belongs (missing or out of order); ${LAYOUT}; ${ADVICE}`,
      );
    }
    if (header.type !== 'file') {
      return this.fail(
        'unexpected-entry',
        `${name} is a ${header.type ?? 'special'} entry, not a regular file; ${ADVICE}`,
      );
    }
    if (name === SEALED && size === 0) {
      return this.fail(
        'empty-sealed-sums',
        `${SEALED} is empty: the checksums were not sealed, so nothing proves this snapshot came from the cluster's seal; ${ADVICE}`,
      );
    }
    this.entries.push({ name, size });
    const handler = this.handlerFor(name, size);
    const dataStart = (header as Header & { byteOffset?: unknown }).byteOffset;
    stream.on('data', (chunk) => {
      // tar-stream hands out Node Buffers (b4a) for the entry's bytes.
      if (!this.settled) handler.data(chunk as Buffer);
    });
    stream.on('end', () => {
      if (this.settled) return;
      handler.end();
      this.entriesEnded++;
      if (name === SEALED && typeof dataStart === 'number') this.lastEntryEnd = dataStart + size;
      if (this.settled) return;
      next();
      this.maybeFinish();
    });
  }

  private handlerFor(name: string, size: number): EntryHandler {
    switch (name) {
      case META:
        return this.smallEntry(META, 'bad-meta', (bytes, sha256) => {
          this.metaJson = bytes;
          this.metaSha256 = sha256;
        });
      case STATE: {
        const hash = createHash('sha256');
        const parser = new RaftStateParser(size);
        let bytes = 0;
        let error: string | undefined;
        const parse = (step: () => void) => {
          if (error !== undefined) return;
          try {
            step();
          } catch (err) {
            if (!(err instanceof StateFormatError)) throw err;
            error = err.message;
          }
        };
        return {
          data: (chunk) => {
            hash.update(chunk);
            bytes += chunk.length;
            parse(() => parser.write(chunk));
          },
          end: () => {
            parse(() => parser.end());
            this.state = { bytes, sha256: hash.digest('hex'), parser, error };
          },
        };
      }
      case SUMS:
        return this.smallEntry(SUMS, 'bad-sha256sums', (bytes) => this.checkContents(bytes.toString('utf8')));
      default:
        return { data: () => undefined, end: () => undefined };
    }
  }

  /** Buffers an entry of at most MAX_SMALL_ENTRY_BYTES while hashing it. */
  private smallEntry(
    name: string,
    reason: SnapshotCorruptReasonCode,
    done: (bytes: Buffer, sha256: string) => void,
  ): EntryHandler {
    const hash: Hash = createHash('sha256');
    const parts: Buffer[] = [];
    let bytes = 0;
    return {
      data: (chunk) => {
        bytes += chunk.length;
        if (bytes > MAX_SMALL_ENTRY_BYTES) {
          return this.fail(
            reason,
            `${name} is larger than ${MAX_SMALL_ENTRY_BYTES} bytes; Vault writes a few hundred: not a Vault snapshot; ${ADVICE}`,
          );
        }
        hash.update(chunk);
        parts.push(chunk);
      },
      end: () => done(Buffer.concat(parts), hash.digest('hex')),
    };
  }

  /**
   * Runs when SHA256SUMS is in (meta.json and state.bin came before it). Integrity first:
   * a byte flipped in state.bin reports as a checksum mismatch, not as whatever parse error
   * it happens to cause; only bytes that match their checksums are judged for format.
   */
  private checkContents(sumsText: string): void {
    const state = this.state!;
    let sums: Map<string, string>;
    try {
      sums = parseSha256Sums(sumsText);
    } catch (err) {
      return this.fail('bad-sha256sums', `${SUMS} is malformed: ${(err as Error).message}; ${ADVICE}`);
    }
    for (const listed of sums.keys()) {
      if (listed !== META && listed !== STATE) {
        return this.fail(
          'bad-sha256sums',
          `${SUMS} lists ${JSON.stringify(listed)}, which is not in the archive; ${ADVICE}`,
        );
      }
    }
    const actual: Record<string, string> = { [STATE]: state.sha256, [META]: this.metaSha256! };
    for (const name of [META, STATE]) {
      if (!sums.has(name))
        return this.fail('bad-sha256sums', `${SUMS} does not list ${name}, so it cannot be checked; ${ADVICE}`);
    }
    const mismatches = [STATE, META].filter((name) => sums.get(name) !== actual[name]);
    if (mismatches.length > 0) {
      const detail = mismatches
        .map((name) => `${name} (expected ${sums.get(name)}, got ${actual[name]})`)
        .join(' and ');
      return this.fail('sha256sums-mismatch', `${SUMS} mismatch for ${detail}; ${ADVICE}`);
    }

    let raw: unknown;
    try {
      raw = JSON.parse(this.metaJson!.toString('utf8'));
    } catch (err) {
      return this.fail('bad-meta', `${META} is not valid JSON (${(err as Error).message}); ${ADVICE}`);
    }
    const meta = parseMeta(raw);
    if (Array.isArray(meta)) return this.fail('bad-meta', `${META} is not raft snapshot metadata (${meta.join('; ')}); ${ADVICE}`);
    if (meta.Size !== state.bytes) {
      return this.fail(
        'size-mismatch',
        `${META} says state.bin has ${meta.Size} bytes (Size) but it has ${state.bytes}: the snapshot is inconsistent; ${ADVICE}`,
      );
    }
    if (state.error !== undefined) {
      return this.fail(
        'bad-state',
        `state.bin is not a stream of length-delimited StorageEntry messages: ${state.error}; ${ADVICE}`,
      );
    }
    this.meta = meta;
  }

  // ---- verdict ----

  private maybeFinish(): void {
    if (
      this.settled ||
      !this.inputEnded ||
      !this.trailerOk ||
      !this.tarFinished ||
      this.entriesEnded < this.entries.length
    )
      return;
    const seen = this.entries.length;
    if (seen < ENTRY_ORDER.length) {
      const missing = ENTRY_ORDER.slice(seen);
      if (seen === ENTRY_ORDER.length - 1) {
        return this.fail(
          'missing-sealed-sums',
          `${SEALED} is missing (the archive ends after ${SUMS}): nothing proves the checksums came from the cluster's seal; ${ADVICE}`,
        );
      }
      return this.fail('missing-entry', `the archive ends without ${missing.join(', ')}; ${LAYOUT}; ${ADVICE}`);
    }
    if (this.lastEntryEnd !== undefined) {
      if (this.lastNonZeroEnd > this.lastEntryEnd) {
        return this.fail(
          'trailing-data',
          `non-zero data follows ${SEALED} inside the tar stream (up to byte ${this.lastNonZeroEnd}, the last entry ends at ${this.lastEntryEnd}); ${ADVICE}`,
        );
      }
      const padded = Math.ceil(this.lastEntryEnd / TAR_BLOCK) * TAR_BLOCK;
      if (this.tarBytes - padded < 2 * TAR_BLOCK) {
        return this.fail(
          'truncated',
          `the tar end-of-archive marker (two zero blocks) after ${SEALED} is missing: the archive was cut short; ${ADVICE}`,
        );
      }
    }
    const state = this.state!;
    const meta = this.meta!;
    this.settled = true;
    this.inflate.destroy();
    this.resolve({
      archiveBytes: this.archiveBytes,
      archiveSha256: this.archiveHash.digest('hex'),
      index: meta.Index,
      term: meta.Term,
      version: meta.Version,
      id: meta.ID,
      stateBytes: state.bytes,
      stateSha256: state.sha256,
      entries: this.entries,
      keys: state.parser.keys,
      prefixes: state.parser.prefixes(),
    });
  }

  private fail(reason: SnapshotCorruptReasonCode, what: string): void {
    this.settle(new SnapshotCorruptError(reason, `snapshot ${this.label}: ${what}`));
  }

  private settle(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
    this.inflate.destroy();
    this.extract.destroy();
    this.release();
  }
}
