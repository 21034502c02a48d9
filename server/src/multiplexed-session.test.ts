import { afterEach, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { multiplexed, TandemError, type DocumentMessage } from '@tandem/protocol'
import { MemoryStorage, type AppendEntry } from '@tandem/storage'
import { parseConfig } from './config.js'
import { TandemServer, type TandemServerOptions } from './server.js'

/** A memory store whose commits wait until the test lets them through. */
class GatedStorage extends MemoryStorage {
  gated = false
  private readonly waiting: Array<() => void> = []
  override async append(entries: readonly AppendEntry[]): Promise<void> {
    if (this.gated) await new Promise<void>((resolve) => this.waiting.push(resolve))
    return super.append(entries)
  }
  release(): void {
    this.gated = false
    for (const resolve of this.waiting.splice(0)) resolve()
  }
  get pending(): number {
    return this.waiting.length
  }
}

/** A raw multiplexed client: sends frames, records every decoded frame it receives. */
const rawClient = async (url: string) => {
  const ws = new WebSocket(url)
  ws.binaryType = 'arraybuffer'
  const received: multiplexed.MultiplexedFrame[] = []
  ws.on('message', (data: ArrayBuffer) => received.push(multiplexed.decodeFrame(new Uint8Array(data))))
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  return {
    ws,
    closed,
    send: (address: string, message: DocumentMessage) => ws.send(multiplexed.encodeDocumentFrame(address, message)),
    of: (address: string, type: DocumentMessage['type']) =>
      received.filter((frame) => frame.type === 'document' && frame.address === address && frame.message.type === type) as Array<
        Extract<multiplexed.MultiplexedFrame, { type: 'document' }>
      >,
  }
}

const until = async (condition: () => boolean, what: string) => {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const anUpdate = (text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

describe('MultiplexedSession', () => {
  const servers: TandemServer[] = []
  const sockets: WebSocket[] = []
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate()
    for (const server of servers.splice(0)) await server.close()
  })
  const start = async (options: Partial<TandemServerOptions> = {}) => {
    const storage = options.storage ?? new MemoryStorage()
    const server = new TandemServer({
      config: parseConfig({ host: '127.0.0.1', port: 0, roomIdleMs: 50 }),
      storage,
      logger: pino({ level: 'silent' }),
      authenticate: () => ({ access: 'write' }),
      ...options,
    })
    servers.push(server)
    const { port } = await server.listen()
    const client = async () => {
      const made = await rawClient(`ws://127.0.0.1:${port}`)
      sockets.push(made.ws)
      return made
    }
    return { server, client }
  }

  it('acknowledges an update only after its commit returns', async () => {
    const storage = new GatedStorage()
    const { client } = await start({ storage })
    const c = await client()
    c.send('doc', { type: 'auth-token', token: '', version: null })
    await until(() => c.of('doc', 'sync-step1').length === 1, 'joined')
    storage.gated = true
    c.send('doc', { type: 'sync-update', update: anUpdate('durable') })
    await until(() => storage.pending === 1, 'the commit started')
    // Give the server every chance to answer early.
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(c.of('doc', 'sync-status')).toEqual([])
    storage.release()
    await until(() => c.of('doc', 'sync-status').length === 1, 'the acknowledgement')
    expect(c.of('doc', 'sync-status')[0]!.message).toEqual({ type: 'sync-status', applied: true })
  })

  it('holds a document’s messages until its Auth message succeeds, and answers per document', async () => {
    const { client } = await start({
      authenticate: ({ documentName, token }) => {
        if (token !== 'ok') throw new TandemError('UNAUTHORIZED')
        return { access: documentName === 'reader' ? 'read' : 'write' }
      },
    })
    const c = await client()
    // Sent before the Auth message: held, then answered after it.
    c.send('writer', { type: 'sync-step1', stateVector: new Uint8Array([0]) })
    c.send('writer', { type: 'auth-token', token: 'ok', version: '4.8.0' })
    c.send('reader', { type: 'auth-token', token: 'ok', version: '4.8.0' })
    c.send('denied', { type: 'auth-token', token: 'nope', version: '4.8.0' })
    c.send('bad//name', { type: 'auth-token', token: 'ok', version: '4.8.0' })
    await until(() => c.of('writer', 'sync-step2').length === 1, 'writer answered')
    await until(() => c.of('bad//name', 'auth-permission-denied').length === 1, 'bad name refused')
    expect(c.of('writer', 'auth-authenticated')[0]!.message).toEqual({ type: 'auth-authenticated', scope: 'read-write' })
    expect(c.of('reader', 'auth-authenticated')[0]!.message).toEqual({ type: 'auth-authenticated', scope: 'readonly' })
    expect(c.of('denied', 'auth-permission-denied')[0]!.message).toEqual({ type: 'auth-permission-denied', reason: 'UNAUTHORIZED' })
    expect(c.of('bad//name', 'auth-permission-denied')[0]!.message).toEqual({ type: 'auth-permission-denied', reason: 'BAD_DOCUMENT_NAME' })
    expect(c.ws.readyState).toBe(WebSocket.OPEN)
    // A denied document may try again with another token.
    c.send('denied', { type: 'auth-token', token: 'ok', version: '4.8.0' })
    await until(() => c.of('denied', 'auth-authenticated').length === 1, 'retry accepted')
  })

  it('answers a read-only update with SyncStatus(0) and applies nothing', async () => {
    const { server, client } = await start({ authenticate: () => ({ access: 'read' }) })
    const c = await client()
    c.send('doc', { type: 'auth-token', token: '', version: null })
    await until(() => c.of('doc', 'sync-step1').length === 1, 'joined')
    c.send('doc', { type: 'sync-step2', update: new Uint8Array([0, 0]) })
    c.send('doc', { type: 'sync-update', update: anUpdate('forbidden') })
    await until(() => c.of('doc', 'sync-status').length === 2, 'two answers')
    expect(c.of('doc', 'sync-status').map((frame) => frame.message)).toEqual([
      { type: 'sync-status', applied: true },
      { type: 'sync-status', applied: false },
    ])
    expect(server.registry.get('doc')?.doc.getText('t').toString()).toBe('')
  })

  it('closes one document for a broadcast-stateless from a client; Close leaves a document; the socket stays', async () => {
    const { server, client } = await start()
    const c = await client()
    c.send('a', { type: 'auth-token', token: '', version: null })
    c.send('b', { type: 'auth-token', token: '', version: null })
    await until(() => c.of('a', 'sync-step1').length === 1 && c.of('b', 'sync-step1').length === 1, 'joined both')
    c.send('a', { type: 'broadcast-stateless', payload: 'everyone!' })
    await until(() => c.of('a', 'close').length === 1, 'a closed')
    expect(c.of('a', 'close')[0]!.message).toEqual({ type: 'close', reason: 'UNKNOWN_MESSAGE_TYPE' })
    c.send('b', { type: 'close', reason: null })
    await until(() => server.registry.get('b')?.size === 0 || server.registry.get('b') === undefined, 'b left')
    expect(c.ws.readyState).toBe(WebSocket.OPEN)
    c.send('b', { type: 'auth-token', token: '', version: null })
    await until(() => c.of('b', 'sync-step1').length === 2, 'b rejoined')
  })

  it('closes a socket that sends too much before authenticating', async () => {
    const { client } = await start({ authenticate: () => new Promise(() => {}) })
    const c = await client()
    c.send('doc', { type: 'auth-token', token: '', version: null })
    for (let i = 0; i < 100; i++) c.send('doc', { type: 'query-awareness' })
    expect(await c.closed).toBe(new TandemError('RATE_LIMITED').closeCode)
  })

  it('answers a Ping with a Pong and refuses a malformed frame with 4400', async () => {
    const { client } = await start()
    const c = await client()
    const pong = new Promise<Uint8Array>((resolve) => c.ws.once('message', (data: ArrayBuffer) => resolve(new Uint8Array(data))))
    c.ws.send(new Uint8Array([9]))
    expect(await pong).toEqual(new Uint8Array([10]))
    c.ws.send(new Uint8Array([5, 1]))
    expect(await c.closed).toBe(4400)
  })
})
