import { ObservableV2 } from 'lib0/observable'
import { multiplexed, type DocumentMessage } from '@tandem/protocol'
import { backoffDelay, checkBackoff, type BackoffOptions } from './backoff.js'

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected'

/** A token, or a function asked for one on every connect (so an expired token is replaced). */
export type TokenSource = string | null | (() => string | null | Promise<string | null>)

/** The part of a WebSocket this client uses: the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  onopen: ((event: never) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: never) => void) | null
  onerror: ((event: never) => void) | null
}

export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface TandemSocketOptions {
  /** `ws://host:port` (the multiplexed endpoint, `/` unless the server says otherwise). */
  readonly url: string
  /** The WebSocket class, for Node (`ws`); the global one by default. */
  readonly WebSocketPolyfill?: WebSocketConstructor | undefined
  /** The token for every document that has none of its own. */
  readonly token?: TokenSource | undefined
  /** Query parameters added to the URL. */
  readonly params?: Readonly<Record<string, string>> | undefined
  /** Connect at once (default true). */
  readonly connect?: boolean | undefined
  readonly backoff?: BackoffOptions | undefined
  /** Reconnect when nothing was heard for this long (the server pings idle sockets every 10 s). */
  readonly messageTimeoutMs?: number | undefined
}

/** What the socket asks of each document it carries (implemented by `TandemProvider`). */
export interface SocketChannel {
  readonly address: string
  /** The socket is open: authenticate and sync. */
  onOpen(): void
  onMessage(message: DocumentMessage): void
  /** The socket closed; the channel stays attached and hears `onOpen` again on reconnect. */
  onClose(): void
  onStatus(status: ConnectionStatus): void
}

export interface TandemSocketEvents {
  status: (event: { status: ConnectionStatus }) => void
  /** A reconnect is scheduled after `delayMs`. */
  retry: (event: { attempt: number; delayMs: number }) => void
}

const OPEN = 1
const PONG = multiplexed.encodeFrame({ type: 'pong' })
const noop = () => {}

/**
 * One WebSocket shared by many documents (the multiplexed dialect). Reconnects with jittered
 * exponential backoff while wanted; every timer it starts is cleared by `disconnect()`/`destroy()`,
 * so a Node process with nothing else to do exits.
 */
export class TandemSocket extends ObservableV2<TandemSocketEvents> {
  readonly url: string
  readonly token: TokenSource
  status: ConnectionStatus = 'disconnected'
  /** Whether the socket wants to be connected (false after `disconnect()`). */
  shouldConnect = false
  private readonly channels = new Map<string, SocketChannel>()
  private readonly WebSocketClass: WebSocketConstructor
  private readonly backoff: BackoffOptions
  private readonly messageTimeoutMs: number
  private ws: WebSocketLike | null = null
  private attempts = 0
  private lastMessageAt = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private watchdog: ReturnType<typeof setInterval> | null = null
  private destroyed = false

  constructor(options: TandemSocketOptions) {
    super()
    checkBackoff(options.backoff)
    const WebSocketClass = options.WebSocketPolyfill ?? (globalThis.WebSocket as unknown as WebSocketConstructor | undefined)
    if (WebSocketClass === undefined) throw new TypeError('no WebSocket here: pass WebSocketPolyfill (e.g. the `ws` package in Node)')
    this.WebSocketClass = WebSocketClass
    this.backoff = options.backoff ?? {}
    this.messageTimeoutMs = options.messageTimeoutMs ?? 30_000
    this.token = options.token ?? null
    const params = new URLSearchParams(options.params ?? {}).toString()
    this.url = params === '' ? options.url : `${options.url}${options.url.includes('?') ? '&' : '?'}${params}`
    if (options.connect ?? true) this.connect()
  }

  get connected(): boolean {
    return this.status === 'connected'
  }

  attach(channel: SocketChannel): void {
    if (this.destroyed) throw new Error('the socket is destroyed')
    const existing = this.channels.get(channel.address)
    if (existing !== undefined && existing !== channel) throw new Error(`a provider for "${channel.address}" is already attached to this socket`)
    this.channels.set(channel.address, channel)
    channel.onStatus(this.status)
    if (this.connected) channel.onOpen()
  }

  detach(channel: SocketChannel): void {
    if (this.channels.get(channel.address) === channel) this.channels.delete(channel.address)
  }

  /** Sends a message for one document; dropped while the socket is not open (the next sync covers it). */
  send(address: string, message: DocumentMessage): boolean {
    const ws = this.ws
    if (ws === null || ws.readyState !== OPEN || !this.connected) return false
    ws.send(multiplexed.encodeDocumentFrame(address, message))
    return true
  }

  connect(): void {
    if (this.destroyed) return
    this.shouldConnect = true
    if (this.ws !== null || this.reconnectTimer !== null) return
    this.open()
  }

  /** Closes the socket and stays disconnected until `connect()`. */
  disconnect(): void {
    this.shouldConnect = false
    this.clearReconnect()
    this.drop()
  }

  override destroy(): void {
    if (this.destroyed) return
    this.disconnect()
    this.destroyed = true
    this.channels.clear()
    super.destroy()
  }

  private open(): void {
    this.setStatus('connecting')
    const ws = new this.WebSocketClass(this.url)
    ws.binaryType = 'arraybuffer'
    this.ws = ws
    ws.onopen = () => {
      this.lastMessageAt = Date.now()
      this.startWatchdog()
      this.setStatus('connected')
      for (const channel of [...this.channels.values()]) channel.onOpen()
    }
    ws.onmessage = (event) => this.receive(event.data)
    ws.onclose = () => {
      if (this.ws !== ws) return
      this.ws = null
      this.closed()
    }
    // `ws` in Node throws an 'error' nobody listens to; the close that follows does the work.
    ws.onerror = noop
  }

  private receive(data: unknown): void {
    this.lastMessageAt = Date.now()
    // A connection counts as good once the server has said something, not merely on open: a
    // server that accepts and at once closes must not reset the backoff.
    this.attempts = 0
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : null
    if (bytes === null) return
    let frame: multiplexed.MultiplexedFrame
    try {
      frame = multiplexed.decodeFrame(bytes)
    } catch {
      // A frame from a newer server this client cannot read: skip it rather than drop the socket.
      return
    }
    if (frame.type === 'ping') {
      if (this.ws?.readyState === OPEN) this.ws.send(PONG)
      return
    }
    if (frame.type === 'pong') return
    this.channels.get(frame.address)?.onMessage(frame.message)
  }

  /** Closes the current socket now, without waiting for its close event. */
  private drop(): void {
    const ws = this.ws
    if (ws === null) return
    this.ws = null
    ws.onopen = null
    ws.onmessage = null
    ws.onclose = null
    try {
      ws.close()
    } catch {
      // Already closing.
    }
    this.closed()
  }

  private closed(): void {
    this.stopWatchdog()
    this.setStatus('disconnected')
    for (const channel of [...this.channels.values()]) channel.onClose()
    if (this.shouldConnect && !this.destroyed) this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== null) return
    const attempt = this.attempts++
    const delayMs = backoffDelay(attempt, this.backoff)
    this.emit('retry', [{ attempt, delayMs }])
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (this.shouldConnect && this.ws === null && !this.destroyed) this.open()
    }, delayMs)
  }

  private clearReconnect(): void {
    if (this.reconnectTimer === null) return
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
  }

  private startWatchdog(): void {
    this.stopWatchdog()
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastMessageAt > this.messageTimeoutMs) this.drop()
    }, Math.max(100, this.messageTimeoutMs / 10))
  }

  private stopWatchdog(): void {
    if (this.watchdog === null) return
    clearInterval(this.watchdog)
    this.watchdog = null
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return
    this.status = status
    this.emit('status', [{ status }])
    for (const channel of [...this.channels.values()]) channel.onStatus(status)
  }
}
