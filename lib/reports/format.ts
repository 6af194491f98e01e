/** Formatting shared by the report renderers (HTML, JUnit, Markdown), so every view reads the same. */

/** `12.3 s`, or an em dash when not measured. */
export function seconds(s: number | undefined): string {
  return s === undefined ? '—' : `${s.toFixed(1)} s`;
}

/** Seconds from `from` to `to` (ISO times); 0 when either is unparseable. */
export function secondsBetween(from: string, to: string): number {
  const d = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(d) ? d : 0;
}

/** `2026-11-29 05:01:02 UTC`: one way to show a time to people. */
export function timestamp(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
