import type { ComponentConfig } from '../config/components';
import type { SecdrConfig } from '../config/schema';
import { fail, FailureType } from '../fail';
import type { PlatformAdapter } from './adapter';
import { CommandAdapter } from './command';
import { KubernetesAdapter } from './kubernetes';
import type { AdapterOptions } from './options';
import { ProcessAdapter } from './process';
import { SystemdAdapter } from './systemd';

export type { ComponentState, PlatformAdapter, StopHooks, StopRecord } from './adapter';
export type { AdapterOptions } from './options';

/** The adapter that stops, starts and inspects `component`, as its `platform.type` says. */
export function platformFor(component: ComponentConfig, opts: AdapterOptions = {}): PlatformAdapter {
  const p = component.platform;
  switch (p.type) {
    case 'process':
      return new ProcessAdapter(component.name, p, opts);
    case 'systemd':
      return new SystemdAdapter(component.name, p, opts);
    case 'command':
      return new CommandAdapter(component.name, p, opts);
    case 'kubernetes':
      return new KubernetesAdapter(component.name, p, opts);
  }
}

/** The configured component called `name`, or an InvalidInput naming it and listing the configured ones. */
export function componentByName(config: Pick<SecdrConfig, 'components'>, name: string): ComponentConfig {
  const found = config.components.find((c) => c.name === name);
  if (!found) {
    const known = config.components.map((c) => c.name).join(', ') || '(none)';
    throw fail(
      FailureType.InvalidInput,
      `unknown component "${name}"; configured components: ${known}; add it under components: in the config (name + platform) or fix the name`,
    );
  }
  return found;
}
