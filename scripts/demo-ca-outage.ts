/**
 * `npm run demo -- --drill ca-outage`: the CA-outage drill on the embedded local stack:
 * Temporal dev server + Web UI, an OpenBao PKI CA (root + intermediate, raft + static seal, a
 * `process` component the drill stops and starts through the platform adapter), one TLS endpoint
 * serving a certificate it issued, and an in-process worker. Prints the outcome, the
 * renewal-recovery time, every endpoint's expiry headroom and where the report is.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../lib/config/load';
import { startCaEndpoint } from '../dev-stack/ca-endpoint';
import { startOpenBaoPkiCa, type LocalCa, type TlsEndpoint } from '../dev-stack/pki';
import { startTemporalDevServer } from '../dev-stack/temporal';
import { caOutage } from '../procedures/ca-outage';
import type { CaOutageReport } from '../workflows/ca-outage';
import { runProcedureCommand } from './commands/run-procedure';
import { demoBaseConfig, newestReport, withDemoWorker } from './demo-worker';

export async function caOutageDemo(dir: string, step: (s: string) => void, keepRunning: boolean): Promise<number> {
  step('starting Temporal dev server with Web UI and an OpenBao PKI CA (root + intermediate, raft storage, static seal)');
  let ca: LocalCa | undefined;
  let endpoint: TlsEndpoint | undefined;
  try {
    const [temporal, startedCa] = await Promise.all([startTemporalDevServer({ dir: join(dir, 'temporal'), ui: true }), startOpenBaoPkiCa(join(dir, 'ca'))]);
    ca = startedCa;
    const pki = await startCaEndpoint(dir, ca);
    endpoint = pki.endpoint;
    step(`CA ${ca.address}; TLS endpoint "web" on ${endpoint.address} (reload: ${endpoint.reloadUrl}); trust store ${pki.trustStore}`);

    const rawConfig = { ...demoBaseConfig(dir), components: [ca.component], caOutage: pki.caOutage };
    const configFile = join(dir, 'secdr.yaml');
    writeFileSync(configFile, stringify(rawConfig));
    const config = parseConfig(rawConfig, configFile);

    return await withDemoWorker(config, temporal, keepRunning, async () => {
      step('drill: inventory → stop the CA → certificates keep serving, renewal fails as CaUnavailable → start the CA → renewal within 60 s, reload, same root');
      const code = await runProcedureCommand(config, caOutage, {}, { wait: true });
      step('done');
      const r = newestReport<CaOutageReport>(config.reportsDir, 'ca-outage');
      console.log(`  ca-outage drill: ${r?.outcome ?? 'no report written'} (exit ${code})`);
      if (r?.details.renewalRecoverySeconds !== undefined) console.log(`  renewal recovered ${r.details.renewalRecoverySeconds} s after the CA was started (SLO 60 s)`);
      for (const h of r?.details.headroom ?? []) console.log(`  headroom ${h.endpoint}: certificate valid ${h.remaining} more, ${(h.headroomSeconds / 3600).toFixed(1)} h beyond outage window + renewal margin${h.short ? ' (TOO SHORT)' : ''}`);
      console.log(`  report: ${r?.reportFiles?.markdown ?? config.reportsDir}`);
      console.log(`  TEMPORAL_ADDRESS=${temporal.address} npm run secdr -- --config ${configFile} drill ca-outage --wait`);
      return code;
    });
  } finally {
    // The CA runs under the platform adapter (pid file), not the demo's supervisor; the endpoint is in this process.
    await endpoint?.close();
    await ca?.stop();
  }
}
