import type { IncomingMessage } from 'node:http'
import { TandemError } from '@tandem/protocol'

/**
 * The Origin allowlist, checked before the upgrade. Browsers always send Origin on a WebSocket
 * handshake, so a cross-site page cannot connect with the user's cookies or network position.
 * Clients outside browsers (servers, CLIs) send none; they are let through, since they could send
 * any Origin they like anyway: the allowlist protects browsers, tokens protect the server.
 * An empty allowlist allows every origin.
 */
export const checkOrigin = (allowed: readonly string[], request: IncomingMessage): TandemError | null => {
  if (allowed.length === 0) return null
  const origin = request.headers.origin
  if (origin === undefined) return null
  if (allowed.includes(origin) || allowed.includes('*')) return null
  return new TandemError('ORIGIN_NOT_ALLOWED', origin.slice(0, 200))
}
