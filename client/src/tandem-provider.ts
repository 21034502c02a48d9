import * as Y from 'yjs'
import { ObservableV2 } from 'lib0/observable'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import type { AuthScope, DocumentMessage } from '@tandem/protocol'
import type { BackoffOptions } from './backoff.js'
import { startLocalPersistence, type LocalPersistence } from './local-persistence.js'
import { SaveTracker } from './save-tracker.js'
import { TandemSocket, type ConnectionStatus, type SocketChannel, type TokenSource, type WebSocketConstructor } from './tandem-socket.js'

export interface TandemProviderOptions {
  /** Token for this document; the socket's token when omitted. Functions are asked on every connect. */
  readonly token?: TokenSource | undefined
  /** Connect at once (default true). */
  readonly connect?: boolean | undefined
  /** An awareness of your own; the provider creates (and later destroys) one when omitted. */
  readonly awareness?: Awareness | undefined
  /**
   * Keep the document in IndexedDB (browsers), so edits made offline survive a reload and are sent
   * on reconnect. `true` uses the document name as the database name. Ignored where there is no IndexedDB.
   */
  readonly indexedDb?: boolean | string | undefined
  /** For the socket this provider creates when given a URL rather than a `TandemSocket`. */
  readonly WebSocketPolyfill?: WebSocketConstructor | undefined
  readonly params?: Readonly<Record<string, string>> | undefined
  readonly backoff?: BackoffOptions | undefined
  readonly messageTimeoutMs?: number | undefined
}

export interface TandemProviderEvents {
  /** Shaped like y-websocket's: `{ status: 'connecting' | 'connected' | 'disconnected' }`. */
  status: (event: { status: ConnectionStatus }) => void
  /** y-websocket's pair: the first sync after each (re)connect, and when it is lost. */
  sync: (synced: boolean) => void
  synced: (synced: boolean) => void
  /** Every local change up to now is durably stored on the server. */
  saved: () => void
  /** A local change is waiting for the server's durable acknowledgement. */
  unsaved: (unsavedChanges: number) => void
  authenticated: (event: { scope: AuthScope }) => void
  authenticationFailed: (event: { reason: string }) => void
  stateless: (payload: string) => void
  /** The server closed this document (the socket and other documents stay up). */
  close: (event: { reason: string }) => void
  destroy: () => void
}

/** Sent as the provider version in the Auth message (Hocuspocus servers record it). */
const CLIENT_VERSION = 'tandem-client/0.1.0'

/**
 * A Yjs provider shaped like y-websocket's `WebsocketProvider` (so editor bindings take it as is),
 * speaking the multiplexed dialect over a `TandemSocket` that several providers may share.
 *
 * `unsavedChanges` counts local changes not yet acknowledged (`SaveTracker`); the server
 * acknowledges only after the commit to storage, so `saved` means on disk.
 */
export class TandemProvider extends ObservableV2<TandemProviderEvents> implements SocketChannel {
  readonly socket: TandemSocket
  readonly awareness: Awareness
  readonly address: string
  /** True while the server has granted read-only access to this document. */
  readOnly = false
  authenticated = false
  /** Whether this provider wants to be connected (y-websocket's flag). */
  shouldConnect = false
  status: ConnectionStatus = 'disconnected'
  private readonly ownsSocket: boolean
  private readonly ownsAwareness: boolean
  private readonly token: TokenSource | undefined
  private isSynced = false
  private readonly saves = new SaveTracker(
    (count) => this.emit('unsaved', [count]),
    () => this.emit('saved', []),
  )
  /** Bumped on every open and close, so an async token lookup from an old connection is ignored. */
  private generation = 0
  /** The Auth message of the current connection is sent: messages may follow. */
  private live = false
  private attached = false
  private destroyed = false
  private persistence: LocalPersistence | null = null

  constructor(
    socketOrUrl: TandemSocket | string,
    readonly documentName: string,
    readonly doc: Y.Doc,
    options: TandemProviderOptions = {},
  ) {
    super()
    this.address = documentName
    this.token = options.token
    this.ownsSocket = typeof socketOrUrl === 'string'
    this.socket =
      typeof socketOrUrl === 'string'
        ? new TandemSocket({
            url: socketOrUrl,
            connect: false,
            WebSocketPolyfill: options.WebSocketPolyfill,
            params: options.params,
            backoff: options.backoff,
            messageTimeoutMs: options.messageTimeoutMs,
          })
        : socketOrUrl
    this.ownsAwareness = options.awareness === undefined
    this.awareness = options.awareness ?? new Awareness(doc)
    doc.on('update', this.onDocumentUpdate)
    this.awareness.on('update', this.onAwarenessUpdate)
    if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
      window.addEventListener('pagehide', this.onPageHide)
    }
    if (options.indexedDb !== undefined && options.indexedDb !== false) {
      const name = typeof options.indexedDb === 'string' ? options.indexedDb : documentName
      void startLocalPersistence(name, doc).then((persistence) => {
        if (this.destroyed) persistence?.destroy()
        else this.persistence = persistence
      })
    }
    if (options.connect ?? true) this.connect()
  }

  /** y-websocket's name for the document. */
  get roomname(): string {
    return this.documentName
  }

  get synced(): boolean {
    return this.isSynced
  }

  set synced(state: boolean) {
    if (this.isSynced === state) return
    this.isSynced = state
    this.emit('synced', [state])
    this.emit('sync', [state])
  }

  get wsconnected(): boolean {
    return this.status === 'connected'
  }

  get wsconnecting(): boolean {
    return this.status === 'connecting'
  }

  /** Local changes not yet durably stored by the server. */
  get unsavedChanges(): number {
    return this.saves.unsavedChanges
  }

  get saved(): boolean {
    return this.unsavedChanges === 0
  }

  connect(): void {
    if (this.destroyed) return
    this.shouldConnect = true
    if (!this.attached) {
      this.attached = true
      this.socket.attach(this)
    }
    this.socket.connect()
  }

  /** Leaves the document (peers see our presence go) and, if the socket is ours, closes it. */
  disconnect(): void {
    this.shouldConnect = false
    if (this.attached) {
      if (this.live) {
        // Tell peers we left now rather than in 30 s; the local state is kept for the next connect.
        const clientId = this.doc.clientID
        if (this.awareness.getLocalState() !== null) {
          this.send({ type: 'awareness', update: encodeAwarenessUpdate(this.awareness, [clientId], new Map([[clientId, null]]) as unknown as Map<number, Record<string, unknown>>) })
        }
        this.send({ type: 'close', reason: null })
      }
      this.socket.detach(this)
      this.attached = false
      this.onClose()
      this.onStatus('disconnected')
    }
    if (this.ownsSocket) this.socket.disconnect()
  }

  override destroy(): void {
    if (this.destroyed) return
    // Removing the local state sends the removal (through onAwarenessUpdate) while still connected.
    removeAwarenessStates(this.awareness, [this.doc.clientID], 'destroy')
    this.disconnect()
    this.destroyed = true
    this.emit('destroy', [])
    this.doc.off('update', this.onDocumentUpdate)
    this.awareness.off('update', this.onAwarenessUpdate)
    // The awareness renews itself on a 15 s interval: left running it keeps Node alive.
    if (this.ownsAwareness) this.awareness.destroy()
    this.persistence?.destroy()
    this.persistence = null
    if (this.ownsSocket) this.socket.destroy()
    if (typeof window !== 'undefined' && typeof window.removeEventListener === 'function') {
      window.removeEventListener('pagehide', this.onPageHide)
    }
    super.destroy()
  }

  sendStateless(payload: string): boolean {
    return this.live && this.send({ type: 'stateless', payload })
  }

  // SocketChannel

  onOpen(): void {
    const generation = ++this.generation
    this.live = false
    void resolveToken(this.token ?? this.socket.token).then(
      (token) => {
        if (generation !== this.generation || !this.attached) return
        this.live = true
        this.send({ type: 'auth-token', token: token ?? '', version: CLIENT_VERSION })
        this.send({ type: 'sync-step1', stateVector: Y.encodeStateVector(this.doc) })
        if (this.awareness.getLocalState() !== null) {
          this.send({ type: 'awareness', update: encodeAwarenessUpdate(this.awareness, [this.doc.clientID]) })
        }
      },
      (error: unknown) => {
        if (generation !== this.generation) return
        this.emit('authenticationFailed', [{ reason: `token: ${error instanceof Error ? error.message : String(error)}` }])
      },
    )
  }

  onClose(): void {
    this.generation++
    this.live = false
    this.authenticated = false
    this.synced = false
    this.saves.connectionLost()
    const others = [...this.awareness.getStates().keys()].filter((client) => client !== this.doc.clientID)
    removeAwarenessStates(this.awareness, others, this)
  }

  onStatus(status: ConnectionStatus): void {
    if (this.status === status) return
    this.status = status
    this.emit('status', [{ status }])
  }

  onMessage(message: DocumentMessage): void {
    switch (message.type) {
      case 'auth-authenticated':
        this.authenticated = true
        this.readOnly = message.scope === 'readonly'
        this.emit('authenticated', [{ scope: message.scope }])
        return
      case 'auth-permission-denied':
        this.authenticated = false
        this.emit('authenticationFailed', [{ reason: message.reason }])
        return
      case 'auth-token-request':
        void resolveToken(this.token ?? this.socket.token).then((token) => {
          if (this.live) this.send({ type: 'auth-token', token: token ?? '', version: CLIENT_VERSION })
        })
        return
      case 'sync-reply':
        this.onMessage(message.sync)
        return
      case 'sync-step1': {
        const sent = this.send({ type: 'sync-step2', update: Y.encodeStateAsUpdate(this.doc, message.stateVector) })
        if (sent) this.saves.sentStep2()
        return
      }
      case 'sync-step2':
        Y.applyUpdate(this.doc, message.update, this)
        this.synced = true
        return
      case 'sync-update':
        Y.applyUpdate(this.doc, message.update, this)
        return
      case 'awareness':
        applyAwarenessUpdate(this.awareness, message.update, this)
        return
      case 'query-awareness':
        this.send({ type: 'awareness', update: encodeAwarenessUpdate(this.awareness, [...this.awareness.getStates().keys()]) })
        return
      case 'stateless':
        this.emit('stateless', [message.payload])
        return
      case 'sync-status':
        if (message.applied) this.saves.acknowledged()
        return
      case 'close':
        this.live = false
        this.authenticated = false
        this.synced = false
        this.emit('close', [{ reason: message.reason ?? '' }])
        return
      case 'auth-token':
      case 'broadcast-stateless':
        return
    }
  }

  private send(message: DocumentMessage): boolean {
    return this.attached && this.socket.send(this.address, message)
  }

  private readonly onDocumentUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return
    if (this.live && this.send({ type: 'sync-update', update })) this.saves.sentUpdate()
    else this.saves.changedOffline()
  }

  private readonly onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin === this || !this.live) return
    const changed = [...added, ...updated, ...removed]
    this.send({ type: 'awareness', update: encodeAwarenessUpdate(this.awareness, changed) })
  }

  private readonly onPageHide = (): void => {
    removeAwarenessStates(this.awareness, [this.doc.clientID], 'page hide')
  }
}

const resolveToken = async (source: TokenSource | undefined): Promise<string | null> =>
  typeof source === 'function' ? await source() : (source ?? null)
