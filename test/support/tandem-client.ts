import WebSocket from 'ws'
import * as Y from 'yjs'
import { TandemProvider, TandemSocket, type TandemProviderOptions, type TandemSocketOptions, type WebSocketConstructor } from '@tandem/client'
import { nextEvent } from './wait.js'

/** `ws` typed as the constructor the client expects. */
export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor

export interface TandemClient {
  readonly doc: Y.Doc
  readonly provider: TandemProvider
  readonly text: Y.Text
  synced(timeoutMs?: number): Promise<void>
  destroy(): void
}

/** A `TandemProvider` in Node on its own socket (or on `socket`); `destroy()` also destroys the doc. */
export const tandemClient = (
  urlOrSocket: string | TandemSocket,
  name: string,
  options: TandemProviderOptions = {},
): TandemClient => {
  const doc = new Y.Doc()
  const provider = new TandemProvider(urlOrSocket, name, doc, { WebSocketPolyfill: NodeWebSocket, backoff: { baseMs: 100, capMs: 1_000 }, ...options })
  return {
    doc,
    provider,
    text: doc.getText('text'),
    async synced(timeoutMs = 10_000) {
      if (!provider.synced) await nextEvent(provider, 'synced', timeoutMs)
    },
    destroy() {
      provider.destroy()
      doc.destroy()
    },
  }
}

/** A shared `TandemSocket` in Node. */
export const tandemSocket = (url: string, options: Partial<TandemSocketOptions> = {}): TandemSocket =>
  new TandemSocket({ url, WebSocketPolyfill: NodeWebSocket, backoff: { baseMs: 100, capMs: 1_000 }, ...options })
