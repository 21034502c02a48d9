import { afterEach, describe, expect, it } from 'vitest'
import type { Socket } from 'node:net'
import * as Y from 'yjs'
import { rawClient, type RawClient } from '../support/raw-client.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { eventually } from '../support/wait.js'
import { startArena, type Arena } from './harness.js'

const HIGH_WATER = 512 * 1024
const CHUNK = 100 * 1024
const CHUNKS = 500 // 50 MB in all

/**
 * A reader that stops reading while others write 50 MB: the server stops sending to it once its
 * send buffer passes the high water mark (limits.sendBufferHighWaterBytes), so memory stays
 * bounded, and when it reads again it gets exactly what it missed, as one update.
 */
describe('adversarial: a client that stops reading', () => {
  let arena: Arena | undefined
  const clients: Array<YClient | RawClient> = []
  afterEach(async () => {
    for (const client of clients.splice(0)) 'provider' in client ? client.destroy() : client.close()
    await arena?.close()
    arena = undefined
  })

  it('50 MB written while one reader is paused: its send buffer stays bounded, and it converges when it reads again', async ({ annotate }) => {
    arena = await startArena({
      config: {
        // A paused reader cannot answer pings either; keep the heartbeat from ending the test early.
        heartbeatMs: 30_000,
        limits: {
          sendBufferHighWaterBytes: HIGH_WATER,
          slowConsumerTimeoutMs: 120_000,
          // The writer sends 50 MB at once: let it.
          bytesPerSecond: 1024 * 1024 * 1024,
          bytesBurst: 1024 * 1024 * 1024,
        },
      },
    })
    const server = arena.tandem.server
    const writer = yClient(arena.url, 'flood/doc')
    const reader = await rawClient(arena.url, 'flood/doc')
    clients.push(writer, reader)
    await Promise.all([writer.synced(), reader.synced()])
    // Stop reading: the TCP buffers fill, then the server's send buffer for this socket.
    const tcp = (reader.socket as unknown as { _socket: Socket })._socket
    tcp.pause()
    const before = process.memoryUsage()
    let peakBuffered = 0
    let peakHeap = before.heapUsed + before.arrayBuffers
    let phase: 'paused' | 'reading' = 'paused'
    const sample = setInterval(() => {
      if (phase !== 'paused') return
      peakBuffered = Math.max(peakBuffered, server.sendBufferBytes)
      const usage = process.memoryUsage()
      peakHeap = Math.max(peakHeap, usage.heapUsed + usage.arrayBuffers)
    }, 5)
    try {
      const chunk = 'x'.repeat(CHUNK)
      for (let i = 0; i < CHUNKS; i++) {
        writer.text.insert(writer.text.length, chunk)
        // Let the socket move between edits, as typing would.
        if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve))
      }
      await eventually(() => writer.provider.ws !== null && writer.provider.ws.bufferedAmount === 0, 'the writer to have sent everything', 60_000)
      await arena.roundTrip()
      const stored = await arena.stored('flood/doc')
      expect(stored.getText('text').length).toBe(CHUNK * CHUNKS)
      // Bounded: the high water mark plus the one broadcast that crossed it (a tick's batch: here
      // up to 10 chunks, 1 MB), far below the 50 MB sent.
      expect(peakBuffered).toBeLessThan(HIGH_WATER + 2 * 1024 * 1024)
      expect(reader.closed).toBeNull()
      // It reads again: everything it missed arrives (as one update) and it converges.
      phase = 'reading'
      tcp.resume()
      await eventually(() => reader.doc.getText('text').length === CHUNK * CHUNKS, 'the paused reader to converge', 60_000)
      expect(Y.encodeStateVector(reader.doc)).toEqual(Y.encodeStateVector(writer.doc))
    } finally {
      clearInterval(sample)
    }
    await annotate(
      `while paused: peak send buffer ${(peakBuffered / 1024).toFixed(0)} KiB for 50 MB written; ` +
        `heap + buffers +${((peakHeap - before.heapUsed - before.arrayBuffers) / 2 ** 20).toFixed(0)} MiB in this process (server, writer, storage and documents together)`,
    )
  })

  it('a reader stuck past slowConsumerTimeoutMs is closed with 1013 (SLOW_CONSUMER)', async () => {
    arena = await startArena({
      config: {
        limits: { sendBufferHighWaterBytes: 64 * 1024, slowConsumerTimeoutMs: 300, bytesPerSecond: 1024 * 1024 * 1024, bytesBurst: 1024 * 1024 * 1024 },
      },
    })
    const writer = yClient(arena.url, 'stuck/doc')
    const reader = await rawClient(arena.url, 'stuck/doc')
    clients.push(writer, reader)
    await Promise.all([writer.synced(), reader.synced()])
    const tcp = (reader.socket as unknown as { _socket: Socket })._socket
    tcp.pause()
    const chunk = 'y'.repeat(CHUNK)
    for (let i = 0; i < 100; i++) writer.text.insert(0, chunk)
    await eventually(() => (arena!.tandem.logs.some((line) => line.code === 'SLOW_CONSUMER') ? true : undefined), 'the slow consumer to be closed', 30_000)
    expect((await arena.rejections()).SLOW_CONSUMER).toBe(1)
    // Its close frame waits behind the data it never read; once it reads, it sees 1013.
    tcp.resume()
    expect((await reader.whenClosed(30_000)).code).toBe(1013)
    await arena.roundTrip()
  })
})
