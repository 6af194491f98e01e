import { FailureType, TypedError } from './failure-types';

/**
 * The error for a server that could not bind: names the address, says why in words, and points
 * at the config field that moves it. InvalidInput: the fix is in the config (or in whatever
 * already holds the port), not in a retry. No Temporal SDK here: `secdr webhook` and the
 * worker's metrics endpoint start before any workflow code is loaded.
 */
export function listenFailed(what: string, host: string, port: number, err: NodeJS.ErrnoException, field: string): TypedError {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why =
    err.code === 'EADDRINUSE'
      ? `port ${port} is already in use on ${host} (another secdr process, or another service, listens there): stop it or choose a free port in ${field}`
      : err.code === 'EACCES'
        ? `permission denied (ports below 1024 need privileges): choose a port of 1024 or above in ${field}`
        : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
          ? `${host} is not an address of this host: set ${field} to one of its addresses (127.0.0.1 for this host only)`
          : `${err.code ?? err.message}: set ${field} to a free address of this host`;
  return new TypedError(FailureType.InvalidInput, `${what}: cannot listen on ${address}: ${why}`, { cause: err });
}
