import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Pass-through stream that hashes what flows through it: the SHA-256 of the whole
 * stream and, when `partSize` is given, the SHA-256 of each `partSize`-byte part — the
 * inputs of S3's composite multipart checksum. Memory stays flat: only digests are kept.
 */
export class HashingStream extends Transform {
  /** Bytes seen so far. */
  bytes = 0;
  /** Digest of each completed part (raw 32 bytes), in order. */
  readonly partDigests: Buffer[] = [];
  private readonly whole = createHash('sha256');
  private part?: Hash;
  private partBytes = 0;

  /**
   * @param partSize bytes per part for the per-part digests; 0 (default) for none
   * @param onProgress called with the running byte count after each chunk
   */
  constructor(
    private readonly partSize = 0,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.whole.update(chunk);
    if (this.partSize > 0) this.hashParts(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.part) this.partDigests.push(this.part.digest());
    this.part = undefined;
    cb();
  }

  /** Hex SHA-256 of everything that passed; call once, after the stream ended. */
  sha256Hex(): string {
    return this.whole.digest('hex');
  }

  private hashParts(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      this.part ??= createHash('sha256');
      const take = Math.min(this.partSize - this.partBytes, chunk.length - offset);
      this.part.update(chunk.subarray(offset, offset + take));
      this.partBytes += take;
      offset += take;
      if (this.partBytes === this.partSize) {
        this.partDigests.push(this.part.digest());
        this.part = undefined;
        this.partBytes = 0;
      }
    }
  }
}

/** S3's composite checksum digest: base64(sha256(concat(part digests))), without the `-N` suffix. */
export function compositeSha256(partDigests: Buffer[]): string {
  return createHash('sha256').update(Buffer.concat(partDigests)).digest('base64');
}

export const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
