import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import WebSocket, { WebSocketServer, type RawData } from 'ws'
import { Connection, type ConnectionPolicy, type Session } from './connection.js'
import { wsFrame } from './ws-frame.js'

/** A session that records what its connection hands it (and whether the connection was still open). */
class RecordingSession implements Session {
  readonly heard: string[] = []
  constructor(private readonly connection: Connection) {
    connection.attach(this)
  }
  receive(data: RawData): void {
    this.heard.push(this.connection.open ? String(data) : `${String(data)} (closed)`)
  }
  socketClosed(): void {
    this.heard.push('socket closed')
  }
  keepalive(): void {}
}

describe('Connection', () => {
  const cleanups: Array<() => void> = []
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup()
  })

  /** A ws server whose sockets become Connections with `policy`, and a way to open client sockets to it. */
  const serve = async (policy: ConnectionPolicy) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', clientTracking: false })
    cleanups.push(() => wss.close())
    await once(wss, 'listening')
    const accepted: Array<{ connection: Connection; session: RecordingSession }> = []
    wss.on('connection', (ws) => {
      const connection = new Connection(ws, '127.0.0.1', pino({ level: 'silent' }), policy)
      accepted.push({ connection, session: new RecordingSession(connection) })
    })
    const connect = async () => {
      const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
      cleanups.push(() => client.terminate())
      const [server] = await Promise.all([once(wss, 'connection'), once(client, 'open')])
      const { connection, session } = accepted.find((entry) => entry.connection.socket === server[0])!
      return { client, connection, session }
    }
    return { connect }
  }

  it('shares one listener per event between all its sockets (no closures per idle connection)', async () => {
    const { connect } = await serve({})
    const [a, b] = [await connect(), await connect()]
    for (const event of ['message', 'close', 'pong', 'error']) {
      expect(a.connection.socket.listeners(event)).toHaveLength(1)
      expect(a.connection.socket.listeners(event)[0]).toBe(b.connection.socket.listeners(event)[0])
    }
  })

  it('hands messages to its session in order, and the close to the session, then to the policy', async () => {
    const forgotten: string[][] = []
    const { connect } = await serve({ onClosed: (connection, code) => forgotten.push([...session.heard, `${connection.id} ${code}`]) })
    const { client, connection, session } = await connect()
    const socketClosed = once(connection.socket, 'close')
    client.send('one')
    client.send('two')
    client.close(4000)
    await socketClosed
    expect(forgotten).toEqual([['one', 'two', 'socket closed', `${connection.id} 4000`]])
  })

  /**
   * As server.ts does: upgrade by hand, so the Connection gets the TCP socket under the WebSocket
   * (its transport); one client connected to it.
   */
  const upgraded = async () => {
    const http = createServer()
    const wss = new WebSocketServer({ noServer: true })
    cleanups.push(() => http.close())
    let accepted: { connection: Connection; transport: Socket } | null = null
    http.on('upgrade', (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => {
        accepted = { connection: new Connection(ws, '127.0.0.1', pino({ level: 'silent' }), {}, socket), transport: socket as Socket }
      })
    })
    http.listen(0, '127.0.0.1')
    await once(http, 'listening')
    const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`)
    cleanups.push(() => client.terminate())
    await once(client, 'open')
    return { client, ...accepted! }
  }

  it('hands the frames sent in one task to the kernel in two writes, in order: the first at once, the rest together', async () => {
    const { client, connection, transport } = await upgraded()
    const calls: string[] = []
    const writev = transport._writev!.bind(transport)
    const write = transport._write.bind(transport)
    transport._writev = (chunks, callback) => (calls.push(`writev ${chunks.length}`), writev(chunks, callback))
    transport._write = (chunk, encoding, callback) => (calls.push('write'), write(chunk, encoding, callback))

    const received: string[] = []
    const all = new Promise<void>((resolve) => client.on('message', (data) => received.push(String(data)) === 4 && resolve()))
    for (const text of ['one', 'two', 'three']) connection.send(Buffer.from(text))
    // A frame made beforehand (a broadcast's, shared by its recipients) is written as it is, in order.
    connection.send(Buffer.from('four'), wsFrame(Buffer.from('four')))
    // The first frame (header and payload) is written at once; the next three wait for the tick's end.
    expect(calls).toEqual(['writev 2'])
    await all
    expect(calls).toEqual(['writev 2', 'writev 5'])
    expect(received).toEqual(['one', 'two', 'three', 'four'])
    expect(transport.writableCorked).toBe(0)
    // A later task starts afresh: its first frame goes out at once again.
    await new Promise((resolve) => setImmediate(resolve))
    connection.send(Buffer.from('five'))
    expect(calls).toEqual(['writev 2', 'writev 5', 'writev 2'])
  })

  it('sends a message repeated as that many messages: in one write with a transport, through ws without', async () => {
    const { client, connection, transport } = await upgraded()
    const calls: string[] = []
    const write = transport._write.bind(transport)
    transport._write = (chunk, encoding, callback) => (calls.push(`write ${(chunk as Buffer).byteLength}`), write(chunk, encoding, callback))
    const received: string[] = []
    const five = new Promise<void>((resolve) => client.on('message', (data) => received.push(String(data)) === 6 && resolve()))
    const ack = Buffer.from('ack')
    connection.sendRepeated(ack, wsFrame(ack), 5)
    connection.sendRepeated(ack, wsFrame(ack), 0)
    await new Promise((resolve) => setImmediate(resolve))
    connection.sendRepeated(Buffer.from('one'), wsFrame(Buffer.from('one')), 1)
    await five
    expect(received).toEqual(['ack', 'ack', 'ack', 'ack', 'ack', 'one'])
    expect(calls).toEqual(['write 25', 'write 5'])

    // A Connection without the TCP socket (tests, embedders) sends each through ws.
    const { connect } = await serve({})
    const plain = await connect()
    const got: string[] = []
    const three = new Promise<void>((resolve) => plain.client.on('message', (data) => got.push(String(data)) === 3 && resolve()))
    plain.connection.sendRepeated(ack, wsFrame(ack), 3)
    await three
    expect(got).toEqual(['ack', 'ack', 'ack'])
  })

  it('closes a connection over its rate with 1013 (RATE_LIMITED) before its session looks at the message', async () => {
    const rates = { messagesPerSecond: 0.001, messageBurst: 2, bytesPerSecond: 1_000_000, bytesBurst: 1_000_000 }
    const { connect } = await serve({ rates })
    const { client, connection, session } = await connect()
    const closed = once(client, 'close')
    for (const text of ['one', 'two', 'three']) client.send(text)
    const [code, reason] = (await closed) as [number, Buffer]
    expect([code, String(reason)]).toEqual([1013, 'RATE_LIMITED'])
    expect(session.heard).toEqual(['one', 'two', 'three (closed)'])
  })
})
