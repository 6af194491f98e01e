/**
 * Parses a `SHA256SUMS` file in `sha256sum` format (`<64 hex>  <name>` per line; a `*`
 * instead of the second space marks binary mode) into name -> lower-case hex digest.
 * Throws an Error saying which line is wrong.
 */
import { invalidInput } from '../failure-types';
export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.replace(/\r$/, ''));
    if (!m) throw invalidInput(`line ${i + 1} is not "<sha256 hex>  <file name>": ${JSON.stringify(line.slice(0, 100))}`);
    const [, digest, name] = m;
    if (sums.has(name)) throw invalidInput(`lists ${name} twice`);
    sums.set(name, digest.toLowerCase());
  });
  return sums;
}
