import WebSocket from 'ws'
import { nowMicros } from './markers.js'
import {
  EMPTY_STATE_VECTOR,
  EMPTY_UPDATE,
  MessageType,
  PONG,
  SyncType,
  decodeIncoming,
  encodeAuthToken,
  encodeAwareness,
  encodeSync,
  type Dialect,
} from './wire.js'

export interface ClientHandlers {
  /** A broadcast document update (sync type 2). `at` is the receive time in µs. */
  onUpdate?(payload: Uint8Array, at: number): void
  /** The answer to our sync step 1. */
  onStep2?(payload: Uint8Array, at: number): void
  onAwareness?(payload: Uint8Array, at: number): void
  /** Multiplexed dialect: a SyncStatus acknowledgement. */
  onAck?(applied: boolean, at: number): void
}

export interface ClientOptions {
  /** `ws://127.0.0.1:<port>` */
  readonly base: string
  readonly dialect: Dialect
  readonly doc: string
  readonly handlers?: ClientHandlers
  /** Our own awareness state, sent right after sync step 1 (as the real providers do). */
  readonly awareness?: Uint8Array
  /** Skip reading frames at all: for writers that must drain their socket but never look at it. */
  readonly ignoreBroadcasts?: boolean
}

/**
 * A client that speaks the wire protocol and keeps no Y.Doc: it answers the server's sync step 1
 * with an empty update (it has nothing the server lacks, or pretends so), answers pings, and hands
 * everything else to its handlers. Cheap enough to run thousands per worker process.
 */
export class BenchClient {
  readonly socket: WebSocket
  framesIn = 0
  bytesIn = 0
  acks = 0
  private syncedResolve: (() => void) | null = null
  private syncedReject: ((error: Error) => void) | null = null
  /** Resolves on the first sync step 2 from the server. */
  readonly synced: Promise<void>
  syncedAt = 0
  closed = false
  /** Sync step 2 messages we sent (each answered by a SyncStatus on servers that acknowledge). */
  step2Sent = 0
  private readonly stateWaiters: Array<(state: Uint8Array) => void> = []

  private constructor(readonly options: ClientOptions) {
    this.synced = new Promise<void>((resolve, reject) => {
      this.syncedResolve = resolve
      this.syncedReject = reject
    })
    this.synced.catch(() => undefined)
    const url = options.dialect === 'multiplexed' ? `${options.base}/` : `${options.base}/${encodeURIComponent(options.doc)}`
    this.socket = new WebSocket(url, { perMessageDeflate: false })
    this.socket.binaryType = 'nodebuffer'
    this.socket.on('message', (data: Buffer) => this.receive(data))
    this.socket.on('close', (code, reason) => {
      this.closed = true
      this.syncedReject?.(new Error(`closed before sync: ${code} ${reason.toString()}`))
    })
    this.socket.on('error', (error) => {
      this.syncedReject?.(error)
    })
  }

  /** Opens a socket and starts the handshake; resolves once the socket is open. */
  static open(options: ClientOptions): Promise<BenchClient> {
    const client = new BenchClient(options)
    return new Promise((resolve, reject) => {
      client.socket.once('open', () => {
        client.handshake()
        resolve(client)
      })
      client.socket.once('error', reject)
      client.socket.once('close', (code) => reject(new Error(`closed while opening (${code})`)))
    })
  }

  /** Opens and waits for the first sync step 2, within `timeoutMs`. */
  static async connect(options: ClientOptions, timeoutMs: number): Promise<BenchClient> {
    const client = await withTimeout(BenchClient.open(options), timeoutMs, `open ${options.doc}`)
    await withTimeout(client.synced, timeoutMs, `sync ${options.doc}`)
    return client
  }

  private handshake(): void {
    const { dialect, doc } = this.options
    if (dialect === 'multiplexed') this.send(encodeAuthToken(doc, ''))
    this.send(encodeSync(dialect, doc, SyncType.step1, EMPTY_STATE_VECTOR))
    if (this.options.awareness !== undefined) this.send(encodeAwareness(dialect, doc, this.options.awareness))
  }

  send(frame: Uint8Array, callback?: (error?: Error) => void): void {
    if (this.socket.readyState !== WebSocket.OPEN) {
      callback?.(new Error('socket not open'))
      return
    }
    this.socket.send(frame, { binary: true }, callback)
  }

  sendUpdate(update: Uint8Array, callback?: (error?: Error) => void): void {
    this.send(encodeSync(this.options.dialect, this.options.doc, SyncType.update, update), callback)
  }

  /**
   * Asks for the full state again and resolves with the answer (a sync step 2). Servers handle one
   * socket's messages in order, so the answer includes every update this client sent before: a
   * barrier that works on servers without acknowledgements.
   */
  requestState(timeoutMs: number): Promise<Uint8Array> {
    const answer = new Promise<Uint8Array>((resolve) => this.stateWaiters.push(resolve))
    this.send(encodeSync(this.options.dialect, this.options.doc, SyncType.step1, EMPTY_STATE_VECTOR))
    return withTimeout(answer, timeoutMs, `state of ${this.options.doc}`)
  }

  /** Requests the state until it is at least `minBytes` long (what we sent has been applied). */
  async barrier(minBytes: number, timeoutMs: number): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const state = await this.requestState(Math.max(1, deadline - Date.now()))
      if (state.length >= minBytes) return state
      if (Date.now() > deadline) throw new Error(`state of ${this.options.doc} stayed at ${state.length} < ${minBytes} bytes`)
    }
  }

  sendAwareness(update: Uint8Array): void {
    this.send(encodeAwareness(this.options.dialect, this.options.doc, update))
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve())
      if (this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate()
      else this.socket.close(1000)
      // A server that never answers the close handshake must not hold us: ws's own close timer
      // (30 s) is too long for a benchmark, so terminate after a short grace period.
      setTimeout(() => this.socket.terminate(), 2_000).unref()
    })
  }

  terminate(): void {
    this.socket.terminate()
  }

  private receive(data: Buffer): void {
    this.framesIn++
    this.bytesIn += data.length
    if (this.options.ignoreBroadcasts === true && this.syncedResolve === null) {
      // Still answer pings: Hocuspocus drops connections that stay silent.
      if (this.options.dialect === 'multiplexed' && data.length === 1 && data[0] === MessageType.ping) this.send(PONG)
      return
    }
    const at = nowMicros()
    const message = decodeIncoming(this.options.dialect, data)
    const handlers = this.options.handlers
    switch (message.kind) {
      case 'sync-step1':
        this.step2Sent++
        this.send(encodeSync(this.options.dialect, this.options.doc, SyncType.step2, EMPTY_UPDATE))
        return
      case 'sync-step2':
        if (this.syncedResolve !== null) {
          this.syncedAt = at
          this.syncedResolve()
          this.syncedResolve = null
          this.syncedReject = null
        } else {
          this.stateWaiters.shift()?.(message.payload)
        }
        handlers?.onStep2?.(message.payload, at)
        return
      case 'sync-update':
        handlers?.onUpdate?.(message.payload, at)
        return
      case 'awareness':
        handlers?.onAwareness?.(message.payload, at)
        return
      case 'sync-status':
        this.acks++
        handlers?.onAck?.(message.applied, at)
        return
      case 'ping':
        this.send(PONG)
        return
      case 'permission-denied':
        this.syncedReject?.(new Error(`permission denied: ${message.reason}`))
        return
      default:
        return
    }
  }
}

export const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })

/** Runs `task` over `items` with at most `limit` in flight; rejects on the first failure. */
export const mapLimit = async <T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> => {
  const results = new Array<R>(items.length)
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await task(items[index]!, index)
    }
  })
  await Promise.all(lanes)
  return results
}

/** Resolves when `condition()` holds, checking after each event-loop turn that may change it, or rejects at the deadline. */
export const until = (condition: () => boolean, timeoutMs: number, what: string, pollMs = 5): Promise<void> =>
  new Promise((resolve, reject) => {
    if (condition()) {
      resolve()
      return
    }
    const deadline = Date.now() + timeoutMs
    const timer = setInterval(() => {
      if (condition()) {
        clearInterval(timer)
        resolve()
      } else if (Date.now() > deadline) {
        clearInterval(timer)
        reject(new Error(`timed out after ${timeoutMs} ms: ${what}`))
      }
    }, pollMs)
  })
