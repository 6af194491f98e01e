import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import type { StorageConfig } from '../config/schema';
import { catalogEntry, newestFirst, parseCatalogEntry } from './catalog';
import { commit, DIR_MODE, discard, FILE_MODE, fsyncPath, hashFile, isMissingFile, removeDurably, streamToTemp, writeFileAtomic } from './files';
import { hexToBase64 } from './hashing';
import { differences, downloadMismatch, notFound, removeDescribed, uploadMismatch } from './integrity';
import { catalogPrefix, checkClusterName, keyOfCatalogEntry, resolveKey, resolveMetaKey, type ResolvedKey } from './layout';
import { putFile } from './put-file';
import type { PutResult, SnapshotMeta, SnapshotStore, SnapshotTarget, StoreOptions, StreamingPut } from './types';
import { FailureType, TypedError } from '../failure-types';

type LocalStorageConfig = Extract<StorageConfig, { type: 'local' }>;

/**
 * Snapshots in a directory, same layout as S3 without a prefix:
 * `<dir>/<cluster>/vault-….snap` and `<dir>/<cluster>/catalog/vault-….snap.json`.
 * Every file is written to a temporary name, fsynced and renamed, so a crash never
 * leaves a half-written snapshot or catalog entry under its real name.
 */
export class LocalSnapshotStore implements SnapshotStore {
  readonly name: string;
  private readonly root: string;
  private readonly warn: (message: string) => void;

  constructor(cfg: LocalStorageConfig, options: StoreOptions = {}) {
    this.name = cfg.name;
    this.root = resolve(cfg.dir);
    this.warn = options.warn ?? ((m) => console.warn(m));
  }

  private get where(): string {
    return `storage ${this.name} (${this.root})`;
  }

  private path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  async put(file: string, meta: SnapshotMeta, onProgress?: (bytes: number) => void): Promise<PutResult> {
    return putFile(this, file, meta, onProgress);
  }

  async begin(target: SnapshotTarget, onProgress?: (bytes: number) => void): Promise<StreamingPut> {
    const r = resolveMetaKey('', target, this.where);
    const dest = this.path(r.key);
    const catalogPath = this.path(r.catalogKey);
    // An entry left from an earlier attempt would vouch for a file that is about to be replaced.
    await removeDurably(catalogPath);
    await mkdir(dirname(catalogPath), { recursive: true, mode: DIR_MODE });
    return new LocalPut(this.name, r.key, dest, catalogPath, onProgress);
  }

  async get(key: string, dest: string, onProgress?: (bytes: number) => void): Promise<SnapshotMeta> {
    const r = resolveKey('', key, this.where);
    const meta = await this.catalogEntryFor(r);
    const source = this.path(r.key);
    let size: number;
    try {
      size = (await stat(source)).size;
    } catch (err) {
      if (isMissingFile(err)) throw notFound(this.name, r.key, `the catalog lists it but ${source} is missing`);
      throw err;
    }
    if (size !== meta.bytes) throw downloadMismatch(this.name, r.key, source, [`size ${size} bytes, expected ${meta.bytes}`]);
    await mkdir(dirname(dest), { recursive: true, mode: DIR_MODE });
    const got = await streamToTemp(createReadStream(source), dest, onProgress);
    const problems = differences(meta, got);
    if (problems.length > 0) {
      await discard(got.tmp);
      throw downloadMismatch(this.name, r.key, source, problems);
    }
    await commit(got.tmp, dest);
    return meta;
  }

  async list(cluster: string): Promise<SnapshotMeta[]> {
    checkClusterName(cluster, this.where);
    const dirKey = catalogPrefix('', cluster);
    let names: string[];
    try {
      names = await readdir(this.path(dirKey));
    } catch (err) {
      if (isMissingFile(err)) return [];
      throw err;
    }
    const entries: SnapshotMeta[] = [];
    for (const name of names) {
      if (name.endsWith('.partial')) continue; // a write in progress or interrupted
      const catalogKey = `${dirKey}${name}`;
      const key = keyOfCatalogEntry('', cluster, catalogKey);
      if (!key) {
        this.warn(`${this.where}: ${this.path(catalogKey)} is not a catalog entry name; ignored`);
        continue;
      }
      let text: string;
      try {
        text = await readFile(this.path(catalogKey), 'utf8');
      } catch (err) {
        if (isMissingFile(err)) continue; // deleted since the directory was read
        throw err;
      }
      const parsed = parseCatalogEntry(text, key);
      if (typeof parsed === 'string' || parsed.cluster !== cluster) {
        const why = typeof parsed === 'string' ? parsed : `names cluster ${parsed.cluster}`;
        this.warn(`${this.where}: catalog entry ${this.path(catalogKey)} skipped: ${why}; fix or delete it`);
        continue;
      }
      entries.push(parsed);
    }
    return entries.sort(newestFirst);
  }

  async delete(key: string): Promise<void> {
    const r = resolveKey('', key, this.where);
    // Catalog entry first: a crash in between leaves an uncataloged file, never a dangling entry.
    await removeDurably(this.path(r.catalogKey));
    await removeDurably(this.path(r.key));
  }


  private async catalogEntryFor(r: ResolvedKey): Promise<SnapshotMeta> {
    const path = this.path(r.catalogKey);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (isMissingFile(err)) throw notFound(this.name, r.key, 'not in the catalog (never verified, or deleted by retention)');
      throw err;
    }
    const parsed = parseCatalogEntry(text, r.key);
    if (typeof parsed === 'string') throw notFound(this.name, r.key, `its catalog entry ${path} is damaged (${parsed})`);
    return parsed;
  }
}

/** A snapshot being written to `<dest>.partial`; renamed into place only after the read-back. */
class LocalPut implements StreamingPut {
  private readonly tmp: string;
  private readonly out;
  private bytes = 0;
  private error?: Error;

  constructor(
    private readonly store: string,
    private readonly key: string,
    private readonly dest: string,
    private readonly catalogPath: string,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    this.tmp = `${dest}.partial`;
    this.out = createWriteStream(this.tmp, { mode: FILE_MODE });
    this.out.on('error', (err) => (this.error ??= err));
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.error) throw this.failure(this.error);
    this.bytes += chunk.length;
    if (!this.out.write(chunk)) await once(this.out, 'drain').catch((err: Error) => Promise.reject(this.failure(err)));
    this.onProgress?.(this.bytes);
  }

  async finish(meta: SnapshotMeta): Promise<PutResult> {
    if (this.bytes !== meta.bytes) {
      throw uploadMismatch(this.store, this.key, this.dest, [`${this.bytes} bytes were written, expected ${meta.bytes}`], await this.abort());
    }
    try {
      await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      if (this.error) throw this.error;
      await fsyncPath(this.tmp);
    } catch (err) {
      const cleanup = await this.abort();
      throw this.failure(err as Error, cleanup);
    }
    await commit(this.tmp, this.dest);
    const readBack = await hashFile(this.dest);
    const problems = differences(meta, readBack);
    if (problems.length > 0) {
      throw uploadMismatch(this.store, this.key, this.dest, problems, await removeDescribed(`the stored file ${this.dest}`, () => removeDurably(this.dest)));
    }
    await writeFileAtomic(this.catalogPath, catalogEntry({ ...meta, key: this.key, storage: this.store }));
    return { key: this.key, bytes: readBack.bytes, location: this.dest, checksumSha256: hexToBase64(readBack.sha256) };
  }

  async abort(): Promise<string> {
    this.out.destroy();
    return removeDescribed(`the partial file ${this.tmp}`, () => rm(this.tmp, { force: true }));
  }

  private failure(err: Error, cleanup?: string): Error {
    return new TypedError(FailureType.StorageRequestFailed, `storage ${this.store}: writing ${this.tmp} failed: ${err.message}${cleanup ? `; ${cleanup}` : ''}; check the disk (space, permissions), then retry`, { cause: err });
  }
}
