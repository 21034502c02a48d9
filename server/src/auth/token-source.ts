import type { IncomingMessage } from 'node:http'

/**
 * Where a y-websocket client's token travels. Browsers cannot set headers on a WebSocket, so it
 * comes either in the query (`?token=`) or as one of the offered subprotocols,
 * `Sec-WebSocket-Protocol: tandem, tandem.token.<jwt>`; the subprotocol keeps it out of URLs that
 * proxies log.
 */
export const TOKEN_PROTOCOL_PREFIX = 'tandem.token.'

export const tokenFromRequest = (request: IncomingMessage): string | null => {
  const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token')
  if (query !== null && query !== '') return query
  for (const protocol of offeredProtocols(request)) {
    if (protocol.startsWith(TOKEN_PROTOCOL_PREFIX) && protocol.length > TOKEN_PROTOCOL_PREFIX.length) {
      return protocol.slice(TOKEN_PROTOCOL_PREFIX.length)
    }
  }
  return null
}

/**
 * The subprotocol to answer with (ws `handleProtocols`). RFC 6455: the server picks one of the
 * offered ones, and browsers fail a handshake that offered some and got none back. Prefer one that
 * does not carry the token; echo the token one only when it is all that was offered.
 */
export const selectProtocol = (protocols: ReadonlySet<string>): string | false => {
  let tokenProtocol: string | false = false
  for (const protocol of protocols) {
    if (!protocol.startsWith(TOKEN_PROTOCOL_PREFIX)) return protocol
    tokenProtocol ||= protocol
  }
  return tokenProtocol
}

const offeredProtocols = (request: IncomingMessage): string[] => {
  const header = request.headers['sec-websocket-protocol']
  if (header === undefined) return []
  return header.split(',').map((protocol) => protocol.trim())
}
