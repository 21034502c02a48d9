import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import * as Y from 'yjs'
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import { multiplexed } from '@tandem/protocol'
import type { StatelessContext } from '@tandem/server'
import { tokenTable } from '../support/tandem-hooks.js'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { eventually, nextEvent } from '../support/wait.js'

/**
 * The real `@hocuspocus/provider` 4.x from npm, unchanged, against Tandem's multiplexed endpoint.
 */
describe('@hocuspocus/provider against Tandem', () => {
  let tandem: RunningTandem | undefined
  const cleanups: Array<() => void | Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    await tandem?.close()
    tandem = undefined
  })

  const socketTo = (url: string): HocuspocusProviderWebsocket => {
    const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket, delay: 100, minDelay: 100, maxDelay: 500 })
    cleanups.push(() => {
      // Destroying while the socket connects makes `ws` emit an 'error' the provider no longer
      // listens to, which would crash the test process (a provider quirk in Node, not ours).
      ;(socket.webSocket as unknown as WebSocket | null)?.on('error', () => {})
      socket.destroy()
    })
    return socket
  }

  const providerOn = (socket: HocuspocusProviderWebsocket, name: string, token: string | null = null) => {
    const document = new Y.Doc()
    const provider = new HocuspocusProvider({ websocketProvider: socket, name, document, token })
    provider.attach()
    cleanups.push(() => {
      provider.destroy()
      document.destroy()
    })
    return { provider, document, text: document.getText('text') }
  }

  /** The provider's emitter has no `once`; this gives `nextEvent` one. */
  const events = (emitter: { on(event: string, fn: (...args: never[]) => void): unknown; off(event: string, fn: (...args: never[]) => void): unknown }) => ({
    once(event: string, listener: (...args: never[]) => void) {
      const wrapper = (...args: never[]) => {
        emitter.off(event, wrapper)
        listener(...args)
      }
      emitter.on(event, wrapper)
    },
    off: (event: string, listener: (...args: never[]) => void) => emitter.off(event, listener),
  })

  const synced = async (provider: HocuspocusProvider) => {
    if (!provider.synced) await nextEvent(events(provider), 'synced')
  }

  it('syncs two providers, and every update is acknowledged (unsyncedChanges back to 0)', async () => {
    tandem = await startTandem({ storage: 'sqlite' })
    const a = providerOn(socketTo(tandem.url), 'notes')
    const b = providerOn(socketTo(tandem.url), 'notes')
    await Promise.all([synced(a.provider), synced(b.provider)])
    a.text.insert(0, 'hello')
    b.text.insert(0, '> ')
    await eventually(() => a.text.toString() === b.text.toString() && a.text.length === 7, 'both copies converge')
    await eventually(() => a.provider.unsyncedChanges === 0 && b.provider.unsyncedChanges === 0, 'every change acknowledged')
    expect(a.provider.hasUnsyncedChanges).toBe(false)
    // Acknowledged means stored: the store has it.
    const stored = await tandem.storage.load('notes')
    const copy = new Y.Doc()
    if (stored.snapshot !== null) Y.applyUpdate(copy, stored.snapshot)
    for (const update of stored.updates) Y.applyUpdate(copy, update)
    expect(copy.getText('text').toString()).toBe(a.text.toString())
  })

  it('relays awareness between providers', async () => {
    tandem = await startTandem()
    const a = providerOn(socketTo(tandem.url), 'presence')
    const b = providerOn(socketTo(tandem.url), 'presence')
    await Promise.all([synced(a.provider), synced(b.provider)])
    a.provider.setAwarenessField('user', { name: 'Ada' })
    await eventually(() => (b.provider.awareness?.getStates().get(a.document.clientID) as { user?: { name: string } } | undefined)?.user?.name === 'Ada', 'b sees Ada')
  })

  it('authenticates with the token of the Auth message, and refuses a bad one', async () => {
    tandem = await startTandem({ authenticate: tokenTable({ good: { documents: ['doc'], access: 'write' } }) })
    const good = providerOn(socketTo(tandem.url), 'doc', 'good')
    const [authenticated] = await nextEvent<[{ scope: string }]>(events(good.provider), 'authenticated')
    expect(authenticated.scope).toBe('read-write')
    await synced(good.provider)

    const bad = providerOn(socketTo(tandem.url), 'doc', 'forged')
    const [failed] = await nextEvent<[{ reason: string }]>(events(bad.provider), 'authenticationFailed')
    expect(failed.reason).toBe('UNAUTHORIZED')
    expect(bad.provider.isAuthenticated).toBe(false)
    good.text.insert(0, 'secret')
    await eventually(() => good.provider.unsyncedChanges === 0, 'good provider acknowledged')
    expect(bad.text.toString()).toBe('')
  })

  it('gives a read-only token the readonly scope and applies none of its edits', async () => {
    tandem = await startTandem({
      authenticate: tokenTable({ writer: { documents: ['doc'], access: 'write' }, reader: { documents: ['doc'], access: 'read' } }),
    })
    const writer = providerOn(socketTo(tandem.url), 'doc', 'writer')
    const reader = providerOn(socketTo(tandem.url), 'doc', 'reader')
    await Promise.all([synced(writer.provider), synced(reader.provider)])
    expect(reader.provider.authorizedScope).toBe('readonly')
    expect(writer.provider.authorizedScope).toBe('read-write')
    // The reader's handshake is acknowledged (its step 2 brought nothing new).
    await eventually(() => reader.provider.unsyncedChanges === 0, 'reader handshake acknowledged')

    writer.text.insert(0, 'from writer')
    await eventually(() => reader.text.toString() === 'from writer', 'reader receives the writer’s edit')
    reader.text.insert(0, 'from reader ')
    // The refusal is explicit (SyncStatus 0), so the reader's change stays counted as unsynced.
    await eventually(() => reader.provider.unsyncedChanges === 1, 'reader change counted, not acknowledged')
    writer.text.insert(writer.text.length, '!')
    await eventually(() => reader.text.toString() === 'from reader from writer!', 'reader still receives')
    await tandem.server.registry.settle()
    expect(writer.text.toString()).toBe('from writer!')
    expect(tandem.server.registry.get('doc')?.doc.getText('text').toString()).toBe('from writer!')
  })

  it('round-trips a stateless message through the onStateless hook, and the server can address a document', async () => {
    const seen: StatelessContext[] = []
    tandem = await startTandem({
      onStateless: (context) => {
        seen.push(context)
        context.reply(context.payload.toUpperCase())
      },
    })
    const a = providerOn(socketTo(tandem.url), 'chat')
    const b = providerOn(socketTo(tandem.url), 'chat')
    await Promise.all([synced(a.provider), synced(b.provider)])
    const reply = nextEvent<[{ payload: string }]>(events(a.provider), 'stateless')
    a.provider.sendStateless('ping?')
    expect((await reply)[0].payload).toBe('PING?')
    expect(seen.map((context) => [context.document, context.payload])).toEqual([['chat', 'ping?']])

    const both = Promise.all([nextEvent<[{ payload: string }]>(events(a.provider), 'stateless'), nextEvent<[{ payload: string }]>(events(b.provider), 'stateless')])
    expect(tandem.server.sendStateless('chat', 'announcement')).toBe(2)
    expect((await both).map(([event]) => event.payload)).toEqual(['announcement', 'announcement'])
  })

  it('carries two documents over one HocuspocusProviderWebsocket', async () => {
    tandem = await startTandem()
    const shared = socketTo(tandem.url)
    const a = providerOn(shared, 'doc-a')
    const b = providerOn(shared, 'doc-b')
    const otherA = providerOn(socketTo(tandem.url), 'doc-a')
    const otherB = providerOn(socketTo(tandem.url), 'doc-b')
    await Promise.all([a, b, otherA, otherB].map(({ provider }) => synced(provider)))
    a.text.insert(0, 'A')
    b.text.insert(0, 'B')
    await eventually(() => otherA.text.toString() === 'A', 'doc-a reaches the other socket')
    otherA.text.insert(1, 'a')
    await eventually(() => otherA.text.toString() === 'Aa' && a.text.toString() === 'Aa', 'doc-a converges')
    await eventually(() => otherB.text.toString() === 'B', 'doc-b converges')
    expect(a.text.toString()).toBe('Aa')
    expect(b.text.toString()).toBe('B')
    await eventually(() => a.provider.unsyncedChanges === 0 && b.provider.unsyncedChanges === 0, 'both acknowledged')
    expect(tandem.server.connectionCount).toBe(3)
  })

  it('serves two providers of one document on one socket with sessionAwareness', async () => {
    tandem = await startTandem()
    const socket = socketTo(tandem.url)
    const make = () => {
      const document = new Y.Doc()
      const provider = new HocuspocusProvider({ websocketProvider: socket, name: 'same', document, sessionAwareness: true })
      provider.attach()
      cleanups.push(() => {
        provider.destroy()
        document.destroy()
      })
      return { provider, text: document.getText('text') }
    }
    const first = make()
    const second = make()
    await Promise.all([synced(first.provider), synced(second.provider)])
    first.text.insert(0, 'one socket, two sessions')
    await eventually(() => second.text.toString() === 'one socket, two sessions', 'the second session receives')
    await eventually(() => first.provider.unsyncedChanges === 0, 'acknowledged to the right session')
    expect(tandem.server.connectionCount).toBe(1)
  })

  it('denies one document of a socket while the other keeps working', async () => {
    tandem = await startTandem({ authenticate: tokenTable({ alice: { documents: ['open'], access: 'write' } }) })
    const shared = socketTo(tandem.url)
    const open = providerOn(shared, 'open', 'alice')
    const closed = providerOn(shared, 'closed', 'alice')
    const [failed] = await nextEvent<[{ reason: string }]>(events(closed.provider), 'authenticationFailed')
    expect(failed.reason).toBe('FORBIDDEN')
    await synced(open.provider)
    const peer = providerOn(socketTo(tandem.url), 'open', 'alice')
    await synced(peer.provider)
    closed.text.insert(0, 'nobody hears this')
    open.text.insert(0, 'still works')
    await eventually(() => peer.text.toString() === 'still works', 'peer receives edits of the open document')
    peer.text.insert(0, '> ')
    await eventually(() => open.text.toString() === '> still works', 'the shared socket receives')
    expect(shared.status).toBe('connected')
    expect(tandem.server.registry.get('closed')).toBeUndefined()
  })

  it('every frame the provider sends decodes and re-encodes byte for byte', async () => {
    // A bare WebSocket server that records frames and answers like Tandem would, enough for the
    // provider to send every kind of message it has.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())))
    await nextEvent(wss, 'listening')
    const frames: Uint8Array[] = []
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => {
        const bytes = new Uint8Array(data)
        frames.push(bytes)
        const frame = multiplexed.decodeFrame(bytes)
        if (frame.type !== 'document') return
        const reply = (message: multiplexed.DocumentMessage) => ws.send(multiplexed.encodeDocumentFrame(frame.address, message))
        if (frame.message.type === 'auth-token') {
          reply({ type: 'auth-authenticated', scope: 'read-write' })
          reply({ type: 'sync-step1', stateVector: new Uint8Array([0]) })
          reply({ type: 'sync-step2', update: new Uint8Array([0, 0]) })
          reply({ type: 'query-awareness' })
          ws.send(multiplexed.encodeFrame({ type: 'ping' }))
        }
      })
    })
    const port = (wss.address() as { port: number }).port
    const socket = socketTo(`ws://127.0.0.1:${port}`)
    const { provider, text } = providerOn(socket, 'bytes', 'tk')
    await synced(provider)
    provider.setAwarenessField('user', { name: 'Grace' })
    text.insert(0, 'x')
    provider.sendStateless('{"hello":1}')
    provider.detach()
    const kinds = (): string[] =>
      frames.map((bytes) => {
        const frame = multiplexed.decodeFrame(bytes)
        return frame.type === 'document' ? frame.message.type : frame.type
      })
    await eventually(() => kinds().includes('close'), 'the close message arrives')
    for (const bytes of frames) expect(multiplexed.encodeFrame(multiplexed.decodeFrame(bytes))).toEqual(bytes)
    for (const kind of ['auth-token', 'sync-step1', 'sync-step2', 'awareness', 'sync-update', 'stateless', 'close', 'pong']) {
      expect(kinds()).toContain(kind)
    }
    const auth = multiplexed.decodeFrame(frames[0] as Uint8Array)
    expect(auth).toMatchObject({ type: 'document', address: 'bytes', message: { type: 'auth-token', token: 'tk' } })
  })
})

describe('multiplexed keepalive', () => {
  let tandem: RunningTandem | undefined
  afterEach(async () => {
    await tandem?.close()
    tandem = undefined
  })

  it('pings a quiet socket inside the provider’s 30 s watchdog, and takes the pong', async () => {
    tandem = await startTandem()
    const ws = new WebSocket(tandem.url)
    ws.binaryType = 'arraybuffer'
    await nextEvent(ws, 'open')
    ws.send(multiplexed.encodeDocumentFrame('quiet', { type: 'auth-token', token: '', version: null }))
    ws.send(multiplexed.encodeDocumentFrame('quiet', { type: 'sync-step1', stateVector: new Uint8Array([0]) }))
    let lastMessageAt = Date.now()
    let longestSilence = 0
    const ping = new Promise<void>((resolve) => {
      ws.on('message', (data: ArrayBuffer) => {
        const now = Date.now()
        longestSilence = Math.max(longestSilence, now - lastMessageAt)
        lastMessageAt = now
        const frame = multiplexed.decodeFrame(new Uint8Array(data))
        if (frame.type === 'ping') {
          ws.send(multiplexed.encodeFrame({ type: 'pong' }))
          resolve()
        }
      })
    })
    await Promise.race([ping, new Promise((_, reject) => setTimeout(() => reject(new Error('no ping within 25 s')), 25_000))])
    // The provider closes after 30 s without a message; the ping came well before.
    expect(longestSilence).toBeLessThan(30_000)
    expect(ws.readyState).toBe(WebSocket.OPEN)
    ws.close()
  })
})
