import { afterEach, describe, expect, it } from 'vitest'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { eventually, eventuallyAsync, seededRandom } from '../support/wait.js'
import { content, docFrom } from '../support/documents.js'

/**
 * Compaction through the running server: the update log is folded into a snapshot once it is long
 * enough, the document reads the same, and a document edited forever (deleting as much as it
 * inserts) keeps a bounded footprint in storage.
 */
describe('compaction', () => {
  let tandem: RunningTandem | undefined
  const clients: YClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    await tandem?.close()
    tandem = undefined
  })
  const client = (room: string, options: { connect?: boolean } = {}) => {
    const c = yClient(tandem!.url, room, options)
    clients.push(c)
    return c
  }
  /** One edit per tick, so each becomes its own stored update (the server batches per tick). */
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1))

  it('folds the log into a snapshot; the document reads the same from storage and through a new client', async () => {
    tandem = await startTandem({ storage: 'sqlite', config: { compactAfterUpdates: 20, roomIdleMs: 0 } })
    const writer = client('folded')
    await writer.synced()
    const random = seededRandom(5)
    for (let i = 0; i < 300; i++) {
      if (writer.text.length > 10 && random() < 0.3) writer.text.delete(Math.floor(random() * (writer.text.length - 5)), 3)
      else writer.text.insert(Math.floor(random() * (writer.text.length + 1)), `e${i} `)
      if (i % 7 === 0) writer.doc.getMap('map').set(`k${i % 5}`, i)
      await tick()
    }
    const expected = content(writer.doc)
    const storage = tandem.storage
    // Everything is stored once the server has broadcast nothing pending: wait for the fold. The
    // server folds once the log holds `compactAfterUpdates` updates and weighs as much as the
    // snapshot (RoomRegistry.needsCompaction), so what stays in the log is a fraction of the 300.
    const stats = await eventuallyAsync(async () => {
      const s = await storage.stats('folded')
      return s.snapshotBytes > 0 && s.updateBytes <= s.snapshotBytes + 1024 ? s : undefined
    }, 'the log to be folded into a snapshot')
    expect(stats.snapshotBytes).toBeGreaterThan(0)
    expect(stats.updates).toBeLessThan(150)

    writer.destroy()
    await eventually(() => tandem!.server.registry.size === 0, 'the room to unload')
    await tandem.server.registry.settle()
    const stored = await storage.load('folded')
    expect(stored.snapshot).not.toBeNull()
    expect(content(docFrom(stored))).toBe(expected)

    // A new client reads it through a freshly loaded room.
    const reader = client('folded', { connect: false })
    let atFirstSync: string | null = null
    reader.provider.on('sync', (synced: boolean) => {
      if (synced && atFirstSync === null) atFirstSync = content(reader.doc)
    })
    reader.provider.connect()
    await reader.synced()
    expect(atFirstSync).toBe(expected)
  })

  it('keeps storage bounded under constant edits that delete as much as they insert', async () => {
    tandem = await startTandem({ storage: 'sqlite', config: { compactAfterUpdates: 50 } })
    const writer = client('churn')
    await writer.synced()
    let sentBytes = 0
    writer.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== writer.provider) sentBytes += update.byteLength
    })
    const random = seededRandom(9)
    const footprint = async () => {
      const s = await tandem!.storage.stats('churn')
      return s.snapshotBytes + s.updateBytes
    }
    // A second client keeps a status field: Yjs merges the tombstones of a run of edits only when
    // their clocks are consecutive, so the two kinds of edits come from two clients, as they would.
    const ticker = client('churn')
    await ticker.synced()
    const status = ticker.doc.getMap<number>('map')
    const ROUNDS = 1_500
    const samples: number[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      // A rolling window (a log or chat that drops its oldest lines): 40 characters appended, the
      // oldest 40 deleted, so the text stays ~400 characters long; plus a field overwritten each round.
      const chunk = Array.from({ length: 40 }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('')
      writer.doc.transact(() => {
        writer.text.insert(writer.text.length, chunk)
        if (writer.text.length > 400) writer.text.delete(0, 40)
      })
      status.set('round', round)
      await tick()
      if (round % 250 === 0) {
        await tandem.server.registry.settle()
        samples.push(await footprint())
      }
    }
    await tandem.server.registry.settle()
    const final = await eventuallyAsync(async () => {
      const bytes = await footprint()
      return (await tandem!.storage.stats('churn')).updates < 50 ? bytes : undefined
    }, 'the last fold')
    // Without compaction the log would hold every update ever sent (over 60 KB here); with it the
    // store holds the live text, a few collected tombstones and at most one unfolded batch.
    const bound = 8_000
    expect(sentBytes, `sent ${sentBytes} bytes; footprint samples ${samples.join(', ')}`).toBeGreaterThan(60_000)
    expect(final, `footprint samples ${samples.join(', ')}`).toBeLessThan(bound)
    // It does not creep up round after round.
    expect(Math.max(...samples), `footprint samples ${samples.join(', ')}`).toBeLessThan(bound)
    // The document itself is intact.
    const stored = await tandem.storage.load('churn')
    expect(docFrom(stored).getText('text').toString()).toBe(writer.text.toString())
    expect(docFrom(stored).getMap('map').get('round')).toBe(ROUNDS)
    await eventually(() => writer.doc.getMap('map').get('round') === ROUNDS, 'the writer to see the last round')
  })
})
