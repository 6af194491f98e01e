import { Gauge } from 'prom-client';
import { registry } from '../metrics';

/**
 * notAfter of the certificate each drilled endpoint serves, as last seen by the CA-outage
 * drill (inventory, checks, renewals). Served by the worker beside secdr's other metrics;
 * deploy/prometheus/rules/certificates.yml alerts on it like on cert-manager's own series.
 */
export const certificateNotAfter = new Gauge({
  name: 'secdr_certificate_not_after_timestamp_seconds',
  help: 'Unix time at which the certificate served by each CA-outage drill endpoint expires',
  labelNames: ['endpoint'],
  registers: [registry],
});
