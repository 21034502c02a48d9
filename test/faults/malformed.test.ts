import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCodes } from '@tandem/protocol'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { rawClient, type RawClient } from '../support/raw-client.js'
import { eventually } from '../support/wait.js'

const MAX_MESSAGE_BYTES = 2048

/**
 * Bad frames close only the connection that sent them, with the documented close code and exactly
 * one log line; the server stays up and the other clients on the same document keep syncing.
 */
describe('malformed and protocol-violating frames', () => {
  let tandem: RunningTandem | undefined
  const clients: YClient[] = []
  const raws: RawClient[] = []
  const sockets: Socket[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    for (const r of raws.splice(0)) r.close()
    for (const s of sockets.splice(0)) s.destroy()
    await tandem?.close()
    tandem = undefined
  })

  /** A server, and a provider pair on the document the bad clients will join. */
  const setUp = async () => {
    tandem = await startTandem({ config: { limits: { maxMessageBytes: MAX_MESSAGE_BYTES } } })
    const a = yClient(tandem.url, 'shared')
    const b = yClient(tandem.url, 'shared')
    clients.push(a, b)
    await Promise.all([a.synced(), b.synced()])
    return { tandem, a, b }
  }

  /** Runs one bad client and checks everything around it. */
  const expectOnlyItsOwnConnectionClosed = async (
    setup: Awaited<ReturnType<typeof setUp>>,
    label: string,
    badClient: () => Promise<number>,
    expected: { closeCode: number; logCode: string },
  ) => {
    const { tandem: t, a, b } = setup
    const logsBefore = t.logs.length
    const connectionsBefore = t.server.connectionCount
    const closeCode = await badClient()
    expect(closeCode, label).toBe(expected.closeCode)
    // Exactly one log line for the rejection, naming it.
    await eventually(() => t.server.connectionCount === connectionsBefore, `${label}: the bad connection to be gone`)
    const lines = t.logs.slice(logsBefore)
    expect(lines, `${label}: log lines ${JSON.stringify(lines)}`).toHaveLength(1)
    expect(lines[0]!.code, label).toBe(expected.logCode)
    // The pair on that document is still connected and converging, both ways.
    expect(a.provider.wsconnected && b.provider.wsconnected, label).toBe(true)
    a.text.insert(a.text.length, `[after ${label} from a]`)
    b.text.insert(0, `[after ${label} from b]`)
    await eventually(
      () => a.text.toString() === b.text.toString() && a.text.toString().includes(`[after ${label} from a]`) && a.text.toString().includes(`[after ${label} from b]`),
      `${label}: a and b to keep syncing`,
    )
    // The server still takes new connections on that document.
    const fresh = await rawClient(t.url, 'shared')
    raws.push(fresh)
    await fresh.synced()
    expect(fresh.doc.getText('text').toString()).toContain(`[after ${label} from a]`)
  }

  /** A raw client on the shared document that sends `frame` once synced; resolves with its close code. */
  const sendFrame = (frame: Uint8Array | string) => async (): Promise<number> => {
    const r = await rawClient(tandem!.url, 'shared')
    raws.push(r)
    await r.synced()
    r.socket.send(frame, { binary: typeof frame !== 'string' })
    return (await r.whenClosed()).code
  }

  it('closes a connection that sends a bad varUint with 4400 (MALFORMED_MESSAGE)', async () => {
    const setup = await setUp()
    // Ten continuation bytes: a varUint that never ends.
    await expectOnlyItsOwnConnectionClosed(setup, 'bad varUint', sendFrame(new Uint8Array(10).fill(0xff)), {
      closeCode: ErrorCodes.MALFORMED_MESSAGE.closeCode,
      logCode: 'MALFORMED_MESSAGE',
    })
  })

  it('closes a connection that sends a truncated message with 4400 (MALFORMED_MESSAGE)', async () => {
    const setup = await setUp()
    // sync update claiming 10 bytes, carrying 2.
    await expectOnlyItsOwnConnectionClosed(setup, 'truncated', sendFrame(new Uint8Array([0, 2, 10, 1, 2])), {
      closeCode: 4400,
      logCode: 'MALFORMED_MESSAGE',
    })
  })

  it('closes a connection that sends a frame over limits.maxMessageBytes with 1009', async () => {
    const setup = await setUp()
    const frame = new Uint8Array(MAX_MESSAGE_BYTES * 2)
    frame.set([0, 2]) // it would even be a plausible sync update, were it not too large
    await expectOnlyItsOwnConnectionClosed(setup, 'oversized', sendFrame(frame), {
      closeCode: ErrorCodes.MESSAGE_TOO_LARGE.closeCode,
      logCode: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    })
  })

  it('closes a connection that sends a text frame with 1003 (UNSUPPORTED_DATA)', async () => {
    const setup = await setUp()
    await expectOnlyItsOwnConnectionClosed(setup, 'text frame', sendFrame('{"type":"hello"}'), {
      closeCode: ErrorCodes.UNSUPPORTED_DATA.closeCode,
      logCode: 'UNSUPPORTED_DATA',
    })
  })

  it('closes a connection that sends a frame with reserved bits set with 1002 (protocol error)', async () => {
    const setup = await setUp()
    await expectOnlyItsOwnConnectionClosed(
      setup,
      'reserved bits',
      async () => {
        const socket = await handMadeUpgrade(setup.tandem.port, '/shared')
        sockets.push(socket)
        // FIN + RSV2 + binary, masked, 3-byte payload (a sync step 1 with an empty state vector).
        socket.write(maskedFrame(0x80 | 0x20 | 0x2, new Uint8Array([0, 0, 0])))
        return readCloseCode(socket)
      },
      // `ws` rejects the frame itself (RFC 6455: reserved bits without a negotiated extension).
      { closeCode: 1002, logCode: 'WS_ERR_UNEXPECTED_RSV_2_3' },
    )
  })

  it('a bad client on one document does not disturb the others, on that document or elsewhere', async () => {
    const setup = await setUp()
    const elsewhere = [yClient(setup.tandem.url, 'other'), yClient(setup.tandem.url, 'other')]
    clients.push(...elsewhere)
    await Promise.all(elsewhere.map((c) => c.synced()))
    // Several bad clients at once.
    const codes = await Promise.all([
      sendFrame(new Uint8Array([0xff]))(),
      sendFrame('text')(),
      sendFrame(new Uint8Array(MAX_MESSAGE_BYTES + 1))(),
    ])
    expect(codes).toEqual([4400, 1003, 1009])
    elsewhere[0]!.text.insert(0, 'still here')
    await eventually(() => elsewhere[1]!.text.toString() === 'still here', 'the other document to keep syncing')
    setup.a.text.insert(0, 'and here')
    await eventually(() => setup.b.text.toString().startsWith('and here'), 'the shared document to keep syncing')
  })
})

/** Opens a WebSocket by hand on a plain TCP socket; resolves once the server answered 101. */
const handMadeUpgrade = (port: number, path: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', reject)
    socket.once('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    )
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      if (!head.subarray(0, end).toString().startsWith('HTTP/1.1 101')) {
        reject(new Error(`upgrade refused: ${head.subarray(0, end).toString()}`))
        return
      }
      // Hand the bytes after the response (frames the server already sent) back to the reader.
      const rest = head.subarray(end + 4)
      socket.pause()
      if (rest.length > 0) socket.unshift(rest)
      resolve(socket)
    }
    socket.on('data', onData)
  })

/** A client frame (clients must mask) with the given first byte. */
const maskedFrame = (firstByte: number, payload: Uint8Array): Buffer => {
  const mask = randomBytes(4)
  const frame = Buffer.alloc(2 + 4 + payload.length)
  frame[0] = firstByte
  frame[1] = 0x80 | payload.length // payloads under 126 bytes only
  mask.copy(frame, 2)
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ mask[i % 4]!
  return frame
}

/** Reads server frames (unmasked) until a close frame; resolves with its status code. */
const readCloseCode = (socket: Socket): Promise<number> =>
  new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0)
    const timer = setTimeout(() => reject(new Error('no close frame within 10 s')), 10_000)
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        if (buffer.length < 2) return
        const opcode = buffer[0]! & 0x0f
        let length = buffer[1]! & 0x7f
        let offset = 2
        if (length === 126) {
          if (buffer.length < 4) return
          length = buffer.readUInt16BE(2)
          offset = 4
        } else if (length === 127) {
          if (buffer.length < 10) return
          length = Number(buffer.readBigUInt64BE(2))
          offset = 10
        }
        if (buffer.length < offset + length) return
        if (opcode === 0x8) {
          clearTimeout(timer)
          resolve(length >= 2 ? buffer.readUInt16BE(offset) : 1005)
          return
        }
        buffer = buffer.subarray(offset + length)
      }
    })
    socket.on('close', () => {
      clearTimeout(timer)
      reject(new Error('the socket closed without a close frame'))
    })
    socket.resume()
  })
