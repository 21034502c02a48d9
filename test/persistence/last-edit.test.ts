import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { eventually } from '../support/wait.js'

/**
 * The last edit before a provider goes away (a page navigating, a component unmounting) is kept.
 * HocuspocusProvider.destroy() sends its Close for the document right behind the edit, so both
 * usually arrive in one socket read; the room used to drop the queued edit of a member that left
 * in the same tick (10 edits out of 10 lost before the fix in Room.leave).
 */
describe('the last edit before a provider is destroyed', () => {
  let tandem: RunningTandem | undefined
  const cleanups: Array<() => void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup()
    await tandem?.close()
    tandem = undefined
  })

  const hocuspocus = (url: string, name: string) => {
    const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket })
    const document = new Y.Doc()
    const provider = new HocuspocusProvider({ websocketProvider: socket, name, document, token: null })
    provider.attach()
    cleanups.push(() => {
      // The provider no longer listens once destroyed; a late socket error must not crash the run.
      ;(socket.webSocket as unknown as WebSocket | null)?.on('error', () => {})
      provider.destroy()
      socket.destroy()
      document.destroy()
    })
    return { socket, provider, document }
  }

  it('is kept when a HocuspocusProvider is destroyed right after it', async () => {
    tandem = await startTandem({ storage: 'sqlite' })
    const reader: YClient = yClient(tandem.url, 'last')
    cleanups.push(() => reader.destroy())
    await reader.synced()
    for (let i = 0; i < 10; i++) {
      const writer = hocuspocus(tandem.url, 'last')
      await eventually(() => writer.provider.synced, 'the writer to sync')
      writer.document.getMap('map').set(`edit${i}`, i)
      writer.provider.destroy()
    }
    await eventually(() => reader.doc.getMap('map').size === 10, 'every last edit to reach the reader')
    // And they are stored.
    await tandem.server.registry.settle()
    const stored = await tandem.storage.load('last')
    const doc = new Y.Doc()
    Y.transact(doc, () => {
      if (stored.snapshot !== null) Y.applyUpdate(doc, stored.snapshot)
      for (const update of stored.updates) Y.applyUpdate(doc, update)
    })
    expect(doc.getMap('map').size).toBe(10)
  })

  it('is kept when a WebsocketProvider is destroyed right after it', async () => {
    tandem = await startTandem()
    const reader: YClient = yClient(tandem.url, 'last-yws')
    cleanups.push(() => reader.destroy())
    await reader.synced()
    for (let i = 0; i < 10; i++) {
      const writer = yClient(tandem.url, 'last-yws')
      cleanups.push(() => writer.destroy())
      await writer.synced()
      writer.doc.getMap('map').set(`edit${i}`, i)
      writer.destroy()
    }
    await eventually(() => reader.doc.getMap('map').size === 10, 'every last edit to reach the reader')
  })
})
