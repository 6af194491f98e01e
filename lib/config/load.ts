import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { noteSecret } from '../secret-registry';
import { configSchema, type SecdrConfig, type SecretRef } from './schema';
import { invalidInput } from '../failure-types';

/** A configuration problem: names the file and every field at fault, with the fix. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${field}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove or fix the spelling`;
    case 'invalid_type':
      return `${field}: expected ${issue.expected}${issue.message.includes('received undefined') ? ' but it is missing; add it' : `; ${issue.message}`}`;
    case 'invalid_union':
      return `${field}: ${issue.message}; check the \`type\`/\`method\` field and the fields that go with it`;
    default:
      return `${field}: ${issue.message}`;
  }
}

/** Validates an already-parsed object; throws ConfigError naming `source`. */
export function parseConfig(raw: unknown, source = '<config>'): SecdrConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, result.error.issues.map(describeIssue));
  return result.data;
}

/** Reads and validates the YAML config file once. */
export function loadConfig(file: string): SecdrConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path`]);
  }
  const doc = parseDocument(text);
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `YAML syntax at line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  return parseConfig(doc.toJS(), file);
}

/** Reads a secret named by the config. Only ever called inside activities and the worker. */
export function readSecret(ref: SecretRef, what: string): string {
  if (ref.env) {
    const value = process.env[ref.env];
    if (!value) throw invalidInput(`${what}: environment variable ${ref.env} is not set; export it in the worker's environment`);
    noteSecret(value, what);
    return value.trim();
  }
  try {
    const value = readFileSync(ref.file!, 'utf8').trim();
    noteSecret(value, what);
    return value;
  } catch (err) {
    throw invalidInput(`${what}: cannot read ${ref.file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path and permissions`);
  }
}
