import { join } from 'node:path';
import { assertSucceeded, repoRoot, requireTool, runTool } from './tools';

const hostDir = join(repoRoot, 'deploy', 'host');

describe('deploy/host degraded-mode check', function () {
  this.timeout(180_000);

  it('the check, its config and its test helpers are shellcheck-clean (shellcheck -x)', async () => {
    requireTool('shellcheck');
    assertSucceeded(
      await runTool(
        'shellcheck',
        [
          '-x',
          'secdr-degraded-check.sh',
          'secdr-degraded.conf',
          join('test', 'helpers.bash'),
          join('test', 'secdr-degraded-check.bats'),
        ],
        { cwd: hostDir },
      ),
    );
  });

  it('detects miners, listeners, file changes and a sealed Vault, and alerts once via the emergency webhook (bats)', async () => {
    requireTool('bats');
    assertSucceeded(await runTool('bats', [join(hostDir, 'test')], { timeoutMs: 170_000 }));
  });
});
