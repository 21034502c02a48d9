import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import { TandemProvider } from '../../src/index.js'

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected'
/** `tandem` (the multiplexed dialect at `/`, durable "saved") or `y-websocket` (`/<room>`, no acks). */
export type ProviderKind = 'tandem' | 'y-websocket'

export interface PaneState {
  status: ConnectionStatus
  synced: boolean
  /** Null when the provider cannot tell (y-websocket has no durable acknowledgements). */
  saved: boolean | null
}

/** What a pane needs from a provider: the shape `WebsocketProvider` and `TandemProvider` share. */
export interface PaneProvider {
  readonly awareness: Awareness
  connect(): void
  disconnect(): void
  destroy(): void
  watch(listener: (state: PaneState) => void): void
}

export interface PaneConnection {
  readonly kind: ProviderKind
  readonly provider: PaneProvider
  /** Whether everything in the document is also in its offline copy (read back from IndexedDB). */
  storedLocally(): Promise<boolean>
  destroy(): void
}

/** The WebSocket base URL of the server that served this page. */
export const serverUrl = (): string => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`

/**
 * One document instance's connection: its own socket (never a BroadcastChannel shortcut, so edits
 * really cross the server) and its own offline copy in IndexedDB, so edits made offline survive
 * a reload.
 */
export const connectPane = (options: { kind: ProviderKind; room: string; doc: Y.Doc; storageName: string; online: boolean }): PaneConnection => {
  const { doc, storageName } = options
  const storedLocally = async () => {
    const copy = new Y.Doc()
    const reader = new IndexeddbPersistence(storageName, copy)
    await reader.whenSynced
    const stored = Y.encodeStateVector(copy).join() === Y.encodeStateVector(doc).join()
    await reader.destroy()
    copy.destroy()
    return stored
  }

  if (options.kind === 'tandem') {
    const tandem = new TandemProvider(`${serverUrl()}/`, options.room, doc, { connect: options.online, indexedDb: storageName })
    const provider: PaneProvider = {
      awareness: tandem.awareness,
      connect: () => tandem.connect(),
      disconnect: () => tandem.disconnect(),
      destroy: () => tandem.destroy(),
      watch: (listener) => {
        const emit = () => listener({ status: tandem.status, synced: tandem.synced, saved: tandem.saved })
        tandem.on('status', emit)
        tandem.on('sync', emit)
        tandem.on('saved', emit)
        tandem.on('unsaved', emit)
        emit()
      },
    }
    return { kind: 'tandem', provider, storedLocally, destroy: () => provider.destroy() }
  }

  const persistence = new IndexeddbPersistence(storageName, doc)
  const ws = new WebsocketProvider(serverUrl(), options.room, doc, { connect: options.online, disableBc: true })
  const provider: PaneProvider = {
    awareness: ws.awareness,
    connect: () => ws.connect(),
    disconnect: () => ws.disconnect(),
    destroy: () => ws.destroy(),
    watch: (listener) => {
      let status: ConnectionStatus = ws.wsconnected ? 'connected' : ws.wsconnecting ? 'connecting' : 'disconnected'
      const emit = () => listener({ status, synced: ws.synced, saved: null })
      ws.on('status', (event: { status: ConnectionStatus }) => {
        status = event.status
        emit()
      })
      ws.on('sync', emit)
      emit()
    },
  }
  return {
    kind: 'y-websocket',
    provider,
    storedLocally,
    destroy: () => {
      provider.destroy()
      void persistence.destroy()
    },
  }
}
