import type { IncomingMessage } from 'node:http'

/**
 * The address a connection is counted and logged under. Behind a reverse proxy every socket comes
 * from the proxy, so per-address limits would count all users as one; with `trustProxy` the
 * address is the last `X-Forwarded-For` entry, the one the proxy itself appended (entries before
 * it come from the client and can be forged). Only turn it on behind a proxy that sets the header.
 */
export const clientAddress = (request: IncomingMessage, trustProxy: boolean): string => {
  const direct = request.socket.remoteAddress ?? ''
  if (!trustProxy) return direct
  const forwarded = request.headers['x-forwarded-for']
  const header = Array.isArray(forwarded) ? forwarded.at(-1) : forwarded
  const last = header?.split(',').at(-1)?.trim()
  return last === undefined || last === '' ? direct : last
}
