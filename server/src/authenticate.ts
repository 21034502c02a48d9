import type { IncomingMessage } from 'node:http'

export type Access = 'read' | 'write'

export interface AuthRequest {
  /** The document the client asks for. */
  readonly documentName: string
  /** The token presented (query `?token=`, `Sec-WebSocket-Protocol`, or the multiplexed auth message); null if none. */
  readonly token: string | null
  /** The HTTP upgrade request (headers, address). */
  readonly request: IncomingMessage
}

export interface AuthResult {
  /** Whoever the token names; kept on the connection for hooks and logs (never the token itself). */
  readonly user?: unknown
  readonly access: Access
}

/**
 * Decides who may open which document. Throw `TandemError('UNAUTHORIZED')` for a missing or invalid
 * token and `TandemError('FORBIDDEN')` for a valid token that does not cover the document.
 */
export type Authenticate = (request: AuthRequest) => Promise<AuthResult> | AuthResult

/** Authentication off: everyone may read and write everything. Choosing it is logged at start. */
export const allowEveryone: Authenticate = () => ({ access: 'write' })
