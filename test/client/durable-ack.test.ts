import { afterEach, describe, expect, it } from 'vitest'
import { startChildServer, type ChildServer } from '../support/tandem-child.js'
import { tempDir } from '../support/tandem.js'
import { tandemClient, type TandemClient } from '../support/tandem-client.js'
import { seededRandom } from '../support/wait.js'

/**
 * "Saved" is true: bursts of edits through TandemProvider, the server `kill -9`ed at a seeded
 * moment, restarted on the same data directory; every edit the provider reported saved is there.
 */
describe('durable acknowledgement survives kill -9', () => {
  const cleanups: Array<() => void | Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const SEEDS = [7, 1234, 99_991, 31_337]

  it.each(SEEDS)('every edit acknowledged as saved is present after the restart (seed %i)', async (seed) => {
    console.info(`[durable-ack] seed ${seed}`)
    const random = seededRandom(seed)
    const dir = tempDir('tandem-durable-ack-')
    cleanups.push(() => dir.remove())
    const first = await startChildServer(['--port', '0', '--data', dir.path])
    cleanups.push(() => first.kill9())

    const writer: TandemClient = tandemClient(first.url, 'ledger')
    cleanups.push(() => writer.destroy())
    await writer.synced()
    const edits = writer.doc.getArray<string>('edits')

    // Everything issued before a 'saved' event is acknowledged as stored.
    let issued = 0
    let acknowledged = 0
    writer.provider.on('saved', () => {
      acknowledged = issued
    })

    // Kill after a seeded number of acknowledgement rounds plus a seeded delay, mid-burst.
    const killAfterSaves = 1 + Math.floor(random() * 5)
    const killDelayMs = Math.floor(random() * 80)
    let saves = 0
    const kill: { done: Promise<void> | null } = { done: null }
    writer.provider.on('saved', () => {
      if (++saves === killAfterSaves) setTimeout(() => (kill.done = first.kill9()), killDelayMs)
    })
    while (kill.done === null) {
      const burst = 1 + Math.floor(random() * 30)
      for (let i = 0; i < burst; i++) edits.push([`${seed}:${issued++}`])
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 5)))
      if (issued > 500_000) throw new Error(`[seed ${seed}] never saw ${killAfterSaves} saves`)
    }
    await kill.done
    // Stop the writer before the restart: it would re-send its unsaved edits and hide a loss.
    const reportedSaved = acknowledged
    writer.destroy()
    expect(reportedSaved, `[seed ${seed}] some edits were acknowledged before the kill`).toBeGreaterThan(0)

    const second: ChildServer = await startChildServer(['--port', '0', '--data', dir.path])
    cleanups.push(() => second.stop())
    const reader = tandemClient(second.url, 'ledger')
    cleanups.push(() => reader.destroy())
    await reader.synced()
    const present = new Set(reader.doc.getArray<string>('edits').toArray())
    const missing: string[] = []
    for (let i = 0; i < reportedSaved; i++) if (!present.has(`${seed}:${i}`)) missing.push(`${seed}:${i}`)
    expect(missing, `[seed ${seed}] acknowledged as saved but missing after kill -9 (issued ${issued}, saved ${reportedSaved})`).toEqual([])
    console.info(`[durable-ack] seed ${seed}: issued ${issued}, acknowledged ${reportedSaved}, present ${present.size}`)
  })
})
