import type { WebSocket } from 'ws'
import { TandemError } from '@tandem/protocol'
import type { Logger } from './logger.js'

let nextConnectionId = 1

/**
 * One WebSocket, whatever its dialect: sends frames, closes with a catalogued error (logged once),
 * and answers the server's heartbeat. Dialect sessions sit on top and never touch `ws` directly.
 */
export class Connection {
  readonly id = nextConnectionId++
  readonly logger: Logger
  /** Set by every pong; the heartbeat terminates a connection that stays silent for a whole round. */
  alive = true
  lastSentAt = Date.now()
  private closing = false

  constructor(
    readonly socket: WebSocket,
    readonly ip: string,
    logger: Logger,
  ) {
    this.logger = logger.child({ conn: this.id })
    socket.on('pong', () => {
      this.alive = true
    })
    // Protocol violations (reserved bits, unmasked frames, oversized frames, bad UTF-8) surface
    // here; `ws` closes the socket with the matching code itself. Without a listener they would
    // crash the process.
    socket.on('error', (error: Error & { code?: string }) => {
      this.logger.info({ code: error.code, reason: error.message }, 'connection error')
    })
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN && !this.closing
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount
  }

  send(frame: Uint8Array): void {
    if (!this.open) return
    this.lastSentAt = Date.now()
    this.socket.send(frame, { binary: true })
  }

  /** Closes with the error's close code; logs one line. */
  fail(error: TandemError): void {
    if (this.closing) return
    this.closing = true
    this.logger.info({ code: error.code, closeCode: error.closeCode, reason: error.message }, 'closing connection')
    this.socket.close(error.closeCode, truncateReason(error.code))
  }

  close(code: number, reason: string): void {
    if (this.closing) return
    this.closing = true
    this.socket.close(code, truncateReason(reason))
  }

  /** One heartbeat round: terminate if the last ping went unanswered, else ping again. */
  heartbeat(): void {
    if (!this.alive) {
      this.logger.info('heartbeat timeout; terminating')
      this.socket.terminate()
      return
    }
    this.alive = false
    try {
      this.socket.ping()
    } catch {
      // The socket is closing; the close event cleans up.
    }
  }
}

/** Turns whatever a handler threw into a catalogued error (an unknown one is a bug: INTERNAL_ERROR). */
export const asTandemError = (error: unknown, logger: Logger): TandemError => {
  if (error instanceof TandemError) return error
  logger.error({ err: error }, 'unexpected error while handling a message')
  return new TandemError('INTERNAL_ERROR')
}

// A close reason is at most 123 bytes.
const truncateReason = (reason: string): string => (reason.length > 120 ? reason.slice(0, 120) : reason)
