import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { nextEvent } from './wait.js'

export interface YClient {
  readonly doc: Y.Doc
  readonly provider: WebsocketProvider
  readonly text: Y.Text
  synced(timeoutMs?: number): Promise<void>
  destroy(): void
}

/**
 * A real `WebsocketProvider` from npm, as an app would use it in Node. BroadcastChannel is off so
 * every edit crosses the server; destroy() also destroys the awareness, whose timer would
 * otherwise keep the process alive.
 */
export const yClient = (url: string, room: string, options: { connect?: boolean; params?: Record<string, string> } = {}): YClient => {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    connect: options.connect ?? true,
    params: options.params ?? {},
    maxBackoffTime: 500,
  })
  return {
    doc,
    provider,
    text: doc.getText('text'),
    async synced(timeoutMs = 10_000) {
      if (provider.synced) return
      await nextEvent(provider, 'sync', timeoutMs)
    },
    destroy() {
      provider.awareness.destroy()
      provider.destroy()
      doc.destroy()
    },
  }
}
