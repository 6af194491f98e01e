import { parse } from 'yaml';
import { invalidInput } from '../failure-types';

/**
 * Alertmanager's routing, as `amtool config routes test` does it, over the config Alertmanager
 * actually runs (its /api/v2/status returns it): which route(s) an alert with these labels ends in,
 * that route's receiver and timing, and what kinds of integration the receiver notifies. The
 * alerting drill uses it to know where its test alert must arrive before posting it.
 */

export interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

interface RawRoute {
  receiver?: string;
  matchers?: string[];
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  continue?: boolean;
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: RawRoute[];
  mute_time_intervals?: string[];
  active_time_intervals?: string[];
}

interface RawConfig {
  route?: RawRoute;
  receivers?: ({ name: string } & Record<string, unknown>)[];
}

export interface ResolvedRoute {
  receiver: string;
  /** Where in the tree: `route.routes[1] {severity="critical"}`, as a person would find it in the file. */
  path: string;
  groupWaitSeconds: number;
  groupIntervalSeconds: number;
  /** Integration kinds the receiver notifies (`webhook`, `pagerduty`, …); empty = the alert goes nowhere. */
  integrations: string[];
  /** Time intervals that mute (or are the only active times of) this route: the alert may be held back. */
  muteTimeIntervals: string[];
}

/** Alertmanager's defaults for a root route that does not set them. */
const DEFAULTS = { groupWait: '30s', groupInterval: '5m' };

/** Prometheus durations: `1h30m`, `15s`, `0s`. */
export function durationSeconds(d: string): number {
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  let seen = '';
  for (const m of d.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]];
    seen += m[0];
  }
  if (seen !== d) throw invalidInput(`"${d}" is not a Prometheus duration like 15s or 1m30s`);
  return total;
}

/** Parses one matcher string (`severity="critical"`, `alertname=~"Vault.*"`, `team!=ops`). */
export function parseMatcher(s: string): Matcher {
  const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/.exec(s.replace(/^\{|\}$/g, ''));
  if (!m) throw invalidInput(`matcher "${s}" is not of the form name="value" (or !=, =~, !~)`);
  let value = m[3];
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = JSON.parse(value) as string;
  return { name: m[1], op: m[2] as Matcher['op'], value };
}

/** True when the labels satisfy the matcher; regexes are anchored, as in Alertmanager. */
export function matches(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return new RegExp(`^(?:${m.value})$`).test(v);
    case '!~':
      return !new RegExp(`^(?:${m.value})$`).test(v);
  }
}

function routeMatchers(r: RawRoute): Matcher[] {
  return [
    ...(r.matchers ?? []).map(parseMatcher),
    ...Object.entries(r.match ?? {}).map(([name, value]) => ({ name, op: '=' as const, value })),
    ...Object.entries(r.match_re ?? {}).map(([name, value]) => ({ name, op: '=~' as const, value })),
  ];
}

function integrationsOf(receiver: Record<string, unknown> | undefined): string[] {
  if (!receiver) return [];
  return Object.entries(receiver)
    .filter(([k, v]) => k.endsWith('_configs') && Array.isArray(v) && v.length > 0)
    .map(([k]) => k.replace(/_configs$/, ''));
}

/** `.routes[1] {severity="critical"}`: one step of a ResolvedRoute's path. */
function childSegment(child: RawRoute, i: number): string {
  const desc = [...(child.matchers ?? []), ...Object.entries(child.match ?? {}).map(([k, v]) => `${k}="${v}"`), ...Object.entries(child.match_re ?? {}).map(([k, v]) => `${k}=~"${v}"`)];
  return `.routes[${i}]${desc.length ? ` {${desc.join(', ')}}` : ''}`;
}

/**
 * The receiver of the route at `path` (a ResolvedRoute's path) in this config, inherited from its
 * parents as Alertmanager does; undefined when the tree has no such route (it changed since).
 */
export function receiverAtPath(configYaml: string, path: string): string | undefined {
  const cfg = parse(configYaml) as RawConfig;
  if (!cfg?.route || !path.startsWith('route')) return undefined;
  let node = cfg.route;
  let receiver = node.receiver;
  let rest = path.slice('route'.length);
  while (rest) {
    const i = Number(/^\.routes\[(\d+)\]/.exec(rest)?.[1] ?? NaN);
    const child = node.routes?.[i];
    if (!child) return undefined;
    const segment = childSegment(child, i);
    // The matchers are part of the path, so a route renumbered by an edit is not mistaken for it.
    if (!rest.startsWith(segment)) return undefined;
    rest = rest.slice(segment.length);
    node = child;
    receiver = child.receiver ?? receiver;
  }
  return receiver;
}

interface Inherited {
  receiver?: string;
  groupWait: string;
  groupInterval: string;
}

/**
 * The routes an alert with `labels` ends in (more than one when a matching route has
 * `continue: true`), in Alertmanager's order. Throws when the YAML has no route.
 */
export function resolveRoutes(configYaml: string, labels: Record<string, string>): ResolvedRoute[] {
  const cfg = parse(configYaml) as RawConfig;
  if (!cfg?.route) throw invalidInput('the Alertmanager config has no `route`');
  const receivers = new Map((cfg.receivers ?? []).map((r) => [r.name, r]));
  const out: ResolvedRoute[] = [];

  const visit = (r: RawRoute, path: string, parent: Inherited): void => {
    const here: Inherited = {
      receiver: r.receiver ?? parent.receiver,
      groupWait: r.group_wait ?? parent.groupWait,
      groupInterval: r.group_interval ?? parent.groupInterval,
    };
    let matchedChild = false;
    for (const [i, child] of (r.routes ?? []).entries()) {
      if (!routeMatchers(child).every((m) => matches(m, labels))) continue;
      matchedChild = true;
      visit(child, `${path}${childSegment(child, i)}`, here);
      if (!child.continue) break;
    }
    if (!matchedChild) {
      const receiver = here.receiver ?? '';
      out.push({
        receiver,
        path,
        groupWaitSeconds: durationSeconds(here.groupWait),
        groupIntervalSeconds: durationSeconds(here.groupInterval),
        integrations: integrationsOf(receivers.get(receiver)),
        muteTimeIntervals: [...(r.mute_time_intervals ?? []), ...(r.active_time_intervals ?? []).map((t) => `outside ${t}`)],
      });
    }
  };
  visit(cfg.route, 'route', { groupWait: DEFAULTS.groupWait, groupInterval: DEFAULTS.groupInterval });
  return out;
}
