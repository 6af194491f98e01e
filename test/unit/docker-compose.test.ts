import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { parseConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../lib/search-attributes';

// There is no container engine on the build machines: docker-compose.yml, the Dockerfile and the
// files the stack mounts are checked statically against what each service needs.

const ROOT = resolve(__dirname, '..', '..');
const WORKER = 'secdr-worker';
const WORKER_CONFIG = 'deploy/compose/secdr.yaml';

type EnvValue = string | number | boolean | null;
type Port = string | number | { target: number; published?: string | number; host_ip?: string; protocol?: string };
type Volume = string | { type: string; source?: string; target: string };
type SecretUse = string | { source: string; target?: string };

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, EnvValue> | string[];
  env_file?: string | (string | { path: string })[];
  ports?: Port[];
  volumes?: Volume[];
  secrets?: SecretUse[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
}

interface ComposeFile {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  volumes?: Record<string, unknown>;
}

const read = (rel: string) => readFileSync(resolve(ROOT, rel), 'utf8');

function loadYaml<T>(rel: string): T {
  // Compose resolves `<<: *anchor` merge keys; so must the test.
  const doc = parseDocument(read(rel), { merge: true });
  assert.deepEqual(
    doc.errors.map((e) => e.message),
    [],
    `${rel} is not valid YAML`,
  );
  return doc.toJS() as T;
}

const compose = loadYaml<ComposeFile>('docker-compose.yml');
const services = Object.entries(compose.services ?? {});
const worker = (): Service => compose.services[WORKER];
const workerConfig = (): SecdrConfig => parseConfig(loadYaml<unknown>(WORKER_CONFIG), WORKER_CONFIG);

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/);

/** Why an image reference is not pinned to an exact version, or undefined when it is. */
function unpinned(ref: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return undefined;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) return `${ref} has no tag (it means latest)`;
  const tag = ref.slice(colon + 1);
  // A version, optionally with a variant: 1.5.1, v2.42.0, 15.10, 20.20.2-bookworm-slim.
  if (!/^v?\d+\.\d+(\.\d+)*([-+][A-Za-z0-9.-]+)?$/.test(tag)) return `${ref}: tag "${tag}" is not an exact version`;
  return undefined;
}

function environment(svc: Service): [string, EnvValue | undefined][] {
  const env = svc.environment;
  if (!env) return [];
  if (Array.isArray(env)) {
    return env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq < 0 ? [entry, undefined] : [entry.slice(0, eq), entry.slice(eq + 1)];
    });
  }
  return Object.entries(env);
}

interface Published {
  hostIp: string;
  hostPort: string;
  containerPort: string;
  protocol: string;
}

function published(svc: Service): Published[] {
  return (svc.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return {
        hostIp: p.host_ip ?? '',
        hostPort: String(p.published ?? ''),
        containerPort: String(p.target),
        protocol: p.protocol ?? 'tcp',
      };
    }
    const [spec, protocol = 'tcp'] = String(p).split('/');
    const parts = spec.split(':');
    const containerPort = parts.pop()!;
    const hostPort = parts.pop() ?? '';
    return { hostIp: parts.join(':'), hostPort, containerPort, protocol };
  });
}

interface Mount {
  source: string;
  target: string;
  bind: boolean;
}

function mounts(svc: Service): Mount[] {
  return (svc.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source ?? '', target: v.target, bind: v.type === 'bind' };
    const [source, target] = v.split(':');
    return { source, target: target ?? source, bind: /^[./~]/.test(source) };
  });
}

const secretsOf = (svc: Service): { name: string; path: string }[] =>
  (svc.secrets ?? []).map((s) => {
    const name = typeof s === 'string' ? s : s.source;
    const target = typeof s === 'string' ? undefined : s.target;
    return { name, path: target?.startsWith('/') ? target : `/run/secrets/${target ?? name}` };
  });

const hostOf = (url: string): string => new URL(url).hostname;

/** Whether git ignores a repo-relative path (it need not exist). */
function gitIgnored(rel: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', '--no-index', rel], { cwd: ROOT, stdio: 'ignore' });
    return true;
  } catch (err) {
    if ((err as { status?: number }).status === 1) return false;
    throw err;
  }
}

/** Paths compose reads from the working tree that each user generates: never committed. */
// `./.secdr` (the directory itself) normalises to `.secdr`; git needs the trailing slash to match `.secdr/`
// in a clean clone, where the directory does not exist yet.
const userGenerated = (rel: string): boolean => /^(\.secdr(\/|$)|\.env$|\.env\.)/.test(rel);
const repoRelative = (p: string): string => posix.normalize(p.replace(/^\.\//, ''));

/** The addresses (host names) the worker's config and environment point to. */
function workerDestinations(cfg: SecdrConfig): { what: string; host: string }[] {
  const out: { what: string; host: string }[] = [];
  cfg.clusters.forEach((c) =>
    c.nodes.forEach((n, i) => out.push({ what: `clusters[${c.name}].nodes[${i}]`, host: hostOf(n) })),
  );
  cfg.storage.forEach((s) => {
    if (s.type === 's3' && s.endpoint) out.push({ what: `storage[${s.name}].endpoint`, host: hostOf(s.endpoint) });
  });
  cfg.restore.targets.forEach((t) => {
    out.push({ what: `restore.targets[${t.name}].address`, host: hostOf(t.address) });
    if (t.database) out.push({ what: `restore.targets[${t.name}].database.host`, host: t.database.host });
  });
  if (cfg.alertmanager) out.push({ what: 'alertmanager.url', host: hostOf(cfg.alertmanager.url) });
  if (cfg.caOutage) {
    out.push({ what: 'caOutage.ca.address', host: hostOf(cfg.caOutage.ca.address) });
    cfg.caOutage.endpoints.forEach((e) => e.address && out.push({ what: `caOutage.endpoints[${e.name}].address`, host: e.address.split(':')[0] }));
  }
  const temporal = environment(worker()).find(([k]) => k === 'TEMPORAL_ADDRESS')?.[1];
  assert.ok(typeof temporal === 'string', `${WORKER} sets TEMPORAL_ADDRESS to the temporal service`);
  out.push({ what: 'TEMPORAL_ADDRESS', host: temporal.split(':')[0] });
  return out;
}

/** A Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerfileInstructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe('docker-compose.yml (checked statically: no container engine here)', () => {
  it('parses, and defines the stack secdr needs plus its worker', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'alertmanager',
      'docker-proxy',
      'logs-primary',
      'logs-secondary',
      'openbao-dr',
      'openbao-source',
      'pki',
      'pki-init',
      'postgres',
      'prometheus',
      's3',
      'secdr-worker',
      'temporal',
      'tls-endpoint',
      'vlagent',
    ]);
    assert.ok(worker().build, `${WORKER} is built from the repository's Dockerfile`);
  });

  it('pins every image to an exact version (a version tag, never latest, or a digest)', () => {
    const problems = services.flatMap(([name, svc]) => {
      if (!svc.image) return svc.build ? [] : [`${name}: neither image nor build`];
      const why = unpinned(svc.image);
      return why ? [`${name}: ${why}`] : [];
    });
    assert.deepEqual(problems, []);
  });

  it('gives every service a health check', () => {
    const missing = services
      .filter(([, svc]) => {
        const test = asList(svc.healthcheck?.test);
        return svc.healthcheck?.disable === true || test.length === 0 || test[0] === 'NONE';
      })
      .map(([name]) => name);
    assert.deepEqual(missing, []);
  });

  it('publishes ports on 127.0.0.1 only, and never the same host port twice', () => {
    const seen = new Map<string, string>();
    const problems: string[] = [];
    for (const [name, svc] of services) {
      for (const p of published(svc)) {
        if (p.hostIp !== '127.0.0.1')
          problems.push(
            `${name}: port ${p.containerPort} is published on ${p.hostIp || 'every interface'}, not 127.0.0.1`,
          );
        if (!p.hostPort) problems.push(`${name}: port ${p.containerPort} gets a random host port; publish a fixed one`);
        const key = `${p.hostPort}/${p.protocol}`;
        if (seen.has(key)) problems.push(`${name}: host port ${key} is already published by ${seen.get(key)}`);
        seen.set(key, name);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(seen.size > 0, 'the stack publishes its UIs and APIs to the host');
  });

  it('validates the worker config and points each of its addresses at a compose service', () => {
    const destinations = workerDestinations(workerConfig());
    const unknown = destinations.filter((d) => !(d.host in compose.services)).map((d) => `${d.what} -> ${d.host}`);
    assert.deepEqual(unknown, [], 'addresses that name no service in docker-compose.yml');
  });

  it('starts the worker only once every service it talks to is healthy', () => {
    const deps = worker().depends_on;
    assert.ok(deps && !Array.isArray(deps), `${WORKER}.depends_on uses the long form with conditions`);
    const needed = [...new Set(workerDestinations(workerConfig()).map((d) => d.host))];
    const notAwaited = needed.filter((host) => deps[host]?.condition !== 'service_healthy');
    assert.deepEqual(notAwaited, [], `services ${WORKER} needs but does not wait for (condition: service_healthy)`);
  });

  it('mounts the worker config where the worker reads it, and each secret the config names', () => {
    const cfgMount = mounts(worker()).find((m) => m.bind && repoRelative(m.source) === WORKER_CONFIG);
    assert.ok(cfgMount, `${WORKER} mounts ${WORKER_CONFIG}`);
    const args = asList(worker().command);
    const flag = args.indexOf('--config');
    const dockerfileConfig = /SECDR_CONFIG=(\S+)/.exec(read('Dockerfile'))?.[1];
    assert.equal(
      flag >= 0 ? args[flag + 1] : dockerfileConfig,
      cfgMount.target,
      'the config is read from where it is mounted',
    );
    assert.equal(
      dockerfileConfig,
      cfgMount.target,
      'the image default (SECDR_CONFIG) matches too, for `docker compose run`',
    );

    // Every secret reference in the config is a docker secret mounted into the worker.
    const refs: string[] = [];
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(collect);
      if (!node || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        // logPipeline.canary.file is the file vlagent tails, not a secret (checked below).
        if (key === 'canary') continue;
        if (key === 'file' && typeof value === 'string') refs.push(value);
        else if (key === 'env' && typeof value === 'string') refs.push(`env:${value}`);
        else collect(value);
      }
    };
    collect(workerConfig());
    assert.ok(refs.length > 0);
    const available = new Set(secretsOf(worker()).map((s) => s.path));
    const envNames = new Set(environment(worker()).map(([k]) => k));
    const missing = refs.filter((r) => (r.startsWith('env:') ? !envNames.has(r.slice(4)) : !available.has(r)));
    assert.deepEqual(missing, [], `secret references in ${WORKER_CONFIG} that ${WORKER} does not provide`);
  });

  it('declares every secret a service uses, and reads each one from a git-ignored file', () => {
    const declared = compose.secrets ?? {};
    const undeclared = services.flatMap(([name, svc]) =>
      secretsOf(svc)
        .filter((s) => !(s.name in declared))
        .map((s) => `${name}: ${s.name}`),
    );
    assert.deepEqual(undeclared, []);
    const problems = Object.entries(declared).flatMap(([name, s]) => {
      if (!s.file) return s.environment ? [] : [`${name}: neither file nor environment`];
      const rel = repoRelative(s.file);
      if (!userGenerated(rel))
        return [`${name}: ${s.file} is not under .secdr/: secrets are generated by the user, never committed`];
      return gitIgnored(rel) ? [] : [`${name}: ${s.file} is not git-ignored`];
    });
    assert.deepEqual(problems, []);
  });

  it('bind-mounts only files committed in the repository, and user-generated ones only when git-ignored', () => {
    assert.match(read('.gitignore'), /^\.secdr\/$/m, '.gitignore lists .secdr/');
    const problems: string[] = [];
    for (const [name, svc] of services) {
      const files = [
        ...mounts(svc)
          .filter((m) => m.bind)
          .map((m) => m.source),
        ...(svc.env_file === undefined
          ? []
          : (Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file]).map((e) =>
              typeof e === 'string' ? e : e.path,
            )),
      ];
      for (const f of files) {
        // The one host path: the proxy exists to stand between the socket and everything else.
        if (name === 'docker-proxy' && f === '/var/run/docker.sock') continue;
        if (f.startsWith('/') || f.startsWith('~')) {
          problems.push(`${name}: ${f} is outside the repository`);
          continue;
        }
        const rel = repoRelative(f);
        if (userGenerated(rel)) {
          if (!gitIgnored(rel === '.secdr' ? '.secdr/' : rel)) problems.push(`${name}: ${f} is generated by the user but not git-ignored`);
        } else if (!existsSync(resolve(ROOT, rel))) {
          problems.push(`${name}: ${f} does not exist`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('writes no secret into an environment variable: only *_FILE paths or ${VAR} references', () => {
    const reference = /^\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}$/;
    const problems: string[] = [];
    for (const [name, svc] of services) {
      for (const [key, value] of environment(svc)) {
        if (value === undefined || value === null) continue; // passed through from the caller's environment
        const v = String(value);
        if (/:\/\/[^/\s:@]+:[^/\s@]+@/.test(v)) problems.push(`${name}: ${key} embeds credentials in a URL`);
        if (!/PASSWORD|SECRET|TOKEN|KEY|CREDENTIAL/i.test(key)) continue;
        if (reference.test(v)) continue;
        if (/_FILE$/.test(key) && v.startsWith('/run/secrets/')) continue;
        problems.push(
          `${name}: ${key} has a literal value; use ${key}_FILE with a docker secret or a \${VAR} reference`,
        );
      }
    }
    assert.deepEqual(problems, []);
  });

  it('shares one static seal key between the source and DR OpenBao, as a DR target must', () => {
    const seals = ['openbao-source', 'openbao-dr'].map((name) => {
      const svc = compose.services[name];
      const hclMount = mounts(svc).find(
        (m) => m.bind && m.target.startsWith('/openbao/config/') && m.target.endsWith('.hcl'),
      );
      assert.ok(hclMount, `${name} mounts its HCL into /openbao/config`);
      const rel = repoRelative(hclMount.source);
      assert.equal(rel, `deploy/vault/${name}.hcl`);
      const hcl = read(rel);
      const seal = /seal\s+"static"\s*\{([^}]*)\}/.exec(hcl)?.[1];
      assert.ok(seal, `${rel} configures the static seal`);
      const keyId = /current_key_id\s*=\s*"([^"]+)"/.exec(seal)?.[1];
      const keyFile = /current_key\s*=\s*"file:\/\/([^"]+)"/.exec(seal)?.[1];
      assert.ok(keyId && keyFile, `${rel}: the static seal names a key id and a key file`);
      assert.ok(
        secretsOf(svc).some((s) => s.path === keyFile),
        `${name} mounts the seal key ${keyFile} as a docker secret`,
      );
      assert.equal(
        /api_addr\s*=\s*"http:\/\/([^:"]+):8200"/.exec(hcl)?.[1],
        name,
        `${rel}: api_addr names the service`,
      );
      assert.match(hcl, /address\s*=\s*"0\.0\.0\.0:8200"/, `${rel}: listens on 8200 in the container`);
      assert.ok(
        published(svc).every((p) => p.containerPort === '8200'),
        `${name} publishes the API port`,
      );
      const secret = secretsOf(svc).find((s) => s.path === keyFile)!.name;
      return { keyId, secretFile: compose.secrets?.[secret]?.file };
    });
    assert.deepEqual(seals[0], seals[1]);
  });

  it('dual-ships logs: vlagent writes to both log backends, each with its own disk queue, and tails the volume the worker writes canaries to', () => {
    const agent = compose.services.vlagent;
    const args = asList(agent.command);
    const targets = args.filter((a) => a.startsWith('-remoteWrite.url=')).map((a) => new URL(a.split('=')[1]).hostname);
    assert.deepEqual(targets, ['logs-primary', 'logs-secondary']);
    assert.ok(targets.every((t) => t in compose.services));
    const tmp = args.find((a) => a.startsWith('-tmpDataPath='))?.split('=')[1];
    assert.ok(tmp && mounts(agent).some((m) => m.target === tmp && !m.bind), 'the disk queues live on a named volume, surviving a container restart');
    assert.ok(args.some((a) => /^-remoteWrite\.retryMaxTime=\d+s$/.test(a)) && args.some((a) => a.startsWith('-remoteWrite.maxDiskUsagePerURL=')));
    const glob = args.find((a) => a.startsWith('-fileCollector.glob='))!.split('=')[1];
    const shared = mounts(agent).find((m) => glob.startsWith(`${m.target}/`));
    assert.ok(shared, `vlagent tails ${glob} from a mounted volume`);
    assert.ok(
      mounts(worker()).some((m) => m.source === shared.source && m.target === shared.target),
      `${WORKER} mounts ${shared.source} at ${shared.target} too, to append the drill's canaries`,
    );
  });

  it('points the log-failover drill at the compose backends (primary = vlagent output 1), the canary file vlagent tails, and compose components stopped through the docker proxy', () => {
    const cfg = workerConfig();
    const lp = cfg.logPipeline;
    assert.ok(lp, `${WORKER_CONFIG} has a logPipeline section`);
    const agentArgs = asList(compose.services.vlagent.command);
    const outputs = agentArgs.filter((a) => a.startsWith('-remoteWrite.url=')).map((a) => new URL(a.split('=')[1]).host);
    assert.deepEqual([new URL(lp.primary.url).host, new URL(lp.secondary.url).host], outputs, 'the backends the drill queries are the ones vlagent writes to, in order');
    assert.ok(lp.prometheusUrl && hostOf(lp.prometheusUrl) in compose.services, 'logPipeline.prometheusUrl names the prometheus service');
    const glob = agentArgs.find((a) => a.startsWith('-fileCollector.glob='))!.split('=')[1];
    const globRe = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    assert.match(lp.canary.file ?? '', globRe, `the canary file is one vlagent tails (${glob})`);
    const canaryMount = mounts(worker()).find((m) => lp.canary.file!.startsWith(`${m.target}/`));
    const writable = (worker().volumes ?? []).some((v) => typeof v === 'string' && v.split(':').slice(0, 2).join(':') === `${canaryMount?.source}:${canaryMount?.target}` && !v.endsWith(':ro'));
    assert.ok(writable, `${WORKER} mounts the directory of the canary file, writable`);
    const helper = 'deploy/compose/compose-service.mjs';
    assert.ok(existsSync(resolve(ROOT, helper)) && /^COPY deploy \.\/deploy$/m.test(read('Dockerfile')) && /^WORKDIR \/app$/m.test(read('Dockerfile')), `${helper} is in the image at /app/${helper}`);
    for (const role of ['primary', 'secondary'] as const) {
      const component: SecdrConfig['components'][number] | undefined = cfg.components.find((c) => c.name === lp[role].component);
      const service = hostOf(lp[role].url);
      assert.ok(component?.platform.type === 'command', `${role}: a command component`);
      for (const action of ['stop', 'start', 'status'] as const) {
        assert.deepEqual(component.platform[action], ['node', `/app/${helper}`, action, service], `${role} ${action} acts on the service it queries`);
      }
    }
    const proxy = compose.services['docker-proxy'];
    const env = Object.fromEntries(environment(proxy).map(([k, v]) => [k, String(v)]));
    assert.deepEqual([env.CONTAINERS, env.ALLOW_START, env.ALLOW_STOP, env.POST], ['1', '1', '1', '0'], 'the proxy allows listing, start and stop, and no other write');
    assert.deepEqual(published(proxy), [], 'the Docker API proxy is not published on the host');
  });

  it('runs the CA-outage drill on the compose stack: pki (pinned OpenBao, own static seal) stopped through the docker proxy, tls-endpoint serving what pki-init issued, the trust store pki-init writes', () => {
    const cfg = workerConfig();
    const ca = cfg.caOutage;
    assert.ok(ca, `${WORKER_CONFIG} has a caOutage section`);
    const [pki, init, endpoint] = (['pki', 'pki-init', 'tls-endpoint'] as const).map((n) => compose.services[n]);
    assert.equal(pki.image, compose.services['openbao-source'].image, 'the CA runs the pinned OpenBao image');
    assert.equal(init.image, pki.image, 'pki-init uses the bao CLI of the same image');

    // The CA: its own HCL (raft on a volume, a static seal key of its own), the address the worker uses.
    const hclMount = mounts(pki).find((m) => m.bind && m.target === '/openbao/config/openbao.hcl');
    assert.equal(hclMount && repoRelative(hclMount.source), 'deploy/compose/openbao-pki.hcl');
    const hcl = read('deploy/compose/openbao-pki.hcl');
    assert.match(hcl, /storage\s+"raft"\s*\{[^}]*path\s*=\s*"\/openbao\/file"/);
    assert.ok(mounts(pki).some((m) => m.target === '/openbao/file' && !m.bind), 'raft data on a named volume: a stopped CA comes back with its keys');
    const sealKey = /current_key\s*=\s*"file:\/\/([^"]+)"/.exec(hcl)?.[1];
    assert.ok(sealKey && secretsOf(pki).some((s) => s.path === sealKey), 'the static seal key is a docker secret of pki');
    assert.equal(/api_addr\s*=\s*"http:\/\/([^:"]+):8200"/.exec(hcl)?.[1], 'pki');
    assert.equal(ca.ca.type === 'openbao-pki' && ca.ca.address, 'http://pki:8200');

    // Stopped and started as a compose service, through the proxy, like the log backends.
    const component = cfg.components.find((c) => c.name === ca.ca.component);
    assert.ok(component?.platform.type === 'command', 'the CA is a command component');
    for (const action of ['stop', 'start', 'status'] as const) assert.deepEqual(component.platform[action], ['node', '/app/deploy/compose/compose-service.mjs', action, 'pki']);

    // pki-init runs its committed script once pki answers, and writes what the others read.
    assert.deepEqual(asList(init.entrypoint), ['/bin/sh', '/secdr/pki-init.sh']);
    assert.equal(repoRelative(mounts(init).find((m) => m.target === '/secdr/pki-init.sh')!.source), 'deploy/compose/pki-init.sh');
    const script = read('deploy/compose/pki-init.sh');
    const depends = (svc: Service) => (svc.depends_on && !Array.isArray(svc.depends_on) ? svc.depends_on : {});
    assert.equal(depends(init).pki?.condition, 'service_healthy');
    assert.equal(depends(endpoint)['pki-init']?.condition, 'service_completed_successfully');
    assert.match(script, /BAO_ADDR="\$\{BAO_ADDR:-http:\/\/pki:8200\}"/);
    assert.match(script, /pki_int\/issue\/service common_name=tls-endpoint/, 'the endpoint certificate comes from the role the drill renews under');
    assert.ok(ca.ca.type === 'openbao-pki' && ca.ca.mount === 'pki_int' && ca.ca.role === 'service');
    assert.match(script, /POLICIES="\$\{PKI_INIT_POLICIES:-\/secdr\/policies\}"/);
    assert.match(script, /policy write secdr-pki-renew "\$POLICIES\/secdr-pki-renew\.hcl"/);
    assert.equal(repoRelative(mounts(init).find((m) => m.target === '/secdr/policies')!.source), 'deploy/vault/policies');

    // The AppRole files pki-init writes to .secdr/ are the worker's docker secrets the config names.
    const out = mounts(init).find((m) => m.target === '/secdr-out')!;
    assert.equal(repoRelative(out.source), '.secdr');
    for (const [file, ref] of [['pki-role-id', ca.ca.type === 'openbao-pki' && ca.ca.auth.method === 'approle' && ca.ca.auth.roleId], ['pki-secret-id', ca.ca.type === 'openbao-pki' && ca.ca.auth.method === 'approle' && ca.ca.auth.secretId]] as const) {
      assert.match(script, new RegExp(`>"\\$OUT/${file}"`), `pki-init writes ${file}`);
      const secret = Object.entries(compose.secrets ?? {}).find(([, s]) => s.file && repoRelative(s.file) === `.secdr/${file}`)?.[0];
      assert.ok(secret && secretsOf(worker()).some((s) => s.name === secret && ref && typeof ref === 'object' && 'file' in ref && s.path === ref.file), `${WORKER} reads ${file} as the docker secret the config names`);
    }

    // The trust store is the root pki-init writes to the volume the worker mounts.
    const pub = mounts(init).find((m) => m.target === '/public')!;
    assert.match(script, />"\$PUBLIC\/root\.pem"/);
    const storeMount = mounts(worker()).find((m) => m.source === pub.source);
    assert.deepEqual(ca.trustStores, [`${storeMount?.target}/root.pem`]);

    // tls-endpoint serves, on the port the config names, the bundle pki-init issued into their shared volume.
    assert.deepEqual(ca.endpoints.map((e) => e.address), ['tls-endpoint:8443']);
    const certs = mounts(init).find((m) => m.target === '/certs')!;
    const served = mounts(endpoint).find((m) => m.source === certs.source);
    assert.ok(served, 'tls-endpoint mounts the volume pki-init writes its certificate to');
    const conf = read(repoRelative(mounts(endpoint).find((m) => m.target === '/etc/nginx/conf.d/default.conf')!.source));
    assert.match(conf, /listen 8443 ssl;/);
    assert.match(script, />"\$CERTS\/tls-endpoint\.pem\.new"/);
    assert.match(conf, new RegExp(`ssl_certificate\\s+${served.target}/tls-endpoint\\.pem;`));
    assert.match(conf, new RegExp(`ssl_certificate_key\\s+${served.target}/tls-endpoint\\.pem;`));
  });

  it('`secdr config check deploy/compose/secdr.yaml` passes', () => {
    const out = execFileSync(resolve(ROOT, 'node_modules', '.bin', 'tsx'), [resolve(ROOT, 'scripts', 'secdr.ts'), 'config', 'check', WORKER_CONFIG], { cwd: ROOT, encoding: 'utf8' });
    assert.match(out, /deploy\/compose\/secdr\.yaml: valid/);
  });

  it('registers the search attributes secdr uses on the Temporal dev server', () => {
    const args = asList(compose.services.temporal.command);
    const attrs = args.flatMap((a, i) => (a === '--search-attribute' ? [args[i + 1]] : []));
    assert.deepEqual(attrs.sort(), [...SEARCH_ATTRIBUTE_FLAGS].sort());
    assert.deepEqual(args.slice(0, 2), ['server', 'start-dev']);
  });

  it('scrapes the compose services with the job names, intervals and rules of deploy/prometheus/prometheus.yml', () => {
    interface PromConfig {
      global: Record<string, string>;
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[];
    }
    const prom = compose.services.prometheus;
    const cfgArg = asList(prom.command)
      .find((a) => a.startsWith('--config.file='))
      ?.split('=')[1];
    assert.equal(cfgArg, '/etc/prometheus/prometheus.yml');
    const cfgMount = mounts(prom).find((m) => m.target === cfgArg);
    assert.ok(cfgMount?.bind, 'the Prometheus config is bind-mounted');
    const mine = loadYaml<PromConfig>(repoRelative(cfgMount.source));
    const upstream = loadYaml<PromConfig>('deploy/prometheus/prometheus.yml');

    assert.deepEqual(mine.global, upstream.global, 'the alerting bar depends on these intervals');
    assert.deepEqual(mine.rule_files, upstream.rule_files);
    for (const pattern of mine.rule_files) {
      const dir = posix.dirname(posix.resolve(posix.dirname(cfgArg), pattern));
      const rulesMount = mounts(prom).find((m) => m.target === dir);
      assert.equal(rulesMount && repoRelative(rulesMount.source), 'deploy/prometheus/rules', `${dir} holds the rules`);
    }
    const upstreamJobs = new Set(upstream.scrape_configs.map((j) => j.job_name));
    const unknownJobs = mine.scrape_configs.map((j) => j.job_name).filter((j) => !upstreamJobs.has(j));
    assert.deepEqual(unknownJobs, [], 'the rules select on the upstream job names');

    const targets = [
      ...mine.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((s) => s.targets)),
      ...mine.scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => s.targets)),
    ];
    const strangers = targets.filter((t) => !(t.split(':')[0] in compose.services));
    assert.deepEqual(strangers, [], 'targets that name no compose service');

    const cfg = workerConfig();
    const workerJob = mine.scrape_configs.find((j) => j.job_name === 'secdr-worker');
    assert.deepEqual(workerJob?.static_configs[0].targets, [`${WORKER}:${cfg.metrics.port}`]);
    assert.equal(cfg.metrics.host, '0.0.0.0', 'the worker serves metrics beyond its own loopback');
    assert.ok(
      asList(worker().healthcheck?.test).join(' ').includes(`:${cfg.metrics.port}/metrics`),
      'the health check asks the metrics port',
    );
    const vaultClusters = mine.scrape_configs
      .filter((j) => j.job_name === 'vault')
      .flatMap((j) => j.static_configs.map((s) => s.labels?.cluster));
    assert.deepEqual(
      vaultClusters,
      cfg.clusters.map((c) => c.name),
      'the vault `cluster` label is the secdr cluster name (Alertmanager inhibition)',
    );
  });
});

describe('Dockerfile of the secdr worker', () => {
  const instructions = dockerfileInstructions(read('Dockerfile'));

  it('builds from a base image pinned to an exact version', () => {
    const stages = new Set<string>();
    const froms = instructions.filter((i) => i.op === 'FROM');
    assert.ok(froms.length > 0);
    for (const { args } of froms) {
      const [image, as, stage] = args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      if (!stages.has(image) && image !== 'scratch') assert.equal(unpinned(image), undefined);
      if (as?.toUpperCase() === 'AS' && stage) stages.add(stage);
    }
  });

  it('runs as a non-root user', () => {
    const lastFrom = instructions.map((i) => i.op).lastIndexOf('FROM');
    const users = instructions.slice(lastFrom).filter((i) => i.op === 'USER');
    assert.ok(users.length > 0, 'the final stage sets USER');
    const user = users[users.length - 1].args.split(':')[0];
    assert.ok(!['root', '0'].includes(user), `USER ${user} is root`);
  });

  it('runs the secdr CLI, and keeps secrets and local state out of the build context', () => {
    const entry = instructions
      .filter((i) => i.op === 'ENTRYPOINT' || i.op === 'CMD')
      .map((i) => i.args)
      .join(' ');
    assert.match(entry, /dist\/scripts\/secdr\.js/);
    const ignored = read('.dockerignore')
      .split(/\r?\n/)
      .map((l) => l.trim());
    for (const p of ['.secdr', '.env', '.git', 'node_modules'])
      assert.ok(ignored.includes(p), `.dockerignore lists ${p}`);
  });
});
