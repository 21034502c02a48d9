import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { multiplexed } from '@tandem/protocol'
import { rawClient } from '../support/raw-client.js'
import { eventually } from '../support/wait.js'
import { broadcastsTo, isEmpty, startArena, type Arena } from './harness.js'

/**
 * Limits: pending bytes, protocol violations from a raw socket, connections per address, documents
 * per client. Frames over maxMessageBytes (1009), reserved bits (1002) and text frames (1003) are
 * covered by test/faults/malformed.test.ts and not repeated here.
 */
describe('adversarial: limits', () => {
  let arena: Arena | undefined
  const sockets: Array<Socket | WebSocket> = []
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket instanceof WebSocket ? socket.terminate() : socket.destroy()
    await arena?.close()
    arena = undefined
  })

  it('1,000 updates with clock gaps: closed 1013 (PENDING_LIMIT) at the per-document cap; nothing stored or sent', async () => {
    arena = await startArena({ config: { limits: { maxPendingBytes: 4096 } } })
    const source = new Y.Doc()
    source.clientID = 4242
    const updates: Uint8Array[] = []
    source.on('update', (update: Uint8Array) => updates.push(update))
    for (let i = 0; i <= 1_000; i++) source.getText('text').insert(0, `edit number ${i} `)
    const watcher = await arena.watcher('gaps/doc')
    const attacker = await rawClient(arena.url, 'gaps/doc')
    await attacker.synced()
    // The first edit never comes, so every later one waits for it.
    for (const update of updates.slice(1)) attacker.sendUpdate(update)
    expect((await attacker.whenClosed()).code).toBe(1013)
    attacker.close()
    await arena.roundTrip()
    expect(broadcastsTo(watcher)).toEqual([])
    expect(isEmpty(await arena.stored('gaps/doc'))).toBe(true)
    // What waits stays under the cap, so a joiner's full-state answer stays small too.
    const joiner = await rawClient(arena.url, 'gaps/doc')
    sockets.push(joiner.socket)
    await joiner.synced()
    const answer = joiner.received.find((m) => m.type === 'sync-step2') as { update: Uint8Array }
    expect(answer.update.byteLength).toBeLessThan(4096 + 1024)
    expect((await arena.rejections()).PENDING_LIMIT).toBe(1)
  })

  /** Opens a raw TCP socket and performs the WebSocket handshake by hand. */
  const handUpgrade = async (port: number, path: string): Promise<{ socket: Socket; closeCode(): Promise<number> }> => {
    const socket = connect(port, '127.0.0.1')
    sockets.push(socket)
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => {})
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
    await eventually(() => Buffer.concat(chunks).includes('\r\n\r\n'), 'the 101 response')
    expect(Buffer.concat(chunks).toString().startsWith('HTTP/1.1 101')).toBe(true)
    const headerEnd = Buffer.concat(chunks).indexOf('\r\n\r\n') + 4
    return {
      socket,
      async closeCode() {
        // The server's close frame: 0x88, length, then the code (big-endian). It may follow
        // other frames (the sync step 1 greeting), so scan for it.
        return eventually(() => {
          const data = Buffer.concat(chunks).subarray(headerEnd)
          let offset = 0
          while (offset + 2 <= data.length) {
            const opcode = data[offset]! & 0x0f
            let length = data[offset + 1]! & 0x7f
            let start = offset + 2
            if (length === 126) {
              length = data.readUInt16BE(offset + 2)
              start += 2
            }
            if (opcode === 0x8 && start + 2 <= data.length) return data.readUInt16BE(start)
            offset = start + length
          }
          return undefined
        }, 'a close frame')
      },
    }
  }

  /** A client frame: FIN + opcode, masked unless told otherwise. */
  const frame = (opcode: number, payload: Buffer, masked = true): Buffer => {
    const mask = randomBytes(4)
    const body = masked ? Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!)) : payload
    return Buffer.concat([Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | payload.length]), masked ? mask : Buffer.alloc(0), body])
  }

  it('an unmasked frame from a raw socket: closed 1002; an invalid UTF-8 text frame: closed 1007; the server lives on', async () => {
    arena = await startArena()
    const port = arena.tandem.port
    const unmasked = await handUpgrade(port, '/raw/doc')
    unmasked.socket.write(frame(0x2, Buffer.from([0, 0, 1, 0]), false))
    expect(await unmasked.closeCode()).toBe(1002)
    const badText = await handUpgrade(port, '/raw/doc')
    badText.socket.write(frame(0x1, Buffer.from([0xc3, 0x28, 0xff, 0xfe])))
    expect(await badText.closeCode()).toBe(1007)
    await arena.roundTrip()
    expect(isEmpty(await arena.stored('raw/doc'))).toBe(true)
  })

  it('5,000 connections from one address: refused beyond the per-address limit with 429, before the upgrade', async () => {
    arena = await startArena({ config: { limits: { maxConnectionsPerIp: 50 } } })
    const url = `${arena.url}/crowd/doc`
    // The probe pair holds 2 of the 50.
    let opened = 0
    let refused = 0
    const statuses = new Set<number>()
    const attempt = () =>
      new Promise<void>((resolve) => {
        const socket = new WebSocket(url)
        sockets.push(socket)
        socket.on('open', () => {
          opened++
          resolve()
        })
        socket.on('unexpected-response', (_request, response) => {
          statuses.add(response.statusCode ?? 0)
          refused++
          response.resume()
          socket.terminate()
          resolve()
        })
        socket.on('error', () => resolve())
      })
    for (let batch = 0; batch < 5_000; batch += 250) await Promise.all(Array.from({ length: 250 }, attempt))
    expect(opened).toBe(48)
    expect(refused).toBe(5_000 - 48)
    expect([...statuses]).toEqual([429])
    expect((await arena.rejections()).TOO_MANY_CONNECTIONS_FROM_ADDRESS).toBe(5_000 - 48)
    await arena.roundTrip()
    // Slots come back when connections close.
    for (const socket of sockets.splice(0)) (socket as WebSocket).terminate()
    await eventually(() => arena!.tandem.server.connectionCount === 2, 'the crowd to be gone')
    const again = new WebSocket(url)
    sockets.push(again)
    await new Promise((resolve, reject) => again.once('open', resolve).once('error', reject))
  })

  it('multiplexed: a socket that never authenticates is closed 4008 (PRE_AUTH_TIMEOUT); one flooding before auth 1013 (PRE_AUTH_LIMIT)', async () => {
    arena = await startArena({ auth: true, config: { limits: { preAuthTimeoutMs: 200, maxPreAuthMessages: 16 } } })
    const closeOf = (socket: WebSocket) => new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)))
    const idle = new WebSocket(`${arena.url}/`)
    sockets.push(idle)
    const idleClosed = closeOf(idle)
    await new Promise((resolve, reject) => idle.once('open', resolve).once('error', reject))
    // An update, but never a token.
    idle.send(multiplexed.encodeDocumentFrame('pre/doc', { type: 'sync-update', update: new Uint8Array([0, 0]) }))
    expect(await idleClosed).toBe(4008)
    const flood = new WebSocket(`${arena.url}/`)
    sockets.push(flood)
    const floodClosed = closeOf(flood)
    await new Promise((resolve, reject) => flood.once('open', resolve).once('error', reject))
    for (let i = 0; i < 100; i++) flood.send(multiplexed.encodeDocumentFrame('pre/doc', { type: 'query-awareness' }))
    expect(await floodClosed).toBe(1013)
    const rejections = await arena.rejections()
    expect(rejections.PRE_AUTH_TIMEOUT).toBe(1)
    expect(rejections.PRE_AUTH_LIMIT).toBe(1)
    expect(isEmpty(await arena.stored('pre/doc'))).toBe(true)
    await arena.roundTrip()
  })

  it('a connection over its message rate: closed 1013 (RATE_LIMITED); a document at its size cap refuses growth with 4413', async () => {
    arena = await startArena({ config: { limits: { messagesPerSecond: 5, messageBurst: 20, maxDocumentBytes: 8192 } } })
    const flooder = await rawClient(arena.url, 'rate/doc')
    sockets.push(flooder.socket)
    await flooder.synced()
    for (let i = 0; i < 100; i++) flooder.send({ type: 'query-awareness' })
    expect((await flooder.whenClosed()).code).toBe(1013)
    expect((await arena.rejections()).RATE_LIMITED).toBe(1)

    const writer = await rawClient(arena.url, 'big/doc')
    sockets.push(writer.socket)
    await writer.synced()
    const sendEdit = (text: string) => {
      const before = Y.encodeStateVector(writer.doc)
      writer.doc.getText('text').insert(0, text)
      writer.sendUpdate(Y.encodeStateAsUpdate(writer.doc, before))
    }
    sendEdit('z'.repeat(5000))
    // The write that crosses the cap is still taken (a soft cap); the next one is refused.
    sendEdit('z'.repeat(5000))
    // A barrier: once our step 1 is answered the updates were received; stored() applies and stores them.
    writer.send({ type: 'sync-step1', stateVector: new Uint8Array([0]) })
    await eventually(() => writer.received.filter((m) => m.type === 'sync-step2').length >= 2, 'the barrier answer')
    expect((await arena.stored('big/doc')).getText('text').length).toBe(10_000)
    sendEdit('more')
    expect((await writer.whenClosed()).code).toBe(4413)
    expect((await arena.stored('big/doc')).getText('text').length).toBe(10_000)
    await arena.roundTrip()
  })

  it('connections in total: refused with 503 beyond limits.maxConnections; GET /metrics counts it', async () => {
    arena = await startArena({ config: { limits: { maxConnections: 4 } } })
    // The probe pair holds 2.
    const held = [new WebSocket(`${arena.url}/total/a`), new WebSocket(`${arena.url}/total/b`)]
    sockets.push(...held)
    await Promise.all(held.map((socket) => new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))))
    const refused = new WebSocket(`${arena.url}/total/c`)
    refused.on('error', () => {})
    sockets.push(refused)
    const status = await new Promise<number>((resolve) => refused.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)))
    expect(status).toBe(503)
    const metrics = await fetch(`http://127.0.0.1:${arena.tandem.port}/metrics`)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('tandem_rejections_total{code="TOO_MANY_CONNECTIONS"} 1')
    await arena.roundTrip()
  })

  it('5,000 new document names from one multiplexed client: documents loaded stay under maxDocuments', async () => {
    // Per socket, 1,000 documents; in the whole server, 100 loaded.
    arena = await startArena({ config: { limits: { maxDocuments: 100, maxDocumentsPerConnection: 1_000 } } })
    const socket = new WebSocket(`${arena.url}/`)
    sockets.push(socket)
    const frames: multiplexed.MultiplexedFrame[] = []
    socket.on('message', (data: Buffer) => frames.push(multiplexed.decodeFrame(new Uint8Array(data))))
    let closeCode = 0
    socket.on('close', (code) => {
      closeCode = code
    })
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
    let peak = 0
    for (let i = 0; i < 5_000 && socket.readyState === WebSocket.OPEN; i++) {
      socket.send(multiplexed.encodeDocumentFrame(`many/${i}`, { type: 'auth-token', token: '', version: null }))
      if (i % 100 === 99) {
        await new Promise((resolve) => setImmediate(resolve))
        peak = Math.max(peak, arena.tandem.server.registry.size)
      }
    }
    await eventually(() => closeCode !== 0 || frames.length >= 5_000, 'every document answered or the socket closed', 20_000)
    peak = Math.max(peak, arena.tandem.server.registry.size)
    // The probe document is one of the loaded ones.
    expect(peak).toBeLessThanOrEqual(100)
    // Documents past the server's cap were closed one by one (TOO_MANY_DOCUMENTS), then the socket
    // itself at its own cap, 1013 (clients retry).
    const closes = frames.filter((f) => f.type === 'document' && f.message.type === 'close')
    expect(closes.length).toBeGreaterThan(0)
    expect(closeCode).toBe(1013)
    expect((await arena.rejections()).TOO_MANY_DOCUMENTS).toBeGreaterThan(1)
    await arena.roundTrip()
  })
})
