import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { canaryLine, canarySeq, missingSeqs } from '../../../lib/logs/canary';
import { canaryLogQL, canarySeqsFromAnswer, LokiClient } from '../../../lib/logs/loki';
import { canaryQuery, parseJsonLines } from '../../../lib/logs/victorialogs';

const fixtures = join(__dirname, '..', '..', 'fixtures', 'loki');
const fixture = (name: string) => readFileSync(join(fixtures, name), 'utf8');
const RUN = 'log-failover-20261129-0500';

/** Serves one fixture Loki response (written from Loki's API docs, see test/fixtures/loki/README.md) and records the request it got. */
async function replay(status: number, body: string): Promise<{ url: string; requests: { url: string; headers: IncomingHttpHeaders }[]; close: () => void }> {
  const requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(status, { 'content-type': body.startsWith('{') ? 'application/json' : 'text/plain' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => server.close() };
}

describe('log backend queries', () => {
  describe('canary lines', () => {
    it('round-trip: a canary line parsed as JSON yields its number for its own run only', () => {
      const record = JSON.parse(canaryLine({ run: RUN, seq: 7, sentAt: '2026-11-29T05:00:07.000Z' })) as Record<string, unknown>;
      assert.equal(canarySeq(record, RUN), 7);
      assert.equal(canarySeq(record, 'another-run'), undefined);
    });

    it('takes the string numbers backends return (VictoriaLogs stores every field as a string)', () => {
      assert.equal(canarySeq({ secdr_drill: RUN, secdr_seq: '12' }, RUN), 12);
      assert.equal(canarySeq({ secdr_drill: RUN, secdr_seq: 'x' }, RUN), undefined);
    });

    it('lists what is missing, ascending', () => {
      assert.deepEqual(missingSeqs([1, 2, 3, 4, 5], [5, 1, 3]), [2, 4]);
    });
  });

  describe('VictoriaLogs (LogsQL)', () => {
    it('asks for the distinct numbers of one run, quoted exactly, from a little before the drill', () => {
      const q = canaryQuery('run "x"', new Date('2026-11-29T05:00:00Z'));
      assert.equal(q, '_time:>=2026-11-29T04:55:00.000Z secdr_drill:="run \\"x\\"" | uniq by (secdr_drill, secdr_seq) limit 1000000');
    });

    it('parses the JSON-lines answer, skipping blank lines', () => {
      assert.deepEqual(parseJsonLines('{"secdr_seq":"1"}\n\n{"secdr_seq":"2"}\n'), [{ secdr_seq: '1' }, { secdr_seq: '2' }]);
    });
  });

  describe('Loki (LogQL, against responses written by hand from the Loki API docs in test/fixtures/loki, not captured from a live Loki)', () => {
    it('builds a line filter, the json parser and a field match for the run', () => {
      assert.equal(canaryLogQL('{job="fluent-bit"}', RUN), `{job="fluent-bit"} |= "${RUN}" | json | secdr_drill="${RUN}"`);
    });

    it('counts distinct canaries in a streams answer: a duplicate delivery counts once, a gap shows as missing', () => {
      const seqs = canarySeqsFromAnswer(JSON.parse(fixture('query-range-canaries.json')), RUN);
      assert.deepEqual(seqs, [0, 1, 2, 4]);
      assert.deepEqual(missingSeqs([1, 2, 3, 4], seqs), [3]);
    });

    it("reads canaries wrapped in Fluent Bit's `log` field and ignores other drills' canaries and plain lines", () => {
      assert.deepEqual(canarySeqsFromAnswer(JSON.parse(fixture('query-range-log-wrapped.json')), RUN), [0, 1, 3]);
    });

    it('refuses a metric (matrix) answer with an InvalidInput naming the selector setting', () => {
      assert.throws(
        () => canarySeqsFromAnswer(JSON.parse(fixture('query-range-matrix.json')), RUN),
        (err: unknown) => err instanceof ApplicationFailure && err.type === 'InvalidInput' && /logPipeline\.<backend>\.selector/.test(err.message),
      );
    });

    it('the client sends the query forward in time with the tenant header and counts the answer', async () => {
      const loki = await replay(200, fixture('query-range-canaries.json'));
      try {
        const client = new LokiClient(loki.url, '{job="fluent-bit"}', { 'X-Scope-OrgID': 'security' });
        assert.deepEqual(await client.canarySeqs(RUN, new Date('2026-11-29T05:00:00Z')), [0, 1, 2, 4]);
        const sent = new URL(loki.requests[0].url, loki.url);
        assert.equal(sent.pathname, '/loki/api/v1/query_range');
        assert.equal(sent.searchParams.get('query'), canaryLogQL('{job="fluent-bit"}', RUN));
        assert.equal(sent.searchParams.get('direction'), 'forward');
        assert.equal(sent.searchParams.get('start'), String((Date.parse('2026-11-29T05:00:00Z') - 300_000) * 1e6));
        assert.equal(loki.requests[0].headers['x-scope-orgid'], 'security');
      } finally {
        loki.close();
      }
    });

    it("a 400 for a bad query fails LogBackendUnavailable with Loki's own message and without the query string", async () => {
      const loki = await replay(400, fixture('query-range-parse-error.txt'));
      try {
        await assert.rejects(new LokiClient(loki.url, '{job="fluent-bit"}').canarySeqs(RUN, new Date()), (err: unknown) => {
          assert.ok(err instanceof ApplicationFailure);
          assert.equal(err.type, 'LogBackendUnavailable');
          assert.match(err.message, /HTTP 400: parse error at line 1/);
          assert.doesNotMatch(err.message, /query=/);
          return true;
        });
      } finally {
        loki.close();
      }
    });

    it('/ready: 200 is ready, 503 is not, with the reason Loki gives', async () => {
      const up = await replay(200, fixture('ready.txt'));
      const down = await replay(503, fixture('ready-not-ready.txt'));
      try {
        assert.equal((await new LokiClient(up.url, '{job="x"}').ready()).ready, true);
        const r = await new LokiClient(down.url, '{job="x"}').ready();
        assert.equal(r.ready, false);
        assert.match(r.detail, /503 Ingester not ready/);
      } finally {
        up.close();
        down.close();
      }
    });
  });
});
