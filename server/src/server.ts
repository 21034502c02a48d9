import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { DEFAULT_DOCUMENT_NAME_PATTERN, TandemError, type DocumentNameRules } from '@tandem/protocol'
import type { StorageAdapter } from '@tandem/storage'
import type { ServerConfig } from './config.js'
import { allowEveryone, type Access, type Authenticate } from './authenticate.js'
import { Connection, type ConnectionPolicy } from './connection.js'
import { createHttpApp } from './http-app.js'
import type { Logger } from './logger.js'
import { RoomRegistry } from './room-registry.js'
import { refuseUpgrade, routeUpgrade } from './upgrade.js'
import { YWebsocketSession } from './y-websocket-session.js'
import { MultiplexedSession } from './multiplexed-session.js'
import { StatelessDirectory, type OnStateless } from './stateless.js'
import { createJwtAuthenticate, loadVerificationKeys, selectProtocol, tokenFromRequest } from './auth/index.js'
import { checkOrigin, ConnectionLimiter } from './limits/index.js'
import { clientAddress } from './limits/client-address.js'
import { Metrics } from './metrics.js'

export interface TandemServerOptions {
  readonly config: ServerConfig
  /** The store; the caller opens it and closes it after `close()`. */
  readonly storage: StorageAdapter
  readonly logger: Logger
  /**
   * Who may open which document. When omitted: JWTs checked with the keys of `config.auth`, or,
   * with none configured, authentication off (everyone writes; a warning at start).
   */
  readonly authenticate?: Authenticate
  /** Called for every stateless message of the multiplexed dialect; they are dropped without it. */
  readonly onStateless?: OnStateless
}

/** How often idle connections (both dialects) get a keepalive, well inside their clients' 30 s watchdog. */
const KEEPALIVE_SWEEP_MS = 5_000
const KEEPALIVE_IDLE_MS = 10_000

/**
 * The composition of Tandem's server: one HTTP server carrying the express app and both
 * WebSocket dialects, the room registry, heartbeat and graceful shutdown.
 */
export class TandemServer {
  readonly http: Server
  readonly registry: RoomRegistry
  private readonly wss: WebSocketServer
  private readonly connections = new Set<Connection>()
  /** One policy shared by every connection (limits, metrics, and forgetting it when it closes). */
  private readonly connectionPolicy: ConnectionPolicy
  private readonly stateless = new StatelessDirectory()
  private readonly nameRules: DocumentNameRules
  private readonly timers: NodeJS.Timeout[] = []
  private readonly authenticate: Authenticate
  readonly metrics: Metrics
  private readonly connectionLimiter: ConnectionLimiter
  private stopping = false
  private closed: Promise<void> | null = null

  constructor(private readonly options: TandemServerOptions) {
    const { config, logger } = options
    this.authenticate = options.authenticate ?? this.configuredAuthenticate()
    this.metrics = new Metrics({
      connections: () => this.connections.size,
      documents: () => this.registry.size,
      sendBufferBytes: () => this.sendBufferBytes,
    })
    this.connectionLimiter = new ConnectionLimiter(config.limits)
    this.connectionPolicy = {
      rates: config.limits,
      sendBufferHighWaterBytes: config.limits.sendBufferHighWaterBytes,
      slowConsumerTimeoutMs: config.limits.slowConsumerTimeoutMs,
      metrics: this.metrics,
      onClosed: (connection, code) => this.forget(connection, code),
    }
    this.nameRules = { maxLength: config.limits.maxDocumentNameLength, pattern: DEFAULT_DOCUMENT_NAME_PATTERN }
    this.registry = new RoomRegistry({
      storage: options.storage,
      logger,
      roomIdleMs: config.roomIdleMs,
      compactAfterUpdates: config.compactAfterUpdates,
      awarenessTimeoutMs: config.awarenessTimeoutMs,
      hibernateAfterMs: config.hibernateAfterMs,
      roomLimits: config.limits,
      maxDocuments: config.limits.maxDocuments,
    })
    const app = createHttpApp({
      ready: () => !this.stopping && this.registry.healthy,
      stats: () => ({ connections: this.connections.size, documents: this.registry.size }),
    }, { metrics: this.metrics.registry, ...(config.playgroundDir === undefined ? {} : { staticDir: config.playgroundDir }) })
    this.http = createServer(app)
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.limits.maxMessageBytes,
      // Compression costs CPU on every frame for small CRDT deltas; clients do not need it.
      perMessageDeflate: false,
      clientTracking: false,
      // Answer with one of the offered subprotocols (RFC 6455); a token may travel as one.
      handleProtocols: (protocols) => selectProtocol(protocols),
    })
    this.http.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head))
    this.timers.push(
      setInterval(() => {
        for (const connection of this.connections) connection.heartbeat()
      }, config.heartbeatMs),
      setInterval(() => {
        const idleSince = Date.now() - KEEPALIVE_IDLE_MS
        for (const connection of this.connections) connection.keepalive(idleSince)
      }, KEEPALIVE_SWEEP_MS),
    )
    for (const timer of this.timers) timer.unref()
  }

  /**
   * Sends a stateless message to every multiplexed connection that has `document` open, or only to
   * connection `connectionId`. Returns how many connections it was sent to.
   */
  sendStateless(document: string, payload: string, options: { readonly connectionId?: number } = {}): number {
    return this.stateless.send(document, payload, options)
  }

  get connectionCount(): number {
    return this.connections.size
  }

  /** Bytes queued for sending on every connection together (what backpressure keeps bounded). */
  get sendBufferBytes(): number {
    let total = 0
    for (const connection of this.connections) total += connection.bufferedAmount
    return total
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = this.options.config
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject)
      this.http.listen(port, host, () => {
        this.http.off('error', reject)
        resolve()
      })
    })
    const address = this.http.address() as AddressInfo
    this.options.logger.info({ host: address.address, port: address.port }, 'listening')
    return address
  }

  /**
   * Graceful stop: refuse new connections, close every socket with 1012 (service restart), store
   * everything pending and unload the rooms. Idempotent. The storage stays open for the caller.
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown()
    return this.closed
  }

  private async shutdown(): Promise<void> {
    this.stopping = true
    for (const timer of this.timers) clearInterval(timer)
    const stopListening = new Promise<void>((resolve) => this.http.close(() => resolve()))
    const error = new TandemError('SERVER_SHUTDOWN')
    for (const connection of this.connections) connection.close(error.closeCode, error.code)
    await this.registry.close()
    this.http.closeAllConnections()
    for (const connection of this.connections) connection.socket.terminate()
    await stopListening
    this.options.logger.info('server closed')
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until the upgrade is done; ws handles the socket's errors after that.
    socket.on('error', destroySocket)
    this.accept(request, socket, head).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'upgrade failed')
      refuseUpgrade(socket, new TandemError('INTERNAL_ERROR'))
    })
  }

  /** Authentication from `config.auth`, or off (said once, at start). */
  private configuredAuthenticate(): Authenticate {
    const { auth } = this.options.config
    const keys = loadVerificationKeys(auth)
    if (keys !== null) {
      this.options.logger.info({ auth: keys.kind }, 'authentication on: JWT')
      return createJwtAuthenticate({ keys, clockToleranceSeconds: auth.clockToleranceSeconds })
    }
    if (auth.disabled) this.options.logger.info('authentication off (--no-auth): every client may read and write every document')
    else this.options.logger.warn('authentication is off (no --auth-secret, --auth-jwks or --auth-public-key): every client may read and write every document')
    return allowEveryone
  }

  /** Refuses before the upgrade: one log line, one counter, a plain HTTP answer. */
  private refuse(request: IncomingMessage, socket: Duplex, refusal: TandemError, document?: string): void {
    this.metrics.rejected(refusal.code)
    this.options.logger.info(
      { code: refusal.code, status: refusal.httpStatus, reason: refusal.message, doc: document, ip: clientAddress(request, this.options.config.trustProxy) },
      'upgrade refused',
    )
    refuseUpgrade(socket, refusal)
  }

  private async accept(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.stopping) {
      refuseUpgrade(socket, new TandemError('SERVER_SHUTDOWN'))
      return
    }
    // Cheapest checks first; nothing is allocated for a request refused here.
    const badOrigin = checkOrigin(this.options.config.allowedOrigins, request)
    if (badOrigin !== null) {
      this.refuse(request, socket, badOrigin)
      return
    }
    const ip = clientAddress(request, this.options.config.trustProxy)
    const overLimit = this.connectionLimiter.acquire(ip)
    if (overLimit !== null) {
      this.refuse(request, socket, overLimit)
      return
    }
    // From here on the slot is ours: released when the socket closes, whatever happens (until
    // the upgrade is done; then the connection's close releases it).
    const slot = { ip, release: () => this.connectionLimiter.release(ip) }
    socket.on('close', slot.release)
    let target
    try {
      target = routeUpgrade(request, this.options.config.multiplexPath, this.nameRules)
    } catch (error) {
      this.refuse(request, socket, error instanceof TandemError ? error : new TandemError('BAD_DOCUMENT_NAME'))
      return
    }
    if (target.dialect === 'multiplexed') {
      // Authentication is per document, with the token of each document's Auth message.
      this.open(request, socket, head, slot, undefined, (connection) =>
        new MultiplexedSession(connection, {
          request,
          upgradeToken: tokenFromRequest(request),
          registry: this.registry,
          authenticate: this.authenticate,
          limits: this.options.config.limits,
          nameRules: this.nameRules,
          stateless: this.stateless,
          onStateless: this.options.onStateless,
        }),
      )
      return
    }
    const document = target.document
    let access: Access
    try {
      access = (await this.authenticate({ documentName: document, token: tokenFromRequest(request), request })).access
    } catch (error) {
      this.refuse(request, socket, error instanceof TandemError ? error : new TandemError('UNAUTHORIZED'), document)
      return
    }
    this.open(
      request,
      socket,
      head,
      slot,
      document,
      (connection) => new YWebsocketSession(connection, document, this.registry, this.options.config.limits, { readOnly: access === 'read' }),
    )
  }

  /**
   * Upgrades and puts a dialect session on the new connection, which from then on releases the
   * connection `slot` itself. `document` is for logs (y-websocket).
   */
  private open(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    slot: ConnectionSlot,
    document: string | undefined,
    createSession: (connection: Connection) => unknown,
  ): void {
    if (socket.destroyed) return
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      // Nothing made here outlives the upgrade: a listener closing over this scope would keep the
      // whole upgrade request alive with it (about 3 KB per idle connection).
      socket.off('error', destroySocket)
      socket.off('close', slot.release)
      const connection = new Connection(ws, slot.ip, this.options.logger, this.connectionPolicy, socket)
      createSession(connection)
      this.connections.add(connection)
      if (this.options.logger.isLevelEnabled('debug')) connection.logger.debug({ doc: document, ip: connection.ip }, 'connection opened')
    })
  }

  /** The connection's socket has closed (its session has cleaned up already). */
  private forget(connection: Connection, code: number): void {
    this.connections.delete(connection)
    this.connectionLimiter.release(connection.ip)
    if (this.options.logger.isLevelEnabled('debug')) connection.logger.debug({ code }, 'connection closed')
  }
}

/** The connection slot of an accepted request, released by the raw socket's close until upgraded. */
interface ConnectionSlot {
  readonly ip: string
  readonly release: () => void
}

/** One listener for every socket still upgrading (ws calls it with `this` = the socket). */
function destroySocket(this: Duplex): void {
  this.destroy()
}
