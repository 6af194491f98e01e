import assert from 'node:assert/strict';
import type { StorageConfig } from '../../lib/config/schema';
import { lastSuccessPath, loadLastSuccess, saveLastSuccess } from '../../lib/procedure-outcomes';
import type { RecordStore } from '../../lib/storage/records';

const storages = [{ name: 'first' }, { name: 'second' }] as StorageConfig[];
const rec = { procedure: 'vault-restore', cluster: 'src', at: '2026-11-29T09:00:00.000Z', workflowId: 'w1' };

/** In-memory record stores; the ones named in `down` refuse every call as an unreachable endpoint does. */
function stores(down: string[]) {
  const data = new Map<string, Map<string, string>>();
  const storeFor = (s: StorageConfig): RecordStore => {
    const own = data.get(s.name) ?? new Map<string, string>();
    data.set(s.name, own);
    const refuse = () => {
      if (down.includes(s.name)) throw new Error(`storage ${s.name}: connect ECONNREFUSED`);
    };
    const store: RecordStore = {
      name: s.name,
      write: async (path, body) => (refuse(), own.set(path, body), { location: path, sha256: '' }),
      read: async (path) => (refuse(), own.get(path)),
      list: async () => (refuse(), [...own.keys()]),
      remove: async (path) => void (refuse(), own.delete(path)),
    };
    return store;
  };
  return { data, storeFor };
}

describe('last-success records across storages', () => {
  it('writes to the storages that answer and reports the one that does not, instead of failing the run', async () => {
    const { data, storeFor } = stores(['first']);
    const missed = await saveLastSuccess(storages, rec, storeFor);
    assert.equal(missed.length, 1);
    assert.match(missed[0], /^storage first: .*ECONNREFUSED/);
    assert.ok(data.get('second')!.has(lastSuccessPath('vault-restore', 'src')));
    const warnings: string[] = [];
    assert.equal((await loadLastSuccess(storages, 'vault-restore', 'src', (w) => warnings.push(w), storeFor))?.workflowId, 'w1');
  });

  it('fails, naming every storage, when no storage takes the record', async () => {
    const { storeFor } = stores(['first', 'second']);
    await assert.rejects(saveLastSuccess(storages, rec, storeFor), /written to no storage \(storage first: .*; storage second: .*\)/);
  });
});
