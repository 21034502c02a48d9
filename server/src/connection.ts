import type { RawData, WebSocket } from 'ws'
import { TandemError } from '@tandem/protocol'
import { RateLimiter, type RateLimits } from './limits/rate-limiter.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'

let nextConnectionId = 1

/** What the server imposes on every connection (config `limits`); everything is optional for tests. */
export interface ConnectionPolicy {
  /** Inbound token buckets; a connection over its rate is closed with RATE_LIMITED (1013). */
  readonly rates?: RateLimits
  /** Above this many unsent bytes the connection reports `congested` (backpressure). */
  readonly sendBufferHighWaterBytes?: number
  /** Congested for longer than this: closed with SLOW_CONSUMER (1013). */
  readonly slowConsumerTimeoutMs?: number
  readonly metrics?: Metrics
}

/** How often a congested connection's send buffer is looked at (ws has no public 'drain' event). */
const DRAIN_POLL_MS = 20

/**
 * One WebSocket, whatever its dialect: sends frames, closes with a catalogued error (logged once),
 * and answers the server's heartbeat. Dialect sessions sit on top and never touch `ws` directly.
 */
export class Connection {
  readonly id = nextConnectionId++
  private childLogger: Logger | null = null
  /** Set by every pong; the heartbeat terminates a connection that stays silent for a whole round. */
  alive = true
  lastSentAt = Date.now()
  private closing = false
  private readonly rates: RateLimiter | null
  private readonly highWater: number
  private drainCallbacks: Array<() => void> = []
  private drainTimer: NodeJS.Timeout | null = null
  private congestedSince = 0

  constructor(
    readonly socket: WebSocket,
    readonly ip: string,
    private readonly parentLogger: Logger,
    private readonly policy: ConnectionPolicy = {},
  ) {
    this.rates = policy.rates === undefined ? null : new RateLimiter(policy.rates)
    this.highWater = policy.sendBufferHighWaterBytes ?? Number.POSITIVE_INFINITY
    // Registered before any dialect session's listener, so a message over the rate closes the
    // connection before the session looks at it (sessions check `open`).
    if (this.rates !== null) {
      const rates = this.rates
      socket.on('message', (data: RawData) => {
        if (!this.closing && !rates.admit(byteLength(data))) this.fail(new TandemError('RATE_LIMITED'))
      })
    }
    socket.on('close', () => this.stopDrainWatch())
    socket.on('pong', () => {
      this.alive = true
    })
    // Protocol violations (reserved bits, unmasked frames, oversized frames, bad UTF-8) surface
    // here; `ws` closes the socket with the matching code itself. Without a listener they would
    // crash the process.
    socket.on('error', (error: Error & { code?: string }) => {
      this.policy.metrics?.rejected(error.code ?? 'SOCKET_ERROR')
      this.logger.info({ code: error.code, reason: error.message }, 'connection error')
    })
  }

  /**
   * A child logger carrying `conn`, made on first use: most connections never log a line, and at
   * 10,000 idle connections every object kept per connection shows in the server's memory.
   */
  get logger(): Logger {
    this.childLogger ??= this.parentLogger.child({ conn: this.id })
    return this.childLogger
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN && !this.closing
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount
  }

  /** The send buffer is above its high water mark: broadcasts should wait (see Room.skipCongested). */
  get congested(): boolean {
    return this.socket.bufferedAmount > this.highWater
  }

  /**
   * Calls `callback` once, when the send buffer has fallen to half the high water mark. A
   * connection that stays congested past `slowConsumerTimeoutMs` is closed (SLOW_CONSUMER) instead.
   */
  onDrained(callback: () => void): void {
    this.drainCallbacks.push(callback)
    if (this.drainTimer !== null) return
    this.congestedSince = Date.now()
    this.drainTimer = setInterval(this.checkDrain, DRAIN_POLL_MS)
    this.drainTimer.unref()
  }

  private readonly checkDrain = (): void => {
    if (!this.open) {
      this.stopDrainWatch()
      return
    }
    if (this.socket.bufferedAmount <= this.highWater / 2) {
      const callbacks = this.drainCallbacks
      this.stopDrainWatch()
      for (const callback of callbacks) callback()
      return
    }
    if (Date.now() - this.congestedSince > (this.policy.slowConsumerTimeoutMs ?? Number.POSITIVE_INFINITY)) {
      this.stopDrainWatch()
      this.fail(new TandemError('SLOW_CONSUMER', `${this.socket.bufferedAmount} bytes unread`))
    }
  }

  private stopDrainWatch(): void {
    if (this.drainTimer !== null) clearInterval(this.drainTimer)
    this.drainTimer = null
    this.drainCallbacks = []
  }

  send(frame: Uint8Array): void {
    if (!this.open) return
    this.lastSentAt = Date.now()
    this.socket.send(frame, { binary: true })
  }

  /**
   * Counts a refusal that does not close this connection (the multiplexed dialect closes one
   * document at a time); `fail` counts its own.
   */
  countRejection(error: TandemError): void {
    this.policy.metrics?.rejected(error.code)
  }

  /** Closes with the error's close code; logs one line. */
  fail(error: TandemError): void {
    if (this.closing) return
    this.closing = true
    this.policy.metrics?.rejected(error.code)
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

const byteLength = (data: RawData): number => {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0)
  return data.byteLength
}
