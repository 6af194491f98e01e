import { ConfigError, loadConfig } from '../../lib/config/load';

/** `secdr config check FILE`: 0 when valid, 2 with every problem listed otherwise. */
export function configCheckCommand(file: string): number {
  try {
    const cfg = loadConfig(file);
    console.log(
      `${file}: valid (${cfg.clusters.length} cluster(s): ${cfg.clusters.map((c) => c.name).join(', ')}; ` +
        `${cfg.storage.length} storage(s): ${cfg.storage.map((s) => `${s.name} (${s.type})`).join(', ')}; ` +
        `${cfg.restore.targets.length} restore target(s))`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
}
