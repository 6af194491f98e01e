#!/usr/bin/env node
// Stops, starts or checks one service of the compose stack for secdr's `command` platform
// adapter (deploy/compose/secdr.yaml, components). It talks to the Docker Engine API through the
// docker-proxy service, which lets through only container listing/inspection, start and stop:
// the worker never sees the Docker socket itself.
//
//   node deploy/compose/compose-service.mjs stop|start|status SERVICE
//
// Exit 0: done (status: running and, when it has a health check, healthy). Exit 1: status says
// not running or not healthy yet. Exit 2: bad usage, or the Docker API refused or failed.
const api = (process.env.SECDR_DOCKER_API ?? 'http://docker-proxy:2375').replace(/\/$/, '');
const [action, service] = process.argv.slice(2);

function die(message, code = 2) {
  process.stderr.write(`compose-service: ${message}\n`);
  process.exit(code);
}

async function call(method, path) {
  let res;
  try {
    res = await fetch(`${api}${path}`, { method, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    die(`${method} ${path}: ${err.cause?.message ?? err.message}; is the docker-proxy service up?`);
  }
  const text = await res.text();
  // 304: already stopped / already started.
  if (!res.ok && res.status !== 304) die(`${method} ${path}: HTTP ${res.status} ${text.trim().slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

if (!['stop', 'start', 'status'].includes(action) || !/^[a-z0-9][a-z0-9_.-]*$/.test(service ?? '')) {
  die('usage: compose-service.mjs stop|start|status SERVICE');
}
const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.service=${service}`] }));
const found = await call('GET', `/containers/json?all=1&filters=${filters}`);
if (found.length !== 1) {
  die(`${found.length} containers of compose service ${service}; expected exactly one (one compose project per Docker host, service not scaled)`);
}
const id = found[0].Id;
if (action === 'stop') await call('POST', `/containers/${id}/stop?t=30`);
else if (action === 'start') await call('POST', `/containers/${id}/start`);
else {
  const { State } = await call('GET', `/containers/${id}/json`);
  const health = State.Health?.Status;
  console.log(`${service}: ${State.Status}${health ? `, ${health}` : ''}`);
  process.exit(State.Running && (health === undefined || health === 'healthy') ? 0 : 1);
}
