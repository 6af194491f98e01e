/** How long a certificate outlives a CA outage. */
export interface Headroom {
  /** Seconds from `now` until notAfter. */
  remainingSeconds: number;
  /** remainingSeconds minus the outage window and the renewal margin; negative means too short. */
  headroomSeconds: number;
  /** True when the certificate would need renewing during a realistic outage. */
  short: boolean;
}

/**
 * A certificate is safe through an outage when it stays valid for the whole outage window
 * plus the renewal margin (the lead time its renewal needs once the CA is back).
 */
export function headroom(notAfter: Date, now: Date, outageWindowSeconds: number, renewalMarginSeconds: number): Headroom {
  const remainingSeconds = Math.floor((notAfter.getTime() - now.getTime()) / 1000);
  const headroomSeconds = remainingSeconds - outageWindowSeconds - renewalMarginSeconds;
  return { remainingSeconds, headroomSeconds, short: headroomSeconds < 0 };
}

/** "3d 4h", "12m 5s", "-2h 0m": a report-friendly duration. */
export function formatDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(Math.round(seconds));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${sign}${d}d ${h}h`;
  if (h) return `${sign}${h}h ${m}m`;
  return `${sign}${m}m ${s}s`;
}
