import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { TandemProvider } from './tandem-provider.js'
import type { WebSocketConstructor, WebSocketLike } from './tandem-socket.js'

/** A WebSocket that never opens: enough for what the provider does offline. */
class NeverOpens implements WebSocketLike {
  static created = 0
  binaryType = 'blob'
  readyState = 0
  onopen = null
  onmessage = null
  onclose = null
  onerror = null
  constructor(readonly url: string) {
    NeverOpens.created++
  }
  send(): void {}
  close(): void {
    this.readyState = 3
  }
}

describe('TandemProvider offline', () => {
  const globals = globalThis as { window?: unknown }
  afterEach(() => {
    delete globals.window
  })

  it('withdraws the local presence on pagehide', () => {
    const window = new EventTarget()
    globals.window = window
    const doc = new Y.Doc()
    const provider = new TandemProvider('ws://127.0.0.1:1', 'doc', doc, { WebSocketPolyfill: NeverOpens as unknown as WebSocketConstructor, connect: false })
    provider.awareness.setLocalStateField('user', { name: 'Ada' })
    window.dispatchEvent(new Event('pagehide'))
    expect(provider.awareness.getLocalState()).toBeNull()
    provider.destroy()
  })

  it('counts edits made before any connection as one unsaved change and keeps the flags y-websocket has', () => {
    const doc = new Y.Doc()
    const provider = new TandemProvider('ws://127.0.0.1:1', 'doc', doc, { WebSocketPolyfill: NeverOpens as unknown as WebSocketConstructor })
    const unsaved: number[] = []
    provider.on('unsaved', (count) => unsaved.push(count))
    expect(provider.status).toBe('connecting')
    expect(provider.roomname).toBe('doc')
    expect(provider.saved).toBe(true)
    doc.getText('t').insert(0, 'a')
    doc.getText('t').insert(1, 'b')
    expect(provider.unsavedChanges).toBe(1)
    expect(unsaved).toEqual([1])
    expect(provider.synced).toBe(false)
    provider.destroy()
    expect(provider.status).toBe('disconnected')
    expect(provider.socket.shouldConnect).toBe(false)
  })
})
