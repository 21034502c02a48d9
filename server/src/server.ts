import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { DEFAULT_DOCUMENT_NAME_PATTERN, TandemError, type DocumentNameRules } from '@tandem/protocol'
import type { StorageAdapter } from '@tandem/storage'
import type { ServerConfig } from './config.js'
import { allowEveryone, type Access, type Authenticate } from './authenticate.js'
import { Connection } from './connection.js'
import { createHttpApp } from './http-app.js'
import type { Logger } from './logger.js'
import { RoomRegistry } from './room-registry.js'
import { refuseUpgrade, routeUpgrade } from './upgrade.js'
import { YWebsocketSession } from './y-websocket-session.js'

export interface TandemServerOptions {
  readonly config: ServerConfig
  /** The store; the caller opens it and closes it after `close()`. */
  readonly storage: StorageAdapter
  readonly logger: Logger
  /** Who may open which document; authentication is off (everyone writes) when omitted. */
  readonly authenticate?: Authenticate
}

/** How often idle y-websocket connections get a keepalive, well inside their 30 s watchdog. */
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
  private readonly sessions = new Set<YWebsocketSession>()
  private readonly nameRules: DocumentNameRules
  private readonly timers: NodeJS.Timeout[] = []
  private readonly authenticate: Authenticate
  private stopping = false
  private closed: Promise<void> | null = null

  constructor(private readonly options: TandemServerOptions) {
    const { config, logger } = options
    this.authenticate = options.authenticate ?? allowEveryone
    if (options.authenticate === undefined) logger.warn('authentication is off: every client may read and write every document')
    this.nameRules = { maxLength: config.limits.maxDocumentNameLength, pattern: DEFAULT_DOCUMENT_NAME_PATTERN }
    this.registry = new RoomRegistry({
      storage: options.storage,
      logger,
      roomIdleMs: config.roomIdleMs,
      compactAfterUpdates: config.compactAfterUpdates,
      awarenessTimeoutMs: config.awarenessTimeoutMs,
    })
    const app = createHttpApp({
      ready: () => !this.stopping && this.registry.healthy,
      stats: () => ({ connections: this.connections.size, documents: this.registry.size }),
    })
    this.http = createServer(app)
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.limits.maxMessageBytes,
      // Compression costs CPU on every frame for small CRDT deltas; clients do not need it.
      perMessageDeflate: false,
      clientTracking: false,
    })
    this.http.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head))
    this.timers.push(
      setInterval(() => {
        for (const connection of this.connections) connection.heartbeat()
      }, config.heartbeatMs),
      setInterval(() => {
        const idleSince = Date.now() - KEEPALIVE_IDLE_MS
        for (const session of this.sessions) session.keepalive(idleSince)
      }, KEEPALIVE_SWEEP_MS),
    )
    for (const timer of this.timers) timer.unref()
  }

  get connectionCount(): number {
    return this.connections.size
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
    socket.on('error', () => socket.destroy())
    this.accept(request, socket, head).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'upgrade failed')
      refuseUpgrade(socket, new TandemError('INTERNAL_ERROR'))
    })
  }

  private async accept(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const logger = this.options.logger
    if (this.stopping) {
      refuseUpgrade(socket, new TandemError('SERVER_SHUTDOWN'))
      return
    }
    let target
    try {
      target = routeUpgrade(request, this.options.config.multiplexPath, this.nameRules)
    } catch (error) {
      const refusal = error instanceof TandemError ? error : new TandemError('BAD_DOCUMENT_NAME')
      logger.info({ code: refusal.code, status: refusal.httpStatus, reason: refusal.message, ip: request.socket.remoteAddress }, 'upgrade refused')
      refuseUpgrade(socket, refusal)
      return
    }
    if (target.dialect === 'multiplexed') {
      logger.info({ ip: request.socket.remoteAddress }, 'upgrade refused: multiplexed dialect not enabled')
      refuseUpgrade(socket, new TandemError('BAD_DOCUMENT_NAME', 'no document name in the path'))
      return
    }
    const document = target.document
    let access: Access
    try {
      const token = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token')
      access = (await this.authenticate({ documentName: document, token, request })).access
    } catch (error) {
      const refusal = error instanceof TandemError ? error : new TandemError('UNAUTHORIZED')
      logger.info({ code: refusal.code, status: refusal.httpStatus, doc: document, ip: request.socket.remoteAddress }, 'upgrade refused')
      refuseUpgrade(socket, refusal)
      return
    }
    if (socket.destroyed) return
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const connection = new Connection(ws, request.socket.remoteAddress ?? '', logger)
      this.connections.add(connection)
      const session = new YWebsocketSession(connection, document, this.registry, this.options.config.limits, { readOnly: access === 'read' })
      this.sessions.add(session)
      ws.on('close', (code) => {
        this.connections.delete(connection)
        this.sessions.delete(session)
        connection.logger.debug({ code, doc: document }, 'connection closed')
      })
      connection.logger.debug({ doc: document, ip: connection.ip }, 'connection opened')
    })
  }
}
