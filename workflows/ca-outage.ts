import { ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
import type { CertificateResourceState, createPkiActivities, EndpointCertificate } from '../activities/pki';
import type { CaOutageDetails } from '../lib/pki/drill-types';
import type { createPlatformActivities } from '../activities/platform';
import { failureMessage, failureTypeOf, FailureType } from '../lib/fail';
import { formatDuration } from '../lib/pki/headroom';
import type { StopRecord } from '../lib/platform/adapter';
import type { ProcedureReport } from '../lib/reports/types';
import { profiles } from './activity-profiles';
import { elapsedSeconds, runProcedure, type Procedure } from './frame';

type Pki = ReturnType<typeof createPkiActivities>;
type Platform = ReturnType<typeof createPlatformActivities>;

const pki = proxyActivities<Pki>(profiles.quick);
const pkiProbe = proxyActivities<Pki>(profiles.probe);
const pkiInstall = proxyActivities<Pki>(profiles.install);
const platform = proxyActivities<Platform>(profiles.platform);
const platformQuick = proxyActivities<Platform>(profiles.quick);

/** Plain settings from the config (caOutage); credentials stay in the worker's config. */
export interface CaOutageInput {
  /** The CA's component name (platform adapter) and a label for the report. */
  caComponent: string;
  caLabel: string;
  /** Endpoints whose renewal files are configured: the drill installs a renewed certificate there. */
  renewableEndpoints: string[];
  /** cert-manager Certificate endpoints: renewals requested through cert-manager (absent in inputs of older runs). */
  certificateEndpoints?: string[];
  outageWindowSeconds: number;
  renewalMarginSeconds: number;
  /** Renewal must succeed within this many seconds of starting the CA again. */
  renewalSloSeconds: number;
  /** Keep the CA down at least this long (seconds). */
  holdSeconds: number;
}

export type { CaOutageDetails } from '../lib/pki/drill-types';

export type CaOutageReport = ProcedureReport & { details: CaOutageDetails };

const round1 = (s: number) => Math.round(s * 10) / 10;

/**
 * CA-outage drill (docs/runbooks/ca-outage.md; step names are the runbook's). Proves that
 * certificates in use keep serving while the CA is down, that a renewal then fails and is
 * detected as such (typed, fast), and that after the CA is back a renewal succeeds within the
 * SLO, is served after the endpoint reloads and chains to the same root. A CA that comes back
 * under a different root fails the drill until every trust store carries the new root.
 * "Bring the CA back" is registered before the CA is stopped, so a failure, cancellation or a
 * killed worker still brings it back.
 */
export async function caOutageWorkflow(input: CaOutageInput): Promise<CaOutageReport> {
  const report = await runProcedure({ procedure: 'ca-outage', compensateOnSuccess: true }, {}, async (p: Procedure) => {
    const details = Object.assign(p.details, { ca: input.caLabel, timeline: [] }) as unknown as CaOutageDetails;
    const mark = (event: string) => details.timeline.push({ at: new Date().toISOString(), seconds: round1(elapsedSeconds()), event });

    p.phase('inventory');
    const inventory = await p.step('Record the certificates in use', () => pki.inventoryCertificates(), (inv) =>
      `${inv.endpoints.length} endpoint(s)${inv.certificates?.length ? `, ${inv.certificates.length} cert-manager Certificate(s)` : ''}; trust anchor ${inv.trustAnchorSubject} (${inv.trustAnchorFingerprint.slice(0, 16)}…)`,
    );
    details.inventory = inventory;
    const recordedRoot = inventory.trustAnchorFingerprint;
    mark('inventory recorded');
    const caBefore = await p.step('Check the drill can stop and start the CA', () => platformQuick.componentStatus({ component: input.caComponent }), (s) => s.detail);

    p.phase('outage');
    const stopped: { record?: StopRecord } = {};
    // Registered before the stop: a crash between the two still brings the CA back.
    const undo = p.compensate('Bring the CA back', () => platform.startComponent({ component: input.caComponent, record: stopped.record }));
    // `before` tells a retried stop (its first attempt's host killed mid-stop) that the CA was running, not "already stopped".
    stopped.record = await p.step('Make the CA unavailable', () => platform.stopComponent({ component: input.caComponent, before: caBefore }), (r) =>
      r.wasStopped ? `${r.component} was already stopped` : `${r.component} stopped (${r.adapter})`,
    );
    mark('CA stopped');

    const certificateEndpoints = input.certificateEndpoints ?? [];
    const serving = await p.step('Check existing certificates still serve and verify', async () => ({
      tls: await pki.checkEndpointsServe({ rootFingerprint: recordedRoot }),
      certificates: certificateEndpoints.length > 0 ? await pki.checkCertificates() : [],
    }), (r) =>
      `${r.tls.length} endpoint(s) complete a handshake and chain to the recorded root` + (r.certificates.length ? `; ${r.certificates.length} Certificate(s) still Ready` : ''),
    );
    details.headroom = [...serving.tls.map(headroomLine), ...serving.certificates.map(certificateHeadroomLine)];
    for (const h of details.headroom.filter((x) => x.short)) {
      p.finding(
        `certificate of ${h.endpoint} (serial ${h.serial}) expires ${h.notAfter}, ${h.remaining} from now: within the outage window (${formatDuration(input.outageWindowSeconds)}) ` +
          `plus the renewal margin (${formatDuration(input.renewalMarginSeconds)}); a realistic CA outage would break it`,
      );
    }

    const attemptedAt = elapsedSeconds();
    const outcome = await p.step('Attempt a renewal while the CA is down', async () => {
      try {
        await pkiProbe.attemptRenewal();
      } catch (err) {
        if (failureTypeOf(err) !== FailureType.CaUnavailable) throw err;
        return { type: FailureType.CaUnavailable, message: failureMessage(err), seconds: round1(elapsedSeconds() - attemptedAt) };
      }
      throw ApplicationFailure.create({
        type: FailureType.VerificationFailed,
        nonRetryable: true,
        message: `the CA still issued a certificate after component ${input.caComponent} was stopped: the drill did not make it unavailable; check the component's platform config points at the CA`,
      });
    }, (o) => `failed as expected: ${o.type} after ${o.seconds} s (${o.message})`);
    details.failureDetectedSeconds = outcome.seconds;
    details.failureType = outcome.type;
    mark(`renewal failed: ${outcome.type}`);

    details.certManagerFailures = [];
    for (const endpoint of certificateEndpoints) {
      const failed = await p.step(`Attempt a renewal of ${endpoint} through cert-manager while the CA is down`, () => pkiInstall.renewCertificateWhileCaDown({ endpoint }), (f) =>
        `cert-manager reports Issuing=False (${f.reason}) after ${round1(f.seconds)} s: ${f.message}`,
      );
      details.certManagerFailures.push(failed);
      mark(`cert-manager reports the renewal of ${endpoint} failed (${failed.reason})`);
    }

    if (input.holdSeconds > 0) {
      await p.step(`Keep the CA down for ${input.holdSeconds} s`, () => sleep(input.holdSeconds * 1000).then(() => input.holdSeconds), (s) => `${s} s`);
    }

    p.phase('recovery');
    const slo = p.slo('renewal succeeds after the CA is back', input.renewalSloSeconds);
    const startedAt = elapsedSeconds();
    await p.step('Bring the CA back', () => platform.startComponent({ component: input.caComponent, record: stopped.record }), (s) => s.detail);
    undo.settle('brought back by the drill');
    mark('CA started');

    // Keep trying past the SLO (the frame records the breach) up to twice the limit, so a slow recovery is still measured.
    const renewal = await p.step('Renew a certificate', async () => {
      for (;;) {
        try {
          return await pkiProbe.attemptRenewal();
        } catch (err) {
          if (failureTypeOf(err) !== FailureType.CaUnavailable || elapsedSeconds() - startedAt > 2 * input.renewalSloSeconds) throw err;
        }
        await sleep('1 second');
      }
    }, (r) => `serial ${r.serial}, valid until ${r.notAfter}, root ${r.rootSubject}`);
    slo.met();
    details.renewal = renewal;
    details.renewalRecoverySeconds = round1(elapsedSeconds() - startedAt);
    mark(`renewal succeeded ${details.renewalRecoverySeconds} s after the CA was started`);

    const changed = renewal.rootFingerprint !== recordedRoot;
    details.root = { recorded: recordedRoot, afterRecovery: renewal.rootFingerprint, changed };
    if (changed) {
      p.finding(`root changed: the CA came back under "${renewal.rootSubject}" (${renewal.rootFingerprint.slice(0, 16)}…), not the recorded root (${recordedRoot.slice(0, 16)}…)`);
      mark('root changed');
      await p.step('Check the new root is in every trust store', () =>
        pki.checkNewRootDistributed({ newRootFingerprint: renewal.rootFingerprint, newRootSubject: renewal.rootSubject, oldRootFingerprint: recordedRoot }),
      (r) => `${r.trustStores.length} trust store(s) carry the new root`);
    }

    details.certManagerRenewals = [];
    for (const endpoint of certificateEndpoints) {
      const renewed = await p.step(`Renew ${endpoint} through cert-manager`, () => pkiInstall.renewCertificate({ endpoint, timeoutSeconds: 2 * input.renewalSloSeconds }), (r) =>
        `revision ${r.previousRevision ?? '-'} → ${r.revision ?? '-'}, Ready, valid until ${r.notAfter ?? '?'} (${r.requests} request(s))`,
      );
      details.certManagerRenewals.push({ ...renewed, secondsAfterCaStart: round1(elapsedSeconds() - startedAt) });
      mark(`cert-manager renewed ${endpoint}`);
    }

    details.installed = [];
    for (const endpoint of inventory.endpoints.map((e) => e.endpoint)) {
      if (!input.renewableEndpoints.includes(endpoint)) {
        p.skip(`Install the renewed certificate on ${endpoint}`, 'no caOutage.endpoints[].renewal files configured: renewal proven at the CA only');
        continue;
      }
      const installed = await p.step(`Install the renewed certificate on ${endpoint}`, () => pkiInstall.installRenewedCertificate({ endpoint, rootFingerprint: renewal.rootFingerprint }), (r) =>
        `serial ${r.previousSerial} → ${r.serial}, served ${round1(r.servedAfterSeconds)} s after installing`,
      );
      details.installed.push(installed);
      mark(`${endpoint} serves the renewed certificate`);
    }
    await p.step('Check every endpoint chains to the root', async () => ({
      // The recorded root too: an endpoint still on it after a root change is named as such (activity input only, same commands).
      tls: await pki.checkEndpointsServe({ rootFingerprint: renewal.rootFingerprint, recordedRootFingerprint: recordedRoot }),
      certificates: certificateEndpoints.length > 0 ? await pki.checkCertificates() : [],
    }), (r) =>
      `${r.tls.length} endpoint(s) chain to ${renewal.rootSubject}` +
      (r.certificates.length ? `; ${r.certificates.length} Certificate(s) Ready (their chains are in Secrets the worker cannot read: the CA's chain was checked by "Renew a certificate")` : ''),
    );
  });
  return report as CaOutageReport;
}

function certificateHeadroomLine(c: CertificateResourceState): NonNullable<CaOutageDetails['headroom']>[number] {
  return {
    endpoint: c.endpoint,
    serial: `revision ${c.revision ?? '?'}`,
    notAfter: c.notAfter,
    remaining: formatDuration(c.headroom.remainingSeconds),
    headroomSeconds: c.headroom.headroomSeconds,
    short: c.headroom.short,
  };
}

function headroomLine(e: EndpointCertificate): NonNullable<CaOutageDetails['headroom']>[number] {
  return {
    endpoint: e.endpoint,
    serial: e.leaf.serial,
    notAfter: e.leaf.notAfter,
    remaining: formatDuration(e.headroom.remainingSeconds),
    headroomSeconds: e.headroom.headroomSeconds,
    short: e.headroom.short,
  };
}
