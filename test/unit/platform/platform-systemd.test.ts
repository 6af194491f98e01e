import assert from 'node:assert/strict';
import { systemctlArgv } from '../../../lib/platform/systemd';

// systemd cannot run on the build machines; what the adapter runs is an argument array, checked here.
describe('systemd platform adapter argv', () => {
  it('runs systemctl with the unit as its own argument, never through a shell', () => {
    assert.deepEqual(systemctlArgv('is-active', 'victorialogs.service'), ['systemctl', 'is-active', '--quiet', 'victorialogs.service']);
    assert.deepEqual(systemctlArgv('stop', 'victorialogs.service'), ['systemctl', 'stop', 'victorialogs.service']);
    assert.deepEqual(systemctlArgv('start', 'a unit; rm -rf /'), ['systemctl', 'start', 'a unit; rm -rf /']);
  });
});
