import { crc32 } from 'node:zlib';

/**
 * The framing of one gzip member (RFC 1952) around a raw deflate stream. The snapshot
 * verifier parses it itself and inflates the body with `createInflateRaw`, because
 * `createGunzip` cannot say where the member ended: it silently drops trailing zero bytes,
 * decodes an appended second member as if it belonged to the first, and on other trailing
 * bytes fails with "incorrect header check" after discarding the output of the last chunk.
 */

const ID1 = 0x1f;
const ID2 = 0x8b;
const CM_DEFLATE = 8;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
/** A header is 10 bytes plus optional fields; Vault writes 10. Anything this long is not a snapshot. */
export const MAX_GZIP_HEADER_BYTES = 64 * 1024;
export const GZIP_TRAILER_BYTES = 8;

export type HeaderParse =
  { kind: 'complete'; length: number } | { kind: 'need-more' } | { kind: 'invalid'; why: string };

/** Parses a gzip member header from the start of `buf` (which may hold only part of it). */
export function parseGzipHeader(buf: Buffer): HeaderParse {
  if (buf.length >= 1 && buf[0] !== ID1)
    return { kind: 'invalid', why: 'does not start with the gzip magic bytes 1f 8b' };
  if (buf.length >= 2 && buf[1] !== ID2)
    return { kind: 'invalid', why: 'does not start with the gzip magic bytes 1f 8b' };
  if (buf.length < 10) return { kind: 'need-more' };
  if (buf[2] !== CM_DEFLATE) return { kind: 'invalid', why: `gzip compression method ${buf[2]} is not deflate (8)` };
  const flags = buf[3];
  if (flags & FRESERVED)
    return { kind: 'invalid', why: `gzip header has reserved flag bits set (0x${flags.toString(16)})` };
  let p = 10;
  if (flags & FEXTRA) {
    if (buf.length < p + 2) return { kind: 'need-more' };
    p += 2 + buf.readUInt16LE(p);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const nul = buf.indexOf(0, p);
    if (nul < 0) return { kind: 'need-more' };
    p = nul + 1;
  }
  if (flags & FHCRC) {
    if (buf.length < p + 2) return { kind: 'need-more' };
    const expected = buf.readUInt16LE(p);
    const actual = crc32(buf.subarray(0, p)) & 0xffff;
    if (expected !== actual) return { kind: 'invalid', why: 'gzip header checksum (FHCRC) does not match' };
    p += 2;
  }
  if (buf.length < p) return { kind: 'need-more' };
  return { kind: 'complete', length: p };
}

/** Compares the 8-byte trailer with the CRC-32 and length (mod 2^32) of the inflated data; a problem or undefined. */
export function checkGzipTrailer(trailer: Buffer, crc: number, length: number): string | undefined {
  const expectedCrc = trailer.readUInt32LE(0);
  const expectedSize = trailer.readUInt32LE(4);
  if (expectedCrc !== crc) {
    return `gzip CRC-32 mismatch (trailer says ${hex32(expectedCrc)}, data gives ${hex32(crc)})`;
  }
  if (expectedSize !== length % 2 ** 32) {
    return `gzip length mismatch (trailer says ${expectedSize} bytes mod 2^32, data has ${length})`;
  }
  return undefined;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
