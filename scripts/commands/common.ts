import { existsSync } from 'node:fs';
import { loadConfig, ConfigError } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';

/** The config file: --config, else $SECDR_CONFIG, else ./secdr.yaml. */
export function configPath(opt?: string): string {
  return opt ?? process.env.SECDR_CONFIG ?? 'secdr.yaml';
}

/** Loads the config or exits 2 with the validation errors (nothing has been changed yet). */
export function loadConfigOrExit(opt?: string): SecdrConfig {
  const file = configPath(opt);
  if (!existsSync(file)) {
    console.error(`${file}: no such config file; pass --config FILE or set SECDR_CONFIG (see examples/secdr.yaml)`);
    process.exit(2);
  }
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}
