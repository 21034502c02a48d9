import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { TandemSocket } from '@tandem/client'
import type { StatelessContext } from '@tandem/server'
import { tokenTable } from '../support/tandem-hooks.js'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { tandemClient, tandemSocket, type TandemClient } from '../support/tandem-client.js'
import { eventually, nextEvent } from '../support/wait.js'

describe('TandemProvider against Tandem', () => {
  let tandem: RunningTandem | undefined
  const clients: TandemClient[] = []
  const sockets: TandemSocket[] = []
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy()
    for (const socket of sockets.splice(0)) socket.destroy()
    await tandem?.close()
    tandem = undefined
  })
  const client = (...args: Parameters<typeof tandemClient>) => {
    const made = tandemClient(...args)
    clients.push(made)
    return made
  }
  const shared = (url: string) => {
    const socket = tandemSocket(url)
    sockets.push(socket)
    return socket
  }

  it('syncs, reports status like y-websocket, and says saved only once the store has the edit', async () => {
    tandem = await startTandem({ storage: 'sqlite' })
    const a = client(tandem.url, 'notes')
    const statuses: string[] = []
    a.provider.on('status', ({ status }) => statuses.push(status))
    const b = client(tandem.url, 'notes')
    await Promise.all([a.synced(), b.synced()])
    expect(a.provider.synced).toBe(true)
    expect(a.provider.wsconnected).toBe(true)
    await eventually(() => a.provider.saved, 'handshake acknowledged')

    const unsaved = nextEvent<[number]>(a.provider, 'unsaved')
    a.text.insert(0, 'hello')
    expect((await unsaved)[0]).toBe(1)
    await nextEvent(a.provider, 'saved')
    expect(a.provider.unsavedChanges).toBe(0)
    const stored = await tandem.storage.load('notes')
    const copy = new Y.Doc()
    if (stored.snapshot !== null) Y.applyUpdate(copy, stored.snapshot)
    for (const update of stored.updates) Y.applyUpdate(copy, update)
    expect(copy.getText('text').toString()).toBe('hello')
    await eventually(() => b.text.toString() === 'hello', 'b receives')

    a.provider.disconnect()
    expect(a.provider.wsconnected).toBe(false)
    expect(statuses).toContain('connected')
    expect(statuses.at(-1)).toBe('disconnected')
  })

  it('relays awareness, and peers lose our presence as soon as we disconnect', async () => {
    tandem = await startTandem()
    const a = client(tandem.url, 'presence')
    const b = client(tandem.url, 'presence')
    await Promise.all([a.synced(), b.synced()])
    a.provider.awareness.setLocalStateField('user', { name: 'Ada' })
    await eventually(() => (b.provider.awareness.getStates().get(a.doc.clientID) as { user?: { name: string } } | undefined)?.user?.name === 'Ada', 'b sees Ada')
    a.provider.disconnect()
    await eventually(() => !b.provider.awareness.getStates().has(a.doc.clientID), 'b no longer sees Ada')
    // The local state is kept, and comes back with the next connect.
    a.provider.connect()
    await eventually(() => b.provider.awareness.getStates().has(a.doc.clientID), 'b sees Ada again')
  })

  it('authenticates with a token function asked on every connect, and refuses a bad token', async () => {
    tandem = await startTandem({ authenticate: tokenTable({ good: { documents: ['doc'], access: 'write' } }) })
    let asked = 0
    const a = client(tandem.url, 'doc', {
      token: async () => {
        asked++
        return 'good'
      },
    })
    const [authenticated] = await nextEvent<[{ scope: string }]>(a.provider, 'authenticated')
    expect(authenticated.scope).toBe('read-write')
    await a.synced()
    expect(a.provider.readOnly).toBe(false)
    a.provider.disconnect()
    a.provider.connect()
    await a.synced()
    expect(asked).toBe(2)

    const bad = client(tandem.url, 'doc', { token: 'forged' })
    const [failed] = await nextEvent<[{ reason: string }]>(bad.provider, 'authenticationFailed')
    expect(failed.reason).toBe('UNAUTHORIZED')
    expect(bad.provider.authenticated).toBe(false)
    a.text.insert(0, 'secret')
    await nextEvent(a.provider, 'saved')
    expect(bad.text.toString()).toBe('')
  })

  it('falls back to the token of the upgrade URL when the Auth message carries none', async () => {
    tandem = await startTandem({ authenticate: tokenTable({ 'from-url': { documents: ['doc'], access: 'read' } }) })
    const socket = tandemSocket(tandem.url, { params: { token: 'from-url' } })
    sockets.push(socket)
    const c = client(socket, 'doc')
    const [authenticated] = await nextEvent<[{ scope: string }]>(c.provider, 'authenticated')
    expect(authenticated.scope).toBe('readonly')
    expect(c.provider.readOnly).toBe(true)
  })

  it('marks a read-only document, applies none of its edits, and never calls them saved', async () => {
    tandem = await startTandem({
      authenticate: tokenTable({ writer: { documents: ['doc'], access: 'write' }, reader: { documents: ['doc'], access: 'read' } }),
    })
    const writer = client(tandem.url, 'doc', { token: 'writer' })
    const reader = client(tandem.url, 'doc', { token: 'reader' })
    await Promise.all([writer.synced(), reader.synced()])
    expect(reader.provider.readOnly).toBe(true)
    expect(writer.provider.readOnly).toBe(false)
    await eventually(() => reader.provider.saved, 'reader handshake acknowledged')
    writer.text.insert(0, 'from writer')
    await eventually(() => reader.text.toString() === 'from writer', 'reader receives')
    reader.text.insert(0, 'from reader ')
    writer.text.insert(writer.text.length, '!')
    await eventually(() => reader.text.toString() === 'from reader from writer!', 'reader still receives')
    await tandem.server.registry.settle()
    expect(writer.text.toString()).toBe('from writer!')
    expect(tandem.server.registry.get('doc')?.doc.getText('text').toString()).toBe('from writer!')
    expect(reader.provider.saved).toBe(false)
  })

  it('round-trips stateless messages, and the server can send to one connection or all', async () => {
    const seen: StatelessContext[] = []
    tandem = await startTandem({
      onStateless: (context) => {
        seen.push(context)
        if (context.payload === 'shout') context.broadcast('SHOUT', { exceptSender: true })
        else context.reply(context.payload.toUpperCase())
      },
    })
    const a = client(tandem.url, 'chat')
    const b = client(tandem.url, 'chat')
    await Promise.all([a.synced(), b.synced()])
    const reply = nextEvent<[string]>(a.provider, 'stateless')
    expect(a.provider.sendStateless('hi')).toBe(true)
    expect((await reply)[0]).toBe('HI')
    const shout = nextEvent<[string]>(b.provider, 'stateless')
    a.provider.sendStateless('shout')
    expect((await shout)[0]).toBe('SHOUT')
    expect(seen.map((context) => context.payload)).toEqual(['hi', 'shout'])

    const bReply = nextEvent<[string]>(b.provider, 'stateless')
    b.provider.sendStateless('me')
    await bReply
    const bConnection = seen[2]!.connection.id
    expect(bConnection).not.toBe(seen[0]!.connection.id)

    const aHeard: string[] = []
    a.provider.on('stateless', (payload) => aHeard.push(payload))
    const toB = nextEvent<[string]>(b.provider, 'stateless')
    expect(tandem.server.sendStateless('chat', 'just b', { connectionId: bConnection })).toBe(1)
    expect((await toB)[0]).toBe('just b')
    const all = Promise.all([nextEvent<[string]>(a.provider, 'stateless'), nextEvent<[string]>(b.provider, 'stateless')])
    expect(tandem.server.sendStateless('chat', 'everyone')).toBe(2)
    expect((await all).map(([payload]) => payload)).toEqual(['everyone', 'everyone'])
    // Messages arrive in order on one socket: a got "everyone" and never "just b".
    expect(aHeard).toEqual(['everyone'])
  })

  it('carries two documents over one TandemSocket', async () => {
    tandem = await startTandem()
    const socket = shared(tandem.url)
    const a = client(socket, 'doc-a')
    const b = client(socket, 'doc-b')
    const otherA = client(tandem.url, 'doc-a')
    const otherB = client(tandem.url, 'doc-b')
    await Promise.all([a, b, otherA, otherB].map((c) => c.synced()))
    a.text.insert(0, 'A')
    b.text.insert(0, 'B')
    await eventually(() => otherA.text.toString() === 'A' && otherB.text.toString() === 'B', 'both documents reach the other sockets')
    otherB.text.insert(1, 'b')
    await eventually(() => b.text.toString() === 'Bb', 'the shared socket receives doc-b')
    expect(a.text.toString()).toBe('A')
    await eventually(() => a.provider.saved && b.provider.saved, 'both saved')
    expect(tandem.server.connectionCount).toBe(3)
  })

  it('denies one document of a socket while the other keeps working', async () => {
    tandem = await startTandem({ authenticate: tokenTable({ alice: { documents: ['open'], access: 'write' } }) })
    const socket = tandemSocket(tandem.url, { token: 'alice' })
    sockets.push(socket)
    const open = client(socket, 'open')
    const closed = client(socket, 'closed')
    const [failed] = await nextEvent<[{ reason: string }]>(closed.provider, 'authenticationFailed')
    expect(failed.reason).toBe('FORBIDDEN')
    await open.synced()
    const peer = client(tandem.url, 'open', { token: 'alice' })
    await peer.synced()
    closed.text.insert(0, 'nobody hears this')
    open.text.insert(0, 'still works')
    await eventually(() => peer.text.toString() === 'still works', 'peer receives')
    peer.text.insert(0, '> ')
    await eventually(() => open.text.toString() === '> still works', 'shared socket receives')
    expect(socket.connected).toBe(true)
    expect(closed.provider.saved).toBe(false)
  })
})
