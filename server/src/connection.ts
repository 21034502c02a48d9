import type { Duplex } from 'node:stream'
import type { RawData, WebSocket } from 'ws'
import { TandemError } from '@tandem/protocol'
import type { Keepalive } from './keepalive.js'
import { admit, fillBuckets, type RateLimits, type RateState } from './limits/rate-limiter.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'

let nextConnectionId = 1

/**
 * What the server imposes on every connection (config `limits`); everything is optional for tests.
 * One object shared by every connection of a server.
 */
export interface ConnectionPolicy {
  /** Inbound token buckets; a connection over its rate is closed with RATE_LIMITED (1013). */
  readonly rates?: RateLimits
  /** Above this many unsent bytes the connection reports `congested` (backpressure). */
  readonly sendBufferHighWaterBytes?: number
  /** Congested for longer than this: closed with SLOW_CONSUMER (1013). */
  readonly slowConsumerTimeoutMs?: number
  readonly metrics?: Metrics
  /** The socket has closed (after its session heard of it). */
  readonly onClosed?: (connection: Connection, code: number) => void
}

/** A dialect on top of a connection: it hears every message that passed the rate limit, and the close. */
export interface Session extends Keepalive {
  receive(data: RawData, isBinary: boolean): void
  socketClosed(): void
}

/** How often a congested connection's send buffer is looked at (ws has no public 'drain' event). */
const DRAIN_POLL_MS = 20

/**
 * Where the socket listeners below find their connection. They are module-level functions shared
 * by every socket (ws calls them with `this` = the socket), one per event: closures per socket
 * (a function and a context each, and an array wherever an event had two listeners) cost over
 * 1 KB per idle connection.
 */
const CONNECTION = Symbol('connection')
type TaggedSocket = WebSocket & { [CONNECTION]: Connection }
const connectionOf = (socket: WebSocket): Connection => (socket as TaggedSocket)[CONNECTION]

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  connectionOf(this).receive(data, isBinary)
}

function onClose(this: WebSocket, code: number): void {
  connectionOf(this).closed(code)
}

function onPong(this: WebSocket): void {
  connectionOf(this).alive = true
}

// Protocol violations (reserved bits, unmasked frames, oversized frames, bad UTF-8) surface here;
// `ws` closes the socket with the matching code itself. Without a listener they would crash the
// process.
function onError(this: WebSocket, error: Error & { code?: string }): void {
  const connection = connectionOf(this)
  connection.countRejection(error.code ?? 'SOCKET_ERROR')
  connection.logger.info({ code: error.code, reason: error.message }, 'connection error')
}

/**
 * Frames to one socket in one task (a tick's broadcasts, one per writer with an update; a sync
 * answer and the awareness after it) leave in two writes instead of one each: the first frame goes
 * out at once (a lone broadcast, the common case, is not held back), the socket is corked at the
 * second, and every corked socket is uncorked together on the next tick.
 *
 * `task` counts the ticks that had sends; a connection remembers the last one it sent in.
 */
let task = 0
let taskEnding = false
let corked: Duplex[] = []

const endTask = (): void => {
  task++
  taskEnding = false
  const transports = corked
  corked = []
  for (const transport of transports) transport.uncork()
}

/**
 * One WebSocket, whatever its dialect: sends frames, closes with a catalogued error (logged once),
 * and answers the server's heartbeat. Dialect sessions sit on top and never touch `ws` directly.
 */
export class Connection implements RateState {
  readonly id = nextConnectionId++
  /** The dialect session, which attaches itself when it is made. */
  private session: Session | null = null
  private childLogger: Logger | null = null
  /** Set by every pong; the heartbeat terminates a connection that stays silent for a whole round. */
  alive = true
  lastSentAt = Date.now()
  /** The task (see `task`) this connection last sent in. */
  private sendTask = -1
  private closing = false
  // The inbound rate (limits/rate-limiter.ts), kept as plain fields: no objects per connection.
  messageTokens = 0
  byteTokens = 0
  refilledAt = 0
  // Backpressure: only a congested connection has these.
  private drainCallbacks: Array<() => void> | null = null
  private drainTimer: NodeJS.Timeout | null = null
  private congestedSince = 0

  constructor(
    readonly socket: WebSocket,
    readonly ip: string,
    private readonly parentLogger: Logger,
    private readonly policy: ConnectionPolicy = {},
    /** The upgraded TCP socket under `socket`; when given, frames are written to it directly and a task's sends leave in at most two writes. */
    private readonly transport: Duplex | null = null,
  ) {
    if (policy.rates !== undefined) fillBuckets(this, policy.rates, Date.now())
    ;(socket as TaggedSocket)[CONNECTION] = this
    socket.on('message', onMessage)
    socket.on('close', onClose)
    socket.on('pong', onPong)
    socket.on('error', onError)
  }

  /** Called by the dialect session from its constructor: from now on it gets messages and the close. */
  attach(session: Session): void {
    this.session = session
  }

  /** The session's keepalive (see Keepalive); nothing before a session is attached. */
  keepalive(idleSince: number): void {
    this.session?.keepalive(idleSince)
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

  private get highWater(): number {
    return this.policy.sendBufferHighWaterBytes ?? Number.POSITIVE_INFINITY
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
    this.drainCallbacks ??= []
    this.drainCallbacks.push(callback)
    if (this.drainTimer !== null) return
    this.congestedSince = Date.now()
    this.drainTimer = setInterval(() => this.checkDrain(), DRAIN_POLL_MS)
    this.drainTimer.unref()
  }

  private checkDrain(): void {
    if (!this.open) {
      this.stopDrainWatch()
      return
    }
    if (this.socket.bufferedAmount <= this.highWater / 2) {
      const callbacks = this.drainCallbacks ?? []
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
    this.drainCallbacks = null
  }

  /**
   * From the socket's 'message' listener. A message over the rate closes the connection before
   * the session looks at it (sessions check `open`).
   */
  receive(data: RawData, isBinary: boolean): void {
    const rates = this.policy.rates
    if (rates !== undefined && !this.closing && !admit(this, rates, byteLength(data), Date.now())) {
      this.fail(new TandemError('RATE_LIMITED'))
    }
    this.session?.receive(data, isBinary)
  }

  /** From the socket's 'close' listener. */
  closed(code: number): void {
    this.stopDrainWatch()
    this.session?.socketClosed()
    this.policy.onClosed?.(this, code)
  }

  /**
   * Sends `payload` as one binary message. With `wire` (the same payload already framed by
   * `wsFrame`, shared by every recipient of a broadcast; null: let `ws` frame it) the frame is written to the TCP socket as
   * it is, in order with everything `ws` writes (it writes synchronously: no compression, no queue).
   */
  send(payload: Uint8Array, wire: Buffer | null = null): void {
    if (!this.open) return
    this.lastSentAt = Date.now()
    const transport = this.transport
    if (transport !== null) {
      if (!taskEnding) {
        taskEnding = true
        process.nextTick(endTask)
      }
      // `ws` corks and uncorks around each frame it writes; a socket corked here stays corked (the
      // count is nested) until endTask, on the next tick as Node's docs recommend.
      if (this.sendTask === task && transport.writableCorked === 0) {
        transport.cork()
        corked.push(transport)
      }
      this.sendTask = task
      if (wire !== null) {
        transport.write(wire)
        return
      }
    }
    this.socket.send(payload, { binary: true })
  }

  /**
   * Sends `payload` `count` times, each its own message (`wire`: its frame, as `wsFrame` makes it).
   * The multiplexed dialect acknowledges every update with a SyncStatus message of its own, so a
   * commit of 30 updates from one writer is 30 messages: with a transport they leave as one write
   * of 30 frames instead of 30 trips through `ws`.
   */
  sendRepeated(payload: Uint8Array, wire: Buffer, count: number): void {
    if (count === 1 || this.transport === null) {
      for (let i = 0; i < count; i++) this.send(payload, wire)
      return
    }
    if (count > 1) this.send(payload, repeated(wire, count))
  }

  /**
   * Counts a refusal that does not close this connection (the multiplexed dialect closes one
   * document at a time; a socket error is closed by ws); `fail` counts its own.
   */
  countRejection(code: string): void {
    this.policy.metrics?.rejected(code)
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

/** `frame` `count` times in one Buffer. */
const repeated = (frame: Buffer, count: number): Buffer => {
  const frames = Buffer.allocUnsafe(frame.byteLength * count)
  for (let i = 0; i < count; i++) frame.copy(frames, i * frame.byteLength)
  return frames
}

// A close reason is at most 123 bytes.
const truncateReason = (reason: string): string => (reason.length > 120 ? reason.slice(0, 120) : reason)

const byteLength = (data: RawData): number => {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0)
  return data.byteLength
}
