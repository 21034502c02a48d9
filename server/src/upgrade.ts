import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { STATUS_CODES } from 'node:http'
import { checkDocumentName, TandemError, type DocumentNameRules } from '@tandem/protocol'

/** Which dialect a WebSocket request speaks, decided by its path before the upgrade. */
export type UpgradeTarget = { readonly dialect: 'multiplexed' } | { readonly dialect: 'y-websocket'; readonly document: string }

/**
 * `/` (the multiplexed path) is the Hocuspocus-compatible endpoint; any other path names one
 * document for a y-websocket client: `/<url-encoded name>`.
 */
export const routeUpgrade = (request: IncomingMessage, multiplexPath: string, nameRules: DocumentNameRules): UpgradeTarget => {
  const url = new URL(request.url ?? '/', 'http://localhost')
  if (url.pathname === multiplexPath) return { dialect: 'multiplexed' }
  let name: string
  try {
    name = decodeURIComponent(url.pathname.slice(1))
  } catch {
    throw new TandemError('BAD_DOCUMENT_NAME', 'invalid percent-encoding')
  }
  return { dialect: 'y-websocket', document: checkDocumentName(name, nameRules) }
}

/** Refuses a request before upgrading: a plain HTTP response, then the socket is closed. */
export const refuseUpgrade = (socket: Duplex, error: TandemError): void => {
  const status = error.httpStatus
  const body = JSON.stringify({ error: error.code, message: error.message })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}
