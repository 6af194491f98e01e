import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { fail, FailureType } from '../fail';
import { describeUnreachable, type UnreachableKind } from './network-error';

export type NodeState = 'active' | 'standby' | 'perf-standby' | 'sealed' | 'uninitialized' | 'recovery' | 'unreachable';

export interface NodeHealth {
  address: string;
  state: NodeState;
  status?: number;
  initialized?: boolean;
  sealed?: boolean;
  /** When unreachable: the cause, with the address and the fix (lib/vault/network-error.ts). */
  error?: string;
  unreachable?: UnreachableKind;
}

/**
 * Reads /v1/sys/health. Its status code is the answer (200 active, 429 standby,
 * 473 perf standby, 501 uninitialised, 503 sealed), so this uses fetch directly
 * rather than a client that treats non-2xx as errors. Redirects are never followed.
 */
export async function nodeHealth(address: string, caFile?: string, timeoutMs = 5000): Promise<NodeHealth> {
  const base = address.replace(/\/$/, '');
  try {
    const res = await fetchWithCa(`${base}/v1/sys/health`, caFile, timeoutMs);
    const body = (await res.json().catch(() => ({}))) as { initialized?: boolean; sealed?: boolean; standby?: boolean };
    const state: NodeState =
      res.status === 200
        ? 'active'
        : res.status === 429
          ? 'standby'
          : res.status === 473
            ? 'perf-standby'
            : res.status === 501
              ? 'uninitialized'
              : res.status === 503
                ? 'sealed'
                : res.status === 472
                  ? 'recovery'
                  : 'unreachable';
    return { address: base, state, status: res.status, initialized: body.initialized, sealed: body.sealed };
  } catch (err) {
    const why = describeUnreachable(err, base, timeoutMs);
    return { address: base, state: 'unreachable', error: why.message, unreachable: why.kind };
  }
}

/** How long to wait for a leader election, and what to report while waiting. */
export interface ElectionWait {
  /** Milliseconds to keep polling while standbys answer but no node is active. Default 0: answer at once. */
  electionWaitMs?: number;
  /** Called on every poll while waiting (an activity heartbeats here). */
  onWait?: (states: NodeState[]) => void;
}

/**
 * The active node among `nodes`, or a typed failure that says what each node answered.
 * Unsealed standbys without an active node mean an election is under way (the leader stepped
 * down or died): with `electionWaitMs` the new leader is awaited rather than failing the attempt.
 */
export async function findActiveNode(cluster: string, nodes: string[], caFile?: string, wait: ElectionWait = {}): Promise<string> {
  const deadline = Date.now() + (wait.electionWaitMs ?? 0);
  let health = await Promise.all(nodes.map((n) => nodeHealth(n, caFile)));
  while (!health.some((h) => h.state === 'active') && health.some((h) => h.state === 'standby') && Date.now() < deadline) {
    wait.onWait?.(health.map((h) => h.state));
    // Elections take seconds (raft's timeouts scale with performance_multiplier); half a second costs nothing against that.
    await new Promise((r) => setTimeout(r, 500));
    health = await Promise.all(nodes.map((n) => nodeHealth(n, caFile)));
  }
  const active = health.find((h) => h.state === 'active');
  if (active) return active.address;
  const seen = health.map((h) => (h.error ? h.error : `${h.address}: ${h.state}`)).join('; ');
  if (health.length > 0 && health.every((h) => h.state === 'uninitialized')) {
    throw fail(FailureType.VaultUninitialized, `cluster ${cluster}: no node is initialised (${seen}); initialise it or fix clusters[].nodes`);
  }
  if (health.some((h) => h.state === 'sealed') && !health.some((h) => h.state === 'standby')) {
    throw fail(FailureType.VaultSealed, `cluster ${cluster}: sealed, no active node (${seen}); unseal it before snapshotting`);
  }
  const waited = wait.electionWaitMs ? `, after waiting ${Math.round(wait.electionWaitMs / 1000)} s for a leader election` : '';
  throw fail(FailureType.VaultNoActiveNode, `cluster ${cluster}: no active node (${seen}${waited}); check the nodes' health and raft quorum`, {
    nodes: health.map((h) => ({ address: h.address, state: h.state, unreachable: h.unreachable })),
  });
}

/** fetch with an optional private CA and never following redirects (a standby answers 307). */
export async function fetchWithCa(url: string, caFile: string | undefined, timeoutMs: number, init: RequestInit = {}): Promise<Response> {
  const dispatcher = caFile ? agentFor(caFile) : undefined;
  const res = await undiciFetch(url, {
    ...(init as Parameters<typeof undiciFetch>[1]),
    redirect: 'manual',
    signal: init.signal ?? AbortSignal.timeout(timeoutMs),
    dispatcher,
  });
  return res as unknown as Response;
}

const agents = new Map<string, Agent>();
function agentFor(caFile: string): Agent {
  let agent = agents.get(caFile);
  if (!agent) {
    agent = new Agent({ connect: { ca: readFileSync(caFile) } });
    agents.set(caFile, agent);
  }
  return agent;
}
