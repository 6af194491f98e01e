/**
 * Whether a component's `platform.readyUrl` answers 2xx (true when none is configured). A redirect
 * counts as not ready: a health endpoint that redirects is pointing somewhere else (a login page,
 * another node), and a refused or slow connection is simply "not yet".
 */
export async function readyUrlAnswers(url: string | undefined): Promise<boolean> {
  if (!url) return true;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000), redirect: 'manual' });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
