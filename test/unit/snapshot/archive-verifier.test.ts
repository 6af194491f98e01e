import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import { createSnapshotVerifier } from '../../../lib/snapshot/archive-verifier';
import { SnapshotCorruptError } from '../../../lib/snapshot/corrupt';
import { formatInspection, type SnapshotInspection } from '../../../lib/snapshot/inspection';
import { keyPrefix } from '../../../lib/snapshot/raft-state';
import { verifySnapshotFile } from '../../../lib/snapshot/verify-file';
import { snapshotVerifyCommand } from '../../../scripts/commands/snapshot-verify';

/** A real `GET /v1/sys/storage/raft/snapshot` body from OpenBao 2.7.2 (test/fixtures/make-snapshot-fixtures.ts). */
const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'snapshots', 'openbao-2.7.2-small.snap');
const LABEL = 'vault-20261126-020000.snap';

interface Entry {
  name: string;
  data: Buffer;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The fixture's tar entries, read independently of the verifier. */
async function entriesOf(archive: Buffer): Promise<Entry[]> {
  const out: Entry[] = [];
  const ex = tarExtract();
  ex.on('entry', (header, stream, next) => {
    const parts: Buffer[] = [];
    stream.on('data', (c) => parts.push(c as Buffer));
    stream.on('end', () => {
      out.push({ name: header.name, data: Buffer.concat(parts) });
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', () => resolve());
    ex.on('error', reject);
  });
  ex.end(gunzipSync(archive));
  await done;
  return out;
}

/** The uncompressed tar of `entries`, as tar-stream packs it (ustar, end-of-archive marker included). */
async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = tarPack();
  for (const e of entries)
    p.entry({ name: e.name, size: e.data.length, mode: 0o600, mtime: new Date('2026-11-26T02:00:00Z') }, e.data);
  p.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of p) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Packs `entries` with tar-stream and gzips the tar as a stream, like Vault writes a snapshot. */
async function archiveOf(entries: Entry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(Readable.from([await tarOf(entries)]), createGzip(), async function* (source) {
    for await (const chunk of source) parts.push(chunk as Buffer);
  });
  return Buffer.concat(parts);
}

/** A SHA256SUMS as Vault writes it: state.bin first, then meta.json. */
function sumsFor(meta: Buffer, state: Buffer): Buffer {
  return Buffer.from(`${sha256(state)}  state.bin\n${sha256(meta)}  meta.json\n`);
}

function withEntry(entries: Entry[], name: string, data: Buffer): Entry[] {
  return entries.map((e) => (e.name === name ? { name, data } : e));
}

/** Writes `archive` into a fresh verifier in chunks of `chunkSize` (or sizes from `sizes`), honouring backpressure. */
async function verify(archive: Buffer, chunkSize: number | (() => number) = 64 * 1024): Promise<SnapshotInspection> {
  const { sink, result } = createSnapshotVerifier(LABEL);
  for (let i = 0; i < archive.length;) {
    const n = typeof chunkSize === 'number' ? chunkSize : chunkSize();
    if (!sink.write(archive.subarray(i, i + n))) await new Promise((r) => sink.once('drain', r));
    i += n;
  }
  sink.end();
  return result;
}

/** Asserts a SnapshotCorruptError with `reason` whose message names the snapshot, matches `what` and says what to do. */
async function assertCorrupt(promise: Promise<unknown>, reason: string, what: RegExp, label = LABEL): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SnapshotCorruptError, `expected a SnapshotCorruptError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    assert.ok(err.message.startsWith(`snapshot ${label}: `), err.message);
    assert.match(err.message, what);
    assert.match(err.message, /use the previous snapshot or re-run the backup/);
    return true;
  });
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Encodes `n` as a protobuf uvarint. */
function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

/** One length-delimited StorageEntry {key = 1, value = 2}, as OpenBao's FSM writes it. */
function storageEntry(key: string, value: Buffer): Buffer {
  const k = Buffer.from(key);
  const msg = Buffer.concat([
    Buffer.from([0x0a]),
    uvarint(k.length),
    k,
    Buffer.from([0x12]),
    uvarint(value.length),
    value,
  ]);
  return Buffer.concat([uvarint(msg.length), msg]);
}

describe('snapshot archive verification', function () {
  this.timeout(60_000);
  let fixture: Buffer;
  let entries: Entry[];
  let meta: Buffer;
  let state: Buffer;
  let dir: string;

  before(async () => {
    fixture = readFileSync(FIXTURE);
    entries = await entriesOf(fixture);
    meta = entries.find((e) => e.name === 'meta.json')!.data;
    state = entries.find((e) => e.name === 'state.bin')!.data;
    dir = mkdtempSync(join(tmpdir(), 'secdr-snapshot-archive-'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('a real OpenBao snapshot', () => {
    it('holds meta.json, state.bin, SHA256SUMS and SHA256SUMS.sealed in that order', () => {
      assert.deepEqual(
        entries.map((e) => e.name),
        ['meta.json', 'state.bin', 'SHA256SUMS', 'SHA256SUMS.sealed'],
      );
    });

    it('is accepted, with its raft index, term, id and checksums reported', async () => {
      const i = await verify(fixture);
      const m = JSON.parse(meta.toString()) as { Index: number; Term: number; Size: number };
      assert.ok(i.index > 0);
      assert.equal(i.index, m.Index);
      assert.equal(i.term, m.Term);
      assert.equal(i.version, 1);
      assert.equal(i.id, 'bolt-snapshot');
      assert.equal(i.archiveBytes, fixture.length);
      assert.equal(i.archiveSha256, sha256(fixture));
      assert.equal(i.stateBytes, state.length);
      assert.equal(i.stateBytes, m.Size);
      assert.equal(i.stateSha256, sha256(state));
      assert.deepEqual(
        i.entries,
        entries.map((e) => ({ name: e.name, size: e.data.length })),
      );
    });

    it('reports keys per prefix that add up to every key and every byte of state.bin', async () => {
      const i = await verify(fixture);
      assert.ok(i.keys >= 20, `only ${i.keys} keys`);
      assert.equal(
        i.prefixes.reduce((s, p) => s + p.keys, 0),
        i.keys,
      );
      assert.equal(
        i.prefixes.reduce((s, p) => s + p.bytes, 0),
        i.stateBytes,
      );
      const bytes = i.prefixes.map((p) => p.bytes);
      assert.deepEqual(
        bytes,
        [...bytes].sort((a, b) => b - a),
        'largest prefix first',
      );
      const names = i.prefixes.map((p) => p.prefix);
      assert.ok(names.includes('core/'), names.join(', '));
      assert.ok(names.includes('sys/token/'), names.join(', '));
      // kv v2 at secret/ and the identity store each live under their mount's uuid.
      assert.ok(names.filter((n) => /^logical\/[0-9a-f-]{36}\/$/.test(n)).length >= 2, names.join(', '));
    });

    it('is accepted when its bytes arrive one at a time', async () => {
      const i = await verify(fixture, 1);
      assert.equal(i.archiveSha256, sha256(fixture));
      assert.ok(i.index > 0);
    });

    it('is accepted when its bytes arrive in chunks of random sizes', async () => {
      const next = random(7);
      for (let round = 0; round < 5; round++) {
        const i = await verify(fixture, () => 1 + Math.floor(next() * 700));
        assert.equal(i.stateSha256, sha256(state));
      }
    });

    it('is accepted from a file, and formatted as a table of prefixes', async () => {
      const i = await verifySnapshotFile(FIXTURE);
      const table = formatInspection(i);
      assert.match(table, new RegExp(`^Index\\s+${i.index}$`, 'm'));
      assert.match(table, new RegExp(`^Term\\s+${i.term}$`, 'm'));
      assert.match(table, /^ID\s+bolt-snapshot$/m);
      assert.match(table, new RegExp(i.archiveSha256));
      assert.match(table, /^core\/\s+\d+\s+[\d,]+$/m);
      assert.match(table, new RegExp(`^Total\\s+${i.keys}\\s+${i.stateBytes.toLocaleString('en-US')}$`, 'm'));
    });

    it('is accepted with a gzip header that carries a file name and a header CRC, as gzip(1) may write', async () => {
      const header = Buffer.from(fixture.subarray(0, 10));
      header[3] |= 0x08 | 0x02; // FNAME | FHCRC
      const withName = Buffer.concat([header, Buffer.from('vault.snap\0')]);
      const crc = Buffer.alloc(2);
      crc.writeUInt16LE(crc32(withName) & 0xffff);
      const i = await verify(Buffer.concat([withName, crc, fixture.subarray(10)]), 3);
      assert.equal(i.stateSha256, sha256(state));
    });

    it('is still accepted after unpacking and repacking unchanged (the control for the corrupted copies below)', async () => {
      const i = await verify(await archiveOf(entries));
      assert.equal(i.stateSha256, sha256(state));
    });
  });

  describe('corrupt snapshots', () => {
    it('rejects a snapshot truncated at any of several points', async () => {
      const cuts = [
        1,
        2,
        9,
        10,
        11,
        100,
        Math.floor(fixture.length / 2),
        fixture.length - 9,
        fixture.length - 8,
        fixture.length - 4,
        fixture.length - 1,
      ];
      for (const cut of cuts) {
        await assertCorrupt(
          verify(fixture.subarray(0, cut)),
          'truncated',
          new RegExp(`ends after ${cut} bytes?, .*cut short`),
        );
      }
    });

    it('rejects a snapshot whose tar lacks the end-of-archive marker', async () => {
      const tar = await tarOf(entries);
      await assertCorrupt(verify(gzipSync(tar.subarray(0, tar.length - 1024))), 'truncated', /end-of-archive marker/);
    });

    it('rejects a snapshot whose tar stream ends inside state.bin', async () => {
      const tar = await tarOf(entries);
      await assertCorrupt(
        verify(gzipSync(tar.subarray(0, 512 + 512 + 512 + 4000))),
        'truncated',
        /ends inside entry 2 \(state\.bin\)/,
      );
    });

    it('rejects a snapshot whose state.bin has a flipped byte', async () => {
      for (const at of [0, Math.floor(state.length / 2), state.length - 1]) {
        const flipped = Buffer.from(state);
        flipped[at] ^= 0x01;
        const archive = await archiveOf(withEntry(entries, 'state.bin', flipped));
        await assertCorrupt(
          verify(archive),
          'sha256sums-mismatch',
          new RegExp(`SHA256SUMS mismatch for state\\.bin \\(expected ${sha256(state)}, got ${sha256(flipped)}\\)`),
        );
      }
    });

    it('rejects a snapshot whose SHA256SUMS does not match meta.json', async () => {
      const sums = readEntry('SHA256SUMS').toString().replace(sha256(meta), 'f'.repeat(64));
      const archive = await archiveOf(withEntry(entries, 'SHA256SUMS', Buffer.from(sums)));
      await assertCorrupt(
        verify(archive),
        'sha256sums-mismatch',
        new RegExp(`mismatch for meta\\.json \\(expected f{64}, got ${sha256(meta)}\\)`),
      );
    });

    it('rejects a snapshot whose SHA256SUMS leaves out state.bin', async () => {
      const archive = await archiveOf(withEntry(entries, 'SHA256SUMS', Buffer.from(`${sha256(meta)}  meta.json\n`)));
      await assertCorrupt(verify(archive), 'bad-sha256sums', /SHA256SUMS does not list state\.bin/);
    });

    it('rejects a snapshot without SHA256SUMS.sealed', async () => {
      const archive = await archiveOf(entries.filter((e) => e.name !== 'SHA256SUMS.sealed'));
      await assertCorrupt(verify(archive), 'missing-sealed-sums', /SHA256SUMS\.sealed is missing/);
    });

    it('rejects a snapshot whose SHA256SUMS.sealed is empty', async () => {
      const archive = await archiveOf(withEntry(entries, 'SHA256SUMS.sealed', Buffer.alloc(0)));
      await assertCorrupt(verify(archive), 'empty-sealed-sums', /SHA256SUMS\.sealed is empty/);
    });

    it('rejects a snapshot with bytes after the gzip stream', async () => {
      await assertCorrupt(
        verify(Buffer.concat([fixture, Buffer.from('junk')])),
        'trailing-data',
        /4 bytes of trailing data follow the end of the gzip stream/,
      );
      await assertCorrupt(
        verify(Buffer.concat([fixture, Buffer.alloc(100)])),
        'trailing-data',
        /100 bytes of trailing data/,
      );
      await assertCorrupt(
        verify(Buffer.concat([fixture, Buffer.from('junk')]), 1),
        'trailing-data',
        /4 bytes of trailing data/,
      );
      // gunzip would decode a second member as part of the first.
      const second = gzipSync(Buffer.alloc(1024));
      await assertCorrupt(
        verify(Buffer.concat([fixture, second])),
        'trailing-data',
        new RegExp(`${second.length} bytes of trailing data`),
      );
    });

    it('rejects a snapshot with non-zero data after the tar end-of-archive marker', async () => {
      const tar = await tarOf(entries);
      for (const junk of [Buffer.alloc(512, 0x41), Buffer.alloc(100, 0x41)]) {
        await assertCorrupt(verify(gzipSync(Buffer.concat([tar, junk]))), 'trailing-data', /SHA256SUMS\.sealed/);
      }
    });

    it('accepts zero padding after the tar end-of-archive marker (GNU tar pads to 10 KiB records)', async () => {
      const tar = await tarOf(entries);
      const i = await verify(gzipSync(Buffer.concat([tar, Buffer.alloc(10240 - (tar.length % 10240))])));
      assert.equal(i.stateSha256, sha256(state));
    });

    it('rejects an empty file', async () => {
      await assertCorrupt(verify(Buffer.alloc(0)), 'empty', /empty \(0 bytes\)/);
    });

    it('rejects a Vault error body instead of an archive', async () => {
      await assertCorrupt(
        verify(Buffer.from('{"errors":["permission denied"]}\n')),
        'not-gzip',
        /not a gzip archive.*starts with 7b 22 65 72/,
      );
    });

    it('rejects a snapshot with an extra entry', async () => {
      const extra = { name: 'extra.txt', data: Buffer.from('surprise') };
      await assertCorrupt(
        verify(await archiveOf([...entries, extra])),
        'unexpected-entry',
        /unexpected entry "extra\.txt" \(8 bytes\) after SHA256SUMS\.sealed/,
      );
      const middle = [entries[0], extra, ...entries.slice(1)];
      await assertCorrupt(
        verify(await archiveOf(middle)),
        'unexpected-entry',
        /unexpected entry "extra\.txt" \(8 bytes\) at position 2/,
      );
    });

    it('rejects a snapshot whose entries are out of order', async () => {
      const swapped = [entries[1], entries[0], ...entries.slice(2)];
      await assertCorrupt(
        verify(await archiveOf(swapped)),
        'entry-order',
        /entry 1 is state\.bin where meta\.json belongs/,
      );
    });

    it('rejects a snapshot whose meta.json Size does not match state.bin', async () => {
      const m = JSON.parse(meta.toString()) as Record<string, unknown>;
      const wrong = Buffer.from(JSON.stringify({ ...m, Size: state.length + 1 }));
      const archive = await archiveOf([
        { name: 'meta.json', data: wrong },
        { name: 'state.bin', data: state },
        { name: 'SHA256SUMS', data: sumsFor(wrong, state) },
        entries[3],
      ]);
      await assertCorrupt(
        verify(archive),
        'size-mismatch',
        new RegExp(`meta\\.json says state\\.bin has ${state.length + 1} bytes \\(Size\\) but it has ${state.length}`),
      );
    });

    it('rejects a snapshot whose meta.json is not raft metadata', async () => {
      const wrong = Buffer.from(JSON.stringify({ Version: 1, ID: 'bolt-snapshot', Term: 3, Size: state.length }));
      const archive = await archiveOf([
        { name: 'meta.json', data: wrong },
        entries[1],
        { name: 'SHA256SUMS', data: sumsFor(wrong, state) },
        entries[3],
      ]);
      await assertCorrupt(verify(archive), 'bad-meta', /meta\.json is not raft snapshot metadata \(Index: /);
    });

    it('rejects a snapshot whose state.bin matches its checksums but is not StorageEntry messages', async () => {
      const cases: [string, Buffer, RegExp][] = [
        [
          'an entry that runs past the end',
          Buffer.concat([state, uvarint(50), Buffer.from([0x0a, 0x01])]),
          /runs past the end of state\.bin/,
        ],
        ['an entry without a key', Buffer.concat([state, uvarint(3), Buffer.from([0x12, 0x01, 0x00])]), /has no key/],
        [
          'a key with the wrong wire type',
          Buffer.concat([uvarint(2), Buffer.from([0x08, 0x01]), state]),
          /field 1 \(key\) has wire type 0/,
        ],
        [
          'random bytes',
          Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)),
          /at byte \d+ of state\.bin/,
        ],
      ];
      for (const [what, bad, message] of cases) {
        const m = Buffer.from(JSON.stringify({ ...(JSON.parse(meta.toString()) as object), Size: bad.length }));
        const archive = await archiveOf([
          { name: 'meta.json', data: m },
          { name: 'state.bin', data: bad },
          { name: 'SHA256SUMS', data: sumsFor(m, bad) },
          entries[3],
        ]);
        await assertCorrupt(verify(archive), 'bad-state', message).catch((err: Error) => {
          throw new Error(`${what}: ${err.message}`);
        });
      }
    });

    it('rejects a snapshot whose gzip CRC does not match its content', async () => {
      const bad = Buffer.from(fixture);
      bad[bad.length - 8] ^= 0xff;
      await assertCorrupt(verify(bad), 'bad-gzip', /gzip CRC-32 mismatch/);
    });

    it('rejects a snapshot whose compressed bytes are damaged, whatever the damage turns into', async () => {
      const next = random(11);
      for (let round = 0; round < 20; round++) {
        const bad = Buffer.from(fixture);
        const at = 10 + Math.floor(next() * (fixture.length - 18));
        bad[at] ^= 1 + Math.floor(next() * 255);
        await assert.rejects(verify(bad), (err: unknown) => {
          assert.ok(err instanceof SnapshotCorruptError, String(err));
          assert.match(
            err.reason,
            /^(bad-gzip|bad-tar|truncated|sha256sums-mismatch|bad-state|bad-meta|bad-sha256sums|unexpected-entry|entry-order|trailing-data)$/,
          );
          return true;
        });
      }
    });
  });

  describe('the verifier as a stream', () => {
    it('keeps accepting bytes after a verdict, so a tee feeding it never stalls', async () => {
      const { sink, result } = createSnapshotVerifier(LABEL);
      const verdict = assertCorrupt(result, 'not-gzip', /not a gzip archive/);
      const junk = Buffer.alloc(4 * 1024 * 1024, 0x41);
      for (let i = 0; i < junk.length; i += 16 * 1024) {
        if (!sink.write(junk.subarray(i, i + 16 * 1024))) await new Promise((r) => sink.once('drain', r));
      }
      await new Promise<void>((resolve) => sink.end(resolve));
      await verdict;
    });

    it('rejects, not hangs, when its input is destroyed mid-stream', async () => {
      const { sink, result } = createSnapshotVerifier(LABEL);
      sink.write(fixture.subarray(0, 5000));
      (sink as unknown as { destroy(): void }).destroy();
      await assertCorrupt(result, 'truncated', /input was closed after 5000 bytes/);
    });

    it('leaves no unhandled rejection when nobody awaits the verdict', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const { sink } = createSnapshotVerifier(LABEL);
        sink.end(Buffer.from('not a snapshot'));
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(unhandled, []);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it('keeps memory flat on a snapshot far larger than its buffers', async function () {
      this.timeout(120_000);
      // 128 MiB of state.bin: 16384 entries of 8 KiB, generated and gzipped as they stream.
      // Buffering it would need all 128 MiB; streaming peaks at some 40 MiB of garbage not yet collected.
      const value = Buffer.alloc(8 * 1024 - 64, 0x5a);
      const count = 16384;
      const one = (n: number) =>
        storageEntry(`logical/0b7e54ad-5e6b-4e39-9c3f-2f2b3c6f0a11/${String(n).padStart(8, '0')}`, value);
      const stateSize = Array.from({ length: count }, (_, n) => one(n).length).reduce((a, b) => a + b, 0);
      const stateHash = createHash('sha256');
      for (let n = 0; n < count; n++) stateHash.update(one(n));
      const stateSha = stateHash.digest('hex');
      const bigMeta = Buffer.from(
        JSON.stringify({ Version: 1, ID: 'bolt-snapshot', Index: 1234, Term: 5, Size: stateSize }),
      );
      const sums = Buffer.from(`${stateSha}  state.bin\n${sha256(bigMeta)}  meta.json\n`);

      const p = tarPack();
      const { sink, result } = createSnapshotVerifier('big.snap');
      const base = process.memoryUsage();
      const grown = () => {
        const m = process.memoryUsage();
        return m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers;
      };
      let peak = 0;
      const sample = setInterval(() => {
        // On a loaded machine the collector lags and garbage alone can pass the bar: a sample
        // over it is taken again after a full collection, so only memory still held counts.
        let used = grown();
        if (used >= stateSize / 2) {
          collectGarbage();
          used = grown();
        }
        peak = Math.max(peak, used);
      }, 5);
      const feeding = pipeline(p, createGzip({ level: 1 }), sink);
      p.entry({ name: 'meta.json', size: bigMeta.length }, bigMeta);
      const st = p.entry({ name: 'state.bin', size: stateSize });
      for (let n = 0; n < count; n++) {
        if (!st.write(one(n))) await new Promise<void>((r) => st.once('drain', () => r()));
      }
      st.end(undefined);
      p.entry({ name: 'SHA256SUMS', size: sums.length }, sums);
      p.entry({ name: 'SHA256SUMS.sealed', size: 16 }, Buffer.alloc(16, 1));
      p.finalize();
      try {
        const [i] = await Promise.all([result, feeding]);
        assert.equal(i.stateBytes, stateSize);
        assert.equal(i.keys, count);
        assert.deepEqual(i.prefixes, [
          { prefix: 'logical/0b7e54ad-5e6b-4e39-9c3f-2f2b3c6f0a11/', keys: count, bytes: stateSize },
        ]);
      } finally {
        clearInterval(sample);
      }
      assert.ok(
        peak < stateSize / 2,
        `memory grew by ${Math.round(peak / 1048576)} MiB for a ${Math.round(stateSize / 1048576)} MiB state.bin`,
      );
    });
  });

  describe('key prefixes', () => {
    it('keeps one segment for core and two for mounts and subsystems', () => {
      assert.equal(keyPrefix('core/keyring'), 'core/');
      assert.equal(keyPrefix('core/mounts/4c1ec80e'), 'core/');
      assert.equal(keyPrefix('logical/c44554c9-94f2/abc/metadata/x'), 'logical/c44554c9-94f2/');
      assert.equal(keyPrefix('sys/token/id/h123'), 'sys/token/');
      assert.equal(keyPrefix('sys/expire/id/auth/x'), 'sys/expire/');
      assert.equal(keyPrefix('auth/9a8b/role/x'), 'auth/9a8b/');
      assert.equal(keyPrefix('sys/counters'), 'sys/');
      assert.equal(keyPrefix('toplevel'), 'toplevel');
    });
  });

  describe('secdr snapshot verify', () => {
    let out: string[];
    let err: string[];
    let restore: () => void;

    beforeEach(() => {
      out = [];
      err = [];
      const { log, error } = console;
      console.log = (...a: unknown[]) => void out.push(a.join(' '));
      console.error = (...a: unknown[]) => void err.push(a.join(' '));
      restore = () => Object.assign(console, { log, error });
    });
    afterEach(() => restore());

    it('prints the inspection and exits 0 for a valid snapshot', async () => {
      assert.equal(await snapshotVerifyCommand(FIXTURE, {}), 0);
      assert.match(out.join('\n'), /valid raft snapshot[\s\S]*^Index\s+\d+$/m);
      assert.deepEqual(err, []);
    });

    it('prints the inspection as JSON with --json', async () => {
      assert.equal(await snapshotVerifyCommand(FIXTURE, { json: true }), 0);
      const parsed = JSON.parse(out.join('\n')) as SnapshotInspection & { valid: boolean };
      assert.equal(parsed.valid, true);
      assert.equal(parsed.archiveSha256, sha256(fixture));
      assert.ok(parsed.index > 0);
    });

    it('exits 1 with the reason on stderr for a corrupt snapshot', async () => {
      const file = join(dir, 'vault-20261126-020000.snap');
      writeFileSync(file, fixture.subarray(0, 12345));
      assert.equal(await snapshotVerifyCommand(file, {}), 1);
      assert.match(
        err.join('\n'),
        /^snapshot vault-20261126-020000\.snap: the archive ends after 12345 bytes.*\[truncated\]$/,
      );
      assert.deepEqual(out, []);
    });

    it('exits 2 naming the file when it cannot be read', async () => {
      const missing = join(dir, 'no-such.snap');
      assert.equal(await snapshotVerifyCommand(missing, {}), 2);
      assert.match(err.join('\n'), new RegExp(`^${missing}: cannot read the file \\(ENOENT`));
      const folder = join(dir, 'a-directory.snap');
      mkdirSync(folder);
      assert.equal(await snapshotVerifyCommand(folder, {}), 2);
      assert.match(err.join('\n'), /a-directory\.snap: not a regular file/);
    });
  });

  function readEntry(name: string): Buffer {
    return entries.find((e) => e.name === name)!.data;
  }
});

/** A full garbage collection, without starting node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
