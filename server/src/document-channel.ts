import type { IncomingMessage } from 'node:http'
import * as Y from 'yjs'
import { decodeAwarenessUpdate, multiplexed, TandemError, type DocumentMessage, type SyncMessage } from '@tandem/protocol'
import type { Authenticate } from './authenticate.js'
import { asTandemError, type Connection } from './connection.js'
import { asBuffer, wire, type Outbound, type RoomMember } from './room-member.js'
import { wsFrame } from './ws-frame.js'
import type { Room } from './room.js'
import type { RoomRegistry } from './room-registry.js'
import type { OnStateless, StatelessDirectory, StatelessTarget } from './stateless.js'
import type { SessionLimits } from './y-websocket-session.js'

/** What every channel of one multiplexed socket shares. */
export interface ChannelHost {
  readonly connection: Connection
  readonly request: IncomingMessage
  /** The upgrade request's token (`?token=`, subprotocol), used when the Auth message carries none. */
  readonly upgradeToken: string | null
  readonly registry: RoomRegistry
  readonly authenticate: Authenticate
  readonly limits: SessionLimits
  readonly stateless: StatelessDirectory
  readonly onStateless: OnStateless | undefined
  readonly maxPreAuthMessages: number
  /** Counts bytes held before authentication over the whole socket; false once over the limit. */
  holdPreAuth(bytes: number): boolean
  /** A document of this socket authenticated (the socket is no longer anonymous). */
  authenticated(): void
  /** The channel is finished (closed by the client, refused, or its socket closed). */
  forget(channel: DocumentChannel): void
}

type ChannelState =
  /** Nothing but messages so far: they wait for the Auth message. */
  | 'awaiting-token'
  | 'authenticating'
  /** Authenticated; the room is loading. */
  | 'joining'
  | 'joined'
  /** Permission denied: everything but a new Auth message is dropped. */
  | 'denied'
  | 'closed'

/**
 * One document inside a multiplexed socket: its own authentication, scope and room membership.
 * Refusing or closing a channel never touches the socket or the socket's other documents.
 */
export class DocumentChannel implements RoomMember, StatelessTarget {
  private state: ChannelState = 'awaiting-token'
  private queue: DocumentMessage[] = []
  private queuedBytes = 0
  private room: Room | null = null
  private user: unknown = undefined
  readOnly = false
  /** Broadcasts are framed once per document; a session-aware address needs its own framing. */
  private readonly sharesFraming: boolean
  /** The SyncStatus message and its WebSocket frame, made on the first acknowledgement (a reader never needs them). */
  private ack: { message: Uint8Array; frame: Buffer } | null = null

  constructor(
    private readonly host: ChannelHost,
    /** The address the client uses: the document name, or `name + "\0" + sessionId`. */
    readonly address: string,
    readonly documentName: string,
  ) {
    this.sharesFraming = address === documentName
  }

  get id(): number {
    return this.host.connection.id
  }

  receive(message: DocumentMessage, frameBytes: number): void {
    switch (this.state) {
      case 'awaiting-token':
      case 'denied':
        if (message.type === 'auth-token') {
          void this.authenticate(message.token)
          return
        }
        if (this.state === 'awaiting-token') this.hold(message, frameBytes)
        return
      case 'authenticating':
      case 'joining':
        this.hold(message, frameBytes)
        return
      case 'joined':
        this.handle(message)
        return
      case 'closed':
        return
    }
  }

  // RoomMember

  send(message: Outbound): void {
    if (this.sharesFraming) {
      const framed = (message.framed ??= asBuffer(multiplexed.frameInner(this.address, message.inner)))
      if (message.framedWire === undefined) message.framedWire = wire(framed)
      this.host.connection.send(framed, message.framedWire)
    } else {
      this.host.connection.send(multiplexed.frameInner(this.address, message.inner))
    }
  }

  /** Closes this document only: a Close message (the provider treats it as a disconnect of the document). */
  reject(error: TandemError): void {
    if (this.state === 'closed') return
    this.host.connection.countRejection(error.code)
    this.host.connection.logger.info({ doc: this.documentName, code: error.code, reason: error.message }, 'closing document')
    this.sendMessage({ type: 'close', reason: error.code })
    this.close()
  }

  /** One SyncStatus per update message, sent after its commit: the provider counts them down. */
  acknowledge(count: number): void {
    if (this.ack === null) {
      const message = asBuffer(multiplexed.encodeDocumentFrame(this.address, { type: 'sync-status', applied: true }))
      this.ack = { message, frame: wsFrame(message) }
    }
    // One SyncStatus per update (the provider counts them down), all in one write.
    this.host.connection.sendRepeated(this.ack.message, this.ack.frame, count)
  }

  /** Backpressure is the socket's: every document on it waits for the same buffer to drain. */
  get congested(): boolean {
    return this.host.connection.congested
  }

  onDrained(callback: () => void): void {
    this.host.connection.onDrained(callback)
  }

  sendStateless(payload: string): void {
    if (this.state === 'joined') this.sendMessage({ type: 'stateless', payload })
  }

  /** Leaves the room and forgets everything; sends nothing (the client closed it, or the socket is gone). */
  close(): void {
    if (this.state === 'closed') return
    const wasJoined = this.state === 'joined'
    this.state = 'closed'
    this.releaseQueue()
    if (wasJoined) this.host.stateless.remove(this.documentName, this)
    this.room?.leave(this)
    this.room = null
    this.host.forget(this)
  }

  /** Messages wait for authentication, within the socket's pre-auth limits. */
  private hold(message: DocumentMessage, frameBytes: number): void {
    this.queue.push(message)
    this.queuedBytes += frameBytes
    const withinBytes = this.host.holdPreAuth(frameBytes)
    if (this.queue.length > this.host.maxPreAuthMessages || !withinBytes) {
      this.host.connection.fail(new TandemError('PRE_AUTH_LIMIT', `too much sent for "${this.documentName}" before authentication`))
    }
  }

  private releaseQueue(): DocumentMessage[] {
    const queue = this.queue
    this.host.holdPreAuth(-this.queuedBytes)
    this.queue = []
    this.queuedBytes = 0
    return queue
  }

  private async authenticate(authToken: string): Promise<void> {
    const { connection, request } = this.host
    this.state = 'authenticating'
    // The provider always sends a token, "" when it has none; then the upgrade request's counts.
    const token = authToken !== '' ? authToken : this.host.upgradeToken
    let access
    try {
      const result = await this.host.authenticate({ documentName: this.documentName, token, request })
      access = result.access
      this.user = result.user
    } catch (error) {
      if (this.state !== 'authenticating') return
      const refusal = error instanceof TandemError ? error : new TandemError('UNAUTHORIZED')
      connection.logger.info({ doc: this.documentName, code: refusal.code }, 'document refused')
      this.state = 'denied'
      this.releaseQueue()
      this.sendMessage({ type: 'auth-permission-denied', reason: refusal.code })
      return
    }
    if (this.state !== 'authenticating') return
    this.readOnly = access === 'read'
    this.host.authenticated()
    this.sendMessage({ type: 'auth-authenticated', scope: this.readOnly ? 'readonly' : 'read-write' })
    this.state = 'joining'
    try {
      const room = await this.host.registry.join(this.documentName, this, () => this.state === 'joining' && connection.open)
      if (room === null) return
      this.room = room
    } catch (error) {
      // A refusal (too many documents loaded) is logged by reject(); anything else is a failure.
      if (!(error instanceof TandemError)) connection.logger.error({ err: error, doc: this.documentName }, 'document failed to load')
      this.reject(error instanceof TandemError ? error : new TandemError('INTERNAL_ERROR'))
      return
    }
    this.state = 'joined'
    this.host.stateless.add(this.documentName, this)
    for (const message of this.releaseQueue()) {
      if (this.state !== 'joined') return
      this.handle(message)
    }
  }

  private handle(message: DocumentMessage): void {
    const room = this.room
    if (room === null) return
    try {
      switch (message.type) {
        case 'sync-step1':
        case 'sync-step2':
        case 'sync-update':
          this.sync(room, message)
          return
        case 'sync-reply':
          this.sync(room, message.sync)
          return
        case 'awareness':
          room.receiveAwareness(this, decodeAwarenessUpdate(message.update, this.host.limits.maxAwarenessStateBytes))
          return
        case 'query-awareness':
          room.queryAwareness(this)
          return
        case 'stateless':
          void this.stateless(message.payload)
          return
        case 'broadcast-stateless':
          this.reject(new TandemError('UNKNOWN_MESSAGE_TYPE', 'broadcast-stateless is server-internal'))
          return
        case 'close':
          this.close()
          return
        case 'auth-token':
          // Already authenticated: a provider re-sends its token when destroyed and recreated quickly.
          return
        case 'auth-token-request':
        case 'auth-permission-denied':
        case 'auth-authenticated':
        case 'sync-status':
          // Server-to-client messages; a client echoing one is confused but harmless.
          return
      }
    } catch (error) {
      this.reject(asTandemError(error, this.host.connection.logger))
    }
  }

  private sync(room: Room, message: SyncMessage): void {
    if (message.type === 'sync-step1') {
      room.syncStep1(this, message.stateVector)
      return
    }
    if (!this.readOnly) {
      room.receiveUpdate(this, message.update)
      return
    }
    // As Hocuspocus does for a read-only connection: nothing is applied; a step 2 that brings
    // nothing new is acknowledged as applied (so the provider's count of unsynced changes returns
    // to zero after each handshake), anything else is answered "not applied".
    let applied = false
    if (message.type === 'sync-step2') {
      try {
        applied = Y.snapshotContainsUpdate(Y.snapshot(room.doc), message.update)
      } catch {
        applied = false
      }
    }
    this.sendMessage({ type: 'sync-status', applied })
  }

  private async stateless(payload: string): Promise<void> {
    const hook = this.host.onStateless
    if (hook === undefined) return
    const document = this.documentName
    try {
      await hook({
        document,
        connection: { id: this.id, user: this.user, readOnly: this.readOnly },
        payload,
        reply: (answer) => this.sendStateless(answer),
        broadcast: (answer, options) => {
          this.host.stateless.send(document, answer, options?.exceptSender === true ? { except: this } : {})
        },
      })
    } catch (error) {
      this.host.connection.logger.warn({ err: error, doc: document }, 'onStateless hook failed')
    }
  }

  private sendMessage(message: DocumentMessage): void {
    this.host.connection.send(multiplexed.encodeDocumentFrame(this.address, message))
  }
}
