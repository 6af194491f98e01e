import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';

/** What the object is created with; the body arrives through `write`. */
export type ObjectParams = Required<Pick<PutObjectCommandInput, 'Bucket' | 'Key'>> &
  Pick<PutObjectCommandInput, 'ContentType' | 'ServerSideEncryption' | 'SSEKMSKeyId' | 'Metadata'>;

export interface MultipartOptions {
  /** Bytes per part; S3 needs at least 5 MiB for every part but the last. */
  partSize: number;
  /** Parts uploading at once. Memory held: about partSize × (concurrency + 1). */
  concurrency: number;
}

/**
 * Uploads a stream of unknown length to S3 as it arrives, with a SHA-256 checksum on every
 * part (computed here once; S3 verifies it on receipt) and nothing visible under the key until
 * `complete()`: the caller decides, after the last byte, whether the object comes into being.
 * A body that fits in one part becomes one PutObject at `complete()`; a larger one a multipart
 * upload whose `abort()` leaves no object and no stored parts.
 *
 * Written here rather than with lib-storage's Upload because Upload completes the upload as
 * soon as its body ends (before the archive's verdict is in) and hashes every part a second time.
 */
export class MultipartWriter {
  /** Bytes accepted so far. */
  bytes = 0;
  /** Raw SHA-256 of each part sent, in order: the inputs of S3's composite checksum. */
  readonly partDigests: Buffer[] = [];
  private part: Buffer;
  private fill = 0;
  /**
   * Part buffers whose request settled, reused for the next parts: at most concurrency + 1
   * exist, so memory is bounded by construction rather than by when the GC frees Buffers.
   */
  private readonly spare: Buffer[] = [];
  private uploadId?: Promise<string>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly parts: CompletedPart[] = [];
  private failure?: unknown;
  private readonly stop = new AbortController();
  private acked = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly params: ObjectParams,
    private readonly opts: MultipartOptions,
    /** Bytes acknowledged by S3 so far, after each part. */
    private readonly onProgress?: (bytes: number) => void,
  ) {
    this.part = Buffer.allocUnsafe(opts.partSize);
  }

  /** True once a multipart upload was started (the object is then composite-checksummed). */
  get multipart(): boolean {
    return this.uploadId !== undefined;
  }

  /** Takes the next bytes; resolves when fewer than `concurrency` parts are in flight. Rejects with the first S3 error. */
  async write(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.opts.partSize - this.fill, chunk.length - offset);
      chunk.copy(this.part, this.fill, offset, offset + take);
      this.fill += take;
      offset += take;
      this.bytes += take;
      if (this.fill === this.opts.partSize) await this.sendPart();
    }
  }

  /**
   * After the last byte: sends what is left and makes the object exist. `lateMetadata` joins
   * the object's metadata when it is one PutObject (a multipart upload fixed it at creation).
   */
  async complete(lateMetadata: Record<string, string> = {}): Promise<void> {
    this.throwIfFailed();
    const { Bucket, Key } = this.params;
    if (!this.multipart) {
      const body = this.part.subarray(0, this.fill);
      const digest = sha256(body);
      this.partDigests.push(digest);
      await this.s3.send(
        new PutObjectCommand({
          ...this.params,
          Metadata: { ...this.params.Metadata, ...lateMetadata },
          ChecksumAlgorithm: 'SHA256',
          Body: body,
          ContentLength: body.length,
          ChecksumSHA256: digest.toString('base64'),
        }),
        { abortSignal: this.stop.signal },
      );
      this.onProgress?.(this.bytes);
      return;
    }
    if (this.fill > 0) await this.sendPart();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId: await this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
      { abortSignal: this.stop.signal },
    );
  }

  /**
   * Leaves nothing behind: stops the parts in flight and aborts the multipart upload (S3 then
   * drops every stored part). Resolves once S3 confirmed; rejects when S3 cannot be reached to
   * abort (a bucket lifecycle rule for incomplete multipart uploads is the backstop).
   */
  async abort(): Promise<'aborted' | 'nothing'> {
    this.stop.abort();
    await Promise.allSettled(this.inFlight);
    if (!this.uploadId) return 'nothing';
    let uploadId: string;
    try {
      uploadId = await this.uploadId;
    } catch {
      return 'nothing'; // never created: nothing to abort
    }
    await this.s3.send(
      new AbortMultipartUploadCommand({ Bucket: this.params.Bucket, Key: this.params.Key, UploadId: uploadId }),
    );
    return 'aborted';
  }

  private async sendPart(): Promise<void> {
    const body = this.part.subarray(0, this.fill);
    const number = this.partDigests.length + 1;
    const digest = sha256(body);
    this.partDigests.push(digest);
    // The buffer just filled belongs to its request until it settles; the next part takes a spare one.
    const owned = this.part;
    this.part = this.spare.pop() ?? Buffer.allocUnsafe(this.opts.partSize);
    this.fill = 0;
    this.uploadId ??= this.s3
      .send(new CreateMultipartUploadCommand({ ...this.params, ChecksumAlgorithm: 'SHA256' }), {
        abortSignal: this.stop.signal,
      })
      .then((r) => r.UploadId!);
    const { Bucket, Key } = this.params;
    const request: Promise<void> = this.uploadId
      .then((UploadId) =>
        this.s3.send(
          new UploadPartCommand({
            Bucket,
            Key,
            UploadId,
            PartNumber: number,
            ChecksumAlgorithm: 'SHA256',
            Body: body,
            ContentLength: body.length,
            ChecksumSHA256: digest.toString('base64'),
          }),
          { abortSignal: this.stop.signal },
        ),
      )
      .then((r) => {
        this.parts[number - 1] = { PartNumber: number, ETag: r.ETag, ChecksumSHA256: digest.toString('base64') };
        this.acked += body.length;
        this.onProgress?.(this.acked);
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.inFlight.delete(request);
        this.spare.push(owned);
      });
    this.inFlight.add(request);
    while (this.inFlight.size >= this.opts.concurrency) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
