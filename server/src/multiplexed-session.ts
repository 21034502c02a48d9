import type { IncomingMessage } from 'node:http'
import type { RawData } from 'ws'
import { checkDocumentName, multiplexed, TandemError, type DocumentNameRules } from '@tandem/protocol'
import type { Authenticate } from './authenticate.js'
import { asTandemError, type Connection, type Session } from './connection.js'
import { DocumentChannel, type ChannelHost } from './document-channel.js'
import type { RoomRegistry } from './room-registry.js'
import type { OnStateless, StatelessDirectory } from './stateless.js'
import { toBytes, type SessionLimits } from './y-websocket-session.js'

/** The server's `limits` as this dialect reads them; each has a default so tests may pass fewer. */
export interface MultiplexedLimits extends SessionLimits {
  /** Documents (open, pending or refused) one socket may address. */
  readonly maxDocumentsPerConnection?: number
  /** Messages one document may have waiting for its authentication. */
  readonly maxPreAuthMessages?: number
  /** Bytes the whole socket may have waiting for authentication. */
  readonly maxPreAuthBytes?: number
  /** A socket with no authenticated document after this long is closed. */
  readonly preAuthTimeoutMs?: number
}

export interface MultiplexedSessionOptions {
  readonly request: IncomingMessage
  /** The token of the upgrade request (`?token=` or subprotocol), used when an Auth message carries `""`. */
  readonly upgradeToken: string | null
  readonly registry: RoomRegistry
  readonly authenticate: Authenticate
  readonly limits: MultiplexedLimits
  readonly nameRules: DocumentNameRules
  readonly stateless: StatelessDirectory
  readonly onStateless?: OnStateless | undefined
}

const DEFAULT_LIMITS = {
  maxDocumentsPerConnection: 256,
  maxPreAuthMessages: 64,
  maxPreAuthBytes: 1024 * 1024,
  preAuthTimeoutMs: 10_000,
} as const

const PING = multiplexed.encodeFrame({ type: 'ping' })
const PONG = multiplexed.encodeFrame({ type: 'pong' })

/**
 * The multiplexed (Hocuspocus-compatible) dialect: one socket, many documents, each frame
 * addressed to one of them. Each document is a `DocumentChannel` with its own authentication and
 * room membership; this class only routes frames and keeps the socket alive.
 */
export class MultiplexedSession implements Session, ChannelHost {
  private readonly channels = new Map<string, DocumentChannel>()
  readonly request: IncomingMessage
  readonly upgradeToken: string | null
  readonly registry: RoomRegistry
  readonly authenticate: Authenticate
  readonly limits: SessionLimits
  readonly stateless: StatelessDirectory
  readonly onStateless: OnStateless | undefined
  readonly maxPreAuthMessages: number
  private readonly maxPreAuthBytes: number
  private readonly maxDocuments: number
  /** Bytes held for documents still authenticating, over the whole socket. */
  private preAuthBytes = 0
  private authenticatedOnce = false
  private readonly nameRules: DocumentNameRules
  /** Until a document authenticates (null after: a cleared Timeout is still ~150 bytes). */
  private preAuthTimer: NodeJS.Timeout | null

  constructor(
    readonly connection: Connection,
    options: MultiplexedSessionOptions,
  ) {
    this.request = options.request
    this.upgradeToken = options.upgradeToken
    this.registry = options.registry
    this.authenticate = options.authenticate
    this.limits = options.limits
    this.stateless = options.stateless
    this.onStateless = options.onStateless
    this.nameRules = options.nameRules
    this.maxPreAuthMessages = options.limits.maxPreAuthMessages ?? DEFAULT_LIMITS.maxPreAuthMessages
    this.maxPreAuthBytes = options.limits.maxPreAuthBytes ?? DEFAULT_LIMITS.maxPreAuthBytes
    this.maxDocuments = options.limits.maxDocumentsPerConnection ?? DEFAULT_LIMITS.maxDocumentsPerConnection
    // A socket that never authenticates a document holds a slot for nothing.
    this.preAuthTimer = setTimeout(() => {
      if (!this.authenticatedOnce) this.connection.fail(new TandemError('PRE_AUTH_TIMEOUT'))
    }, options.limits.preAuthTimeoutMs ?? DEFAULT_LIMITS.preAuthTimeoutMs)
    this.preAuthTimer.unref()
    connection.attach(this)
  }

  /** Sends a Ping (one byte; the provider answers Pong) when the socket has been quiet. */
  keepalive(idleSince: number): void {
    if (this.connection.lastSentAt < idleSince) this.connection.send(PING)
  }

  /** A channel holds (positive) or releases (negative) bytes waiting for authentication. */
  holdPreAuth(bytes: number): boolean {
    this.preAuthBytes += bytes
    return this.preAuthBytes <= this.maxPreAuthBytes
  }

  authenticated(): void {
    this.authenticatedOnce = true
    this.stopPreAuthTimer()
  }

  private stopPreAuthTimer(): void {
    if (this.preAuthTimer !== null) clearTimeout(this.preAuthTimer)
    this.preAuthTimer = null
  }

  forget(channel: DocumentChannel): void {
    if (this.channels.get(channel.address) === channel) this.channels.delete(channel.address)
  }

  receive(data: RawData, isBinary: boolean): void {
    if (!isBinary) {
      this.connection.fail(new TandemError('UNSUPPORTED_DATA'))
      return
    }
    if (!this.connection.open) return
    const bytes = toBytes(data)
    let frame: multiplexed.MultiplexedFrame
    try {
      frame = multiplexed.decodeFrame(bytes, { maxPayloadBytes: this.limits.maxMessageBytes })
    } catch (error) {
      this.connection.fail(asTandemError(error, this.connection.logger))
      return
    }
    switch (frame.type) {
      case 'ping':
        this.connection.send(PONG)
        return
      case 'pong':
        return
      case 'document':
        this.route(frame.address, frame.message, bytes.length)
    }
  }

  private route(address: string, message: multiplexed.DocumentMessage, frameBytes: number): void {
    let channel = this.channels.get(address)
    if (channel === undefined) {
      const documentName = multiplexed.documentNameOf(address)
      try {
        checkDocumentName(documentName, this.nameRules)
      } catch (error) {
        // Answer the Auth message only, so one bad name costs one reply, not one per message.
        if (message.type === 'auth-token') {
          const refusal = asTandemError(error, this.connection.logger)
          this.connection.logger.info({ code: refusal.code, reason: refusal.message }, 'document refused')
          this.connection.send(multiplexed.encodeDocumentFrame(address, { type: 'auth-permission-denied', reason: refusal.code }))
        }
        return
      }
      if (this.channels.size >= this.maxDocuments) {
        this.connection.fail(new TandemError('TOO_MANY_DOCUMENTS', `more than ${this.maxDocuments} documents on one connection`))
        return
      }
      channel = new DocumentChannel(this, address, documentName)
      this.channels.set(address, channel)
    }
    channel.receive(message, frameBytes)
  }

  socketClosed(): void {
    this.stopPreAuthTimer()
    for (const channel of [...this.channels.values()]) channel.close()
    this.channels.clear()
  }
}
