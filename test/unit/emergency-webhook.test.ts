import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createEmergencyWebhookActivities, type EmergencyPage } from '../../activities/emergency-webhook';
import { startSink } from '../harness/alerting';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

const page: EmergencyPage = {
  text: 'no Watchdog',
  status: 'firing',
  silenceSeconds: 300,
  lastHeartbeatAt: '2026-11-26T02:00:00.000Z',
};

describe('the emergency webhook activity', () => {
  const tmp = tempDir('emergency-webhook');
  after(() => tmp.cleanup());

  function withUrl(url: string) {
    const file = join(tmp.dir, 'emergency-url');
    writeFileSync(file, `${url}\n`, { mode: 0o600 });
    return createEmergencyWebhookActivities(
      testConfig(tmp.dir, { deadMansSwitch: { emergencyWebhook: { url: { file } } } }),
      { timeoutMs: 2000 },
    );
  }

  it('POSTs the page as JSON to the URL read from the config file', async () => {
    const sink = await startSink();
    try {
      await withUrl(`${sink.url}/hooks/T0KEN-abc`).sendEmergencyPage(page);
      assert.equal(sink.received.length, 1);
      assert.equal(sink.received[0].path, '/hooks/T0KEN-abc');
      assert.deepEqual(sink.received[0].body, page);
    } finally {
      await sink.close();
    }
  });

  it('fails retryably without showing the token when the receiver is unreachable', async () => {
    await assert.rejects(
      withUrl('http://127.0.0.1:1/hooks/T0KEN-abc').sendEmergencyPage(page),
      (err: ApplicationFailure) => {
        assert.equal(err.type, 'EmergencyWebhookFailed');
        assert.equal(err.nonRetryable, false);
        assert.match(err.message, /http:\/\/127\.0\.0\.1:1\/… unreachable/);
        assert.doesNotMatch(err.message, /T0KEN/);
        return true;
      },
    );
  });

  it('refuses at once, naming the setting, when no emergency webhook is configured', async () => {
    await assert.rejects(
      createEmergencyWebhookActivities(testConfig(tmp.dir)).sendEmergencyPage(page),
      (err: ApplicationFailure) => {
        assert.equal(err.type, 'InvalidInput');
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /deadMansSwitch\.emergencyWebhook\.url/);
        return true;
      },
    );
  });
});
