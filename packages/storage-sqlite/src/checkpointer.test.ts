import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { recordTextEdits } from '@tandem/storage/contract'
import { Checkpointer } from './checkpointer.js'
import { SqliteStorage } from './sqlite-storage.js'

const eventually = async (condition: () => boolean, what: string) => {
  const deadline = Date.now() + 10_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('WAL checkpoints in a worker thread', () => {
  const directories: string[] = []
  const temporaryFile = () => {
    const directory = mkdtempSync(join(tmpdir(), 'tandem-checkpoint-'))
    directories.push(directory)
    return join(directory, 'tandem.db')
  }
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
  })

  it('copies the WAL into the database file every 200 commits, off the writing thread, and keeps every row', async () => {
    const file = temporaryFile()
    const storage = new SqliteStorage({ file, durability: 'normal' })
    const { updates } = recordTextEdits(21, 450)
    for (const update of updates) await storage.append([{ document: 'doc', update }])
    await eventually(() => storage.checkpoints >= 2, 'two checkpoints by the worker')
    // The rows are in the database file itself now, not only in the WAL: it has grown.
    expect(statSync(file).size).toBeGreaterThan(4096 * 4)
    expect((await storage.load('doc')).updates).toEqual(updates)
    await storage.close()
    const raw = new Database(file, { readonly: true })
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok')
    expect((raw.prepare('SELECT count(*) AS n FROM updates').get() as { n: number }).n).toBe(450)
    raw.close()
  })

  it('reports a checkpoint that cannot run, and a closed checkpointer starts none', async () => {
    const errors: string[] = []
    const missing = new Checkpointer(join(mkdtempSync(join(tmpdir(), 'tandem-checkpoint-')), 'absent.db'), 1, (message) => errors.push(message))
    const result = await missing.request()
    expect(result.ok).toBe(false)
    expect(errors.length).toBeGreaterThan(0)
    await missing.close()
    expect((await missing.request()).ok).toBe(false)
    expect(missing.count).toBe(0)
  })
})
