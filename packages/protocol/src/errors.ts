/**
 * The error catalogue: every way Tandem refuses a client, with the WebSocket close code (or HTTP
 * status, before the upgrade) it implies and what the client can do about it. `docs/errors.md`
 * mirrors this table; keep the two in step.
 *
 * About 4400–4499: y-websocket's provider treats them as permanent and stops reconnecting, so only
 * refusals that would repeat on every retry use them. Overload uses 1013, which clients retry.
 */
export const ErrorCodes = {
  MALFORMED_MESSAGE: {
    closeCode: 4400,
    httpStatus: 400,
    message: 'a message could not be decoded',
    fix: 'Send messages encoded with y-protocols (or the Hocuspocus multiplexed framing at the root path).',
  },
  UNKNOWN_MESSAGE_TYPE: {
    closeCode: 4400,
    httpStatus: 400,
    message: 'a message had a type this dialect does not define',
    fix: 'Check that the client speaks the dialect of the URL: /<document> is y-websocket, / is multiplexed.',
  },
  BAD_DOCUMENT_NAME: {
    closeCode: 4400,
    httpStatus: 400,
    message: 'the document name is empty, too long, or has characters outside the allowed pattern',
    fix: 'Use names of letters, digits and . _ - : @ / (no "..", no leading "/"), at most the configured length.',
  },
  UNSUPPORTED_DATA: {
    closeCode: 1003,
    httpStatus: 400,
    message: 'a text frame was received; the protocol is binary',
    fix: 'Send binary frames (ws.binaryType = "arraybuffer").',
  },
  MESSAGE_TOO_LARGE: {
    closeCode: 1009,
    httpStatus: 413,
    message: 'a frame exceeded the maximum message size',
    fix: 'Raise limits.maxMessageBytes, or send large documents as several updates.',
  },
  INVALID_UPDATE: {
    closeCode: 4422,
    httpStatus: 422,
    message: 'an update was rejected by validation; nothing of it was applied',
    fix: 'The client sent a corrupt or hostile Yjs update; reload the client document.',
  },
  UNAUTHORIZED: {
    closeCode: 4401,
    httpStatus: 401,
    message: 'no valid token was presented',
    fix: 'Pass a valid, unexpired token (?token=, the Sec-WebSocket-Protocol header, or the auth message).',
  },
  FORBIDDEN: {
    closeCode: 4403,
    httpStatus: 403,
    message: 'the token does not grant access to this document, or the origin is not allowed',
    fix: 'Mint a token whose claims name this document, or add the origin to the allowlist.',
  },
  READ_ONLY: {
    closeCode: 4403,
    httpStatus: 403,
    message: 'a read-only connection tried to write',
    fix: 'Mint a token with write access for this document.',
  },
  ORIGIN_NOT_ALLOWED: {
    closeCode: 4403,
    httpStatus: 403,
    message: 'the request Origin is not in the allowlist',
    fix: 'Add the page origin to allowedOrigins (--allowed-origins), or connect from an allowed page.',
  },
  CLIENT_ID_IN_USE: {
    // Retryable on purpose: an honest client that reconnects before the server noticed its old
    // socket died meets its own stale connection; it succeeds once the heartbeat drops that one.
    closeCode: 1008,
    httpStatus: 409,
    message: 'an update wrote new clock ranges for a Yjs client ID that another live connection owns',
    fix: 'Each connection must write only its own client ID; reconnect (a stale connection is dropped within two heartbeats).',
  },
  PENDING_LIMIT: {
    // Retryable: after a reconnect the client's sync sends what the document lacks, closing the gap.
    closeCode: 1013,
    httpStatus: 413,
    message: 'updates waiting for missing predecessors (clock gaps) exceeded the per-document limit',
    fix: 'Send updates in causal order; raise limits.maxPendingBytes if legitimate clients hit it.',
  },
  TOO_MANY_DOCUMENTS: {
    closeCode: 1013,
    httpStatus: 503,
    message: 'the server has as many documents loaded as allowed, or this connection opened too many',
    fix: 'Reconnect later; raise limits.maxDocuments / maxDocumentsPerConnection.',
  },
  PRE_AUTH_TIMEOUT: {
    // 4008, not 44xx: a client that was merely slow may succeed on its next try.
    closeCode: 4008,
    httpStatus: 408,
    message: 'the connection did not authenticate within the deadline',
    fix: 'Send the auth message right after opening the socket; raise limits.preAuthTimeoutMs.',
  },
  PRE_AUTH_LIMIT: {
    // Retryable: an honest provider can hit it while a slow auth hook holds its first messages.
    closeCode: 1013,
    httpStatus: 429,
    message: 'the connection sent more messages or bytes before authenticating than allowed',
    fix: 'Authenticate first; raise limits.maxPreAuthMessages / maxPreAuthBytes.',
  },
  DOCUMENT_TOO_LARGE: {
    closeCode: 4413,
    httpStatus: 413,
    message: 'the document would exceed its configured maximum size',
    fix: 'Raise limits.maxDocumentBytes or split the content over several documents.',
  },
  RATE_LIMITED: {
    closeCode: 1013,
    httpStatus: 429,
    message: 'the connection sent more messages or bytes than its rate allows',
    fix: 'Reconnect later (clients retry 1013); raise limits.messagesPerSecond / bytesPerSecond if legitimate.',
  },
  TOO_MANY_CONNECTIONS: {
    closeCode: 1013,
    httpStatus: 503,
    message: 'the server has as many connections as allowed',
    fix: 'Reconnect later; raise limits.maxConnections.',
  },
  TOO_MANY_CONNECTIONS_FROM_ADDRESS: {
    closeCode: 1013,
    httpStatus: 429,
    message: 'this address has as many connections as allowed',
    fix: 'Close unused connections (share one multiplexed socket); raise limits.maxConnectionsPerIp.',
  },
  SLOW_CONSUMER: {
    closeCode: 1013,
    httpStatus: 503,
    message: 'the connection did not read what it was sent within the deadline',
    fix: 'Reconnect; the client resyncs everything it missed.',
  },
  SERVER_SHUTDOWN: {
    closeCode: 1012,
    httpStatus: 503,
    message: 'the server is restarting',
    fix: 'Nothing: clients reconnect and resync by themselves.',
  },
  INTERNAL_ERROR: {
    closeCode: 1011,
    httpStatus: 500,
    message: 'the server failed while handling a message',
    fix: 'A bug: report it with the server log line carrying this connection id.',
  },
} as const satisfies Record<string, { closeCode: number; httpStatus: number; message: string; fix: string }>

export type ErrorCode = keyof typeof ErrorCodes

/** A refusal with a stable code; the transport turns it into a close code or HTTP status. */
export class TandemError extends Error {
  readonly code: ErrorCode
  readonly closeCode: number
  readonly httpStatus: number

  constructor(code: ErrorCode, detail?: string) {
    const entry = ErrorCodes[code]
    super(detail === undefined ? entry.message : `${entry.message}: ${detail}`)
    this.name = 'TandemError'
    this.code = code
    this.closeCode = entry.closeCode
    this.httpStatus = entry.httpStatus
  }
}

export const isTandemError = (error: unknown): error is TandemError => error instanceof TandemError
