import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { foldUpdates } from './fold.js'
import { docFrom, recordTextEdits, seededRandom, textOf } from './seeded-edits.js'
import type { AppendEntry, Fold, StorageAdapter } from './storage-adapter.js'

// Seeded data for adapter-specific tests, alongside the suite.
export { recordTextEdits, seededRandom, type RecordedEdits } from './seeded-edits.js'

export interface OpenedAdapter {
  readonly adapter: StorageAdapter
  /** Runs after the suite has closed the adapter (remove temp files, drop a schema, ...). */
  readonly cleanup?: () => Promise<void>
}

/**
 * The suite every {@link StorageAdapter} must pass. `open` is called before each test and must
 * return an adapter over an empty store; the suite closes it after the test, then runs `cleanup`.
 *
 * ```ts
 * runStorageContract('MemoryStorage', async () => ({ adapter: new MemoryStorage() }))
 * ```
 */
export function runStorageContract(name: string, open: () => Promise<OpenedAdapter>): void {
  describe(`StorageAdapter contract: ${name}`, () => {
    let adapter: StorageAdapter
    let cleanup: (() => Promise<void>) | undefined
    let closedByTest = false

    beforeEach(async () => {
      const opened = await open()
      adapter = opened.adapter
      cleanup = opened.cleanup
      closedByTest = false
    })

    afterEach(async () => {
      if (!closedByTest) await adapter.close()
      await cleanup?.()
    })

    const entries = (document: string, updates: readonly Uint8Array[]): AppendEntry[] =>
      updates.map((update) => ({ document, update }))

    it('reads a document never written as empty', async () => {
      expect(await adapter.load('never')).toEqual({ snapshot: null, updates: [], lastSeq: 0 })
      expect(await adapter.stats('never')).toEqual({ updates: 0, updateBytes: 0, snapshotBytes: 0 })
      expect(await adapter.listDocuments()).toEqual([])
      expect(await adapter.listVersions('never')).toEqual([])
    })

    it('loads appended updates in append order, byte for byte', async () => {
      const { updates } = recordTextEdits(1, 30)
      await adapter.append(entries('doc', updates.slice(0, 10)))
      await adapter.append(entries('doc', updates.slice(10, 11)))
      await adapter.append(entries('doc', updates.slice(11)))

      const stored = await adapter.load('doc')
      expect(stored.snapshot).toBeNull()
      expect(stored.updates).toEqual(updates)
      expect(stored.lastSeq).toBe(30)
    })

    it('resolves an empty batch without storing anything', async () => {
      await adapter.append([])
      expect(await adapter.listDocuments()).toEqual([])
    })

    it('keeps stored bytes apart from the caller’s buffers', async () => {
      const update = recordTextEdits(2, 1).updates[0]!
      const original = update.slice()
      await adapter.append([{ document: 'doc', update }])
      update.fill(0)
      const first = await adapter.load('doc')
      expect(first.updates).toEqual([original])
      first.updates[0]!.fill(0)
      expect((await adapter.load('doc')).updates).toEqual([original])
    })

    it('stores one batch holding several documents, each in its own order', async () => {
      const a = recordTextEdits(3, 5).updates
      const b = recordTextEdits(4, 3).updates
      const batch: AppendEntry[] = []
      for (let i = 0; i < 5; i++) {
        batch.push({ document: 'a', update: a[i]! })
        if (i < 3) batch.push({ document: 'b', update: b[i]! })
      }
      await adapter.append(batch)

      expect(await adapter.load('a')).toEqual({ snapshot: null, updates: a, lastSeq: 5 })
      expect(await adapter.load('b')).toEqual({ snapshot: null, updates: b, lastSeq: 3 })
      expect((await adapter.listDocuments()).sort()).toEqual(['a', 'b'])
    })

    it('stores none of a batch that holds an invalid entry', async () => {
      const [first, second] = recordTextEdits(5, 2).updates
      await adapter.append([{ document: 'a', update: first! }])
      const before = await adapter.load('a')

      const invalid = { document: 'b', update: 'not bytes' as unknown as Uint8Array }
      await expect(
        adapter.append([{ document: 'a', update: second! }, invalid, { document: 'c', update: second! }]),
      ).rejects.toThrow()

      expect(await adapter.load('a')).toEqual(before)
      expect(await adapter.load('b')).toEqual({ snapshot: null, updates: [], lastSeq: 0 })
      expect(await adapter.load('c')).toEqual({ snapshot: null, updates: [], lastSeq: 0 })
      expect(await adapter.listDocuments()).toEqual(['a'])
    })

    it('compacts the log into a snapshot that holds the same document', async () => {
      const { updates, text } = recordTextEdits(6, 50)
      for (let i = 0; i < 50; i += 10) await adapter.append(entries('doc', updates.slice(i, i + 10)))
      const fromLog = docFrom(await adapter.load('doc'))

      const result = await adapter.compact('doc', foldUpdates)
      expect(result.foldedUpdates).toBe(50)
      expect(result.versionId).toBeUndefined()

      const compacted = await adapter.load('doc')
      expect(compacted.updates).toEqual([])
      expect(compacted.lastSeq).toBe(50)
      expect(compacted.snapshot?.byteLength).toBe(result.snapshotBytes)
      const fromSnapshot = docFrom(compacted)
      expect(fromSnapshot.getText('t').toString()).toBe(text)
      expect(Y.encodeStateVector(fromSnapshot)).toEqual(Y.encodeStateVector(fromLog))

      // The log goes on after the snapshot, and a second compaction folds both.
      const more = recordTextEdits(7, 5).updates
      await adapter.append(entries('doc', more))
      const afterMore = await adapter.load('doc')
      expect(afterMore.snapshot).toEqual(compacted.snapshot)
      expect(afterMore.updates).toEqual(more)
      expect(afterMore.lastSeq).toBe(55)
      const textAfterMore = textOf(afterMore)

      expect((await adapter.compact('doc', foldUpdates)).foldedUpdates).toBe(5)
      const recompacted = await adapter.load('doc')
      expect(recompacted.updates).toEqual([])
      expect(recompacted.lastSeq).toBe(55)
      expect(textOf(recompacted)).toBe(textAfterMore)
      fromLog.destroy()
      fromSnapshot.destroy()
    })

    it('keeps updates appended while the fold runs', async () => {
      const { updates } = recordTextEdits(8, 21)
      const late = updates.pop()!
      await adapter.append(entries('doc', updates))

      let appendedDuringFold: Promise<void> | undefined
      const fold: Fold = (snapshot, folded) => {
        appendedDuringFold = adapter.append([{ document: 'doc', update: late }])
        return foldUpdates(snapshot, folded)
      }
      const result = await adapter.compact('doc', fold)
      await appendedDuringFold

      expect(result.foldedUpdates).toBe(20)
      const stored = await adapter.load('doc')
      expect(stored.updates).toEqual([late])
      expect(stored.lastSeq).toBe(21)
      expect(textOf(stored)).toBe(recordTextEdits(8, 21).text)
    })

    it('writes a state given by the caller in place of the snapshot and the log, without folding', async () => {
      const { updates, text } = recordTextEdits(18, 30)
      const neverCalled: Fold = () => {
        throw new Error('fold called although a state was given')
      }
      expect(await adapter.compact('never', neverCalled, { state: foldUpdates(null, updates) })).toEqual({ foldedUpdates: 0, snapshotBytes: 0 })

      await adapter.append(entries('doc', updates.slice(0, 20)))
      await adapter.compact('doc', foldUpdates)
      await adapter.append(entries('doc', updates.slice(20)))
      const state = foldUpdates(null, updates)
      const result = await adapter.compact('doc', neverCalled, { state, version: 'live' })
      expect(result.foldedUpdates).toBe(10)
      expect(result.snapshotBytes).toBe(state.byteLength)

      const stored = await adapter.load('doc')
      expect(stored).toEqual({ snapshot: state, updates: [], lastSeq: 30 })
      expect(textOf(stored)).toBe(text)
      expect(await adapter.loadVersion('doc', result.versionId!)).toEqual(state)
      // Nothing logged since: nothing to replace.
      expect(await adapter.compact('doc', neverCalled, { state: foldUpdates(null, []) })).toEqual({ foldedUpdates: 0, snapshotBytes: state.byteLength })
      expect((await adapter.load('doc')).snapshot).toEqual(state)
    })

    it('does nothing when compacting an empty or already compacted document', async () => {
      expect(await adapter.compact('never', foldUpdates)).toEqual({ foldedUpdates: 0, snapshotBytes: 0 })
      expect(await adapter.listDocuments()).toEqual([])

      await adapter.append(entries('doc', recordTextEdits(9, 10).updates))
      const first = await adapter.compact('doc', foldUpdates)
      const compacted = await adapter.load('doc')
      const again = await adapter.compact('doc', foldUpdates)
      expect(again).toEqual({ foldedUpdates: 0, snapshotBytes: first.snapshotBytes })
      expect(await adapter.load('doc')).toEqual(compacted)
    })

    it('reports cheap stats', async () => {
      const { updates } = recordTextEdits(10, 12)
      await adapter.append(entries('doc', updates))
      const bytes = updates.reduce((sum, update) => sum + update.byteLength, 0)
      expect(await adapter.stats('doc')).toEqual({ updates: 12, updateBytes: bytes, snapshotBytes: 0 })

      const { snapshotBytes } = await adapter.compact('doc', foldUpdates)
      expect(snapshotBytes).toBeGreaterThan(0)
      expect(await adapter.stats('doc')).toEqual({ updates: 0, updateBytes: 0, snapshotBytes })
    })

    it('lists documents with a snapshot or updates', async () => {
      await adapter.append([
        { document: 'logged', update: recordTextEdits(11, 1).updates[0]! },
        { document: 'compacted', update: recordTextEdits(12, 1).updates[0]! },
        { document: 'deleted', update: recordTextEdits(13, 1).updates[0]! },
      ])
      await adapter.compact('compacted', foldUpdates)
      await adapter.delete('deleted')
      expect((await adapter.listDocuments()).sort()).toEqual(['compacted', 'logged'])
    })

    it('deletes a document’s log, snapshot and versions, and nothing else', async () => {
      await adapter.append(entries('doc', recordTextEdits(14, 10).updates))
      await adapter.compact('doc', foldUpdates, { version: 'v1' })
      await adapter.append(entries('doc', recordTextEdits(15, 3).updates))
      const other = recordTextEdits(16, 3).updates
      await adapter.append(entries('other', other))

      await adapter.delete('doc')
      await adapter.delete('never')

      expect(await adapter.load('doc')).toEqual({ snapshot: null, updates: [], lastSeq: 0 })
      expect(await adapter.stats('doc')).toEqual({ updates: 0, updateBytes: 0, snapshotBytes: 0 })
      expect(await adapter.listVersions('doc')).toEqual([])
      expect(await adapter.load('other')).toEqual({ snapshot: null, updates: other, lastSeq: 3 })

      // A deleted document can be written again from scratch.
      const fresh = recordTextEdits(17, 2).updates
      await adapter.append(entries('doc', fresh))
      expect((await adapter.load('doc')).updates).toEqual(fresh)
    })

    it('keeps compacted snapshots as named versions', async () => {
      const { updates } = recordTextEdits(18, 20)
      await adapter.append(entries('doc', updates.slice(0, 10)))
      const v1 = await adapter.compact('doc', foldUpdates, { version: 'v1' })
      const v1Snapshot = (await adapter.load('doc')).snapshot
      await adapter.append(entries('doc', updates.slice(10)))
      const v2 = await adapter.compact('doc', foldUpdates, { version: 'v2' })
      // Nothing left to fold: the version keeps the current snapshot.
      const v3 = await adapter.compact('doc', foldUpdates, { version: 'v3' })

      expect(v1.versionId).toBeTypeOf('number')
      expect(v2.versionId).toBeTypeOf('number')
      expect(v3).toMatchObject({ foldedUpdates: 0, snapshotBytes: v2.snapshotBytes })
      const versions = await adapter.listVersions('doc')
      expect(versions.map(({ id, label, bytes }) => ({ id, label, bytes }))).toEqual([
        { id: v1.versionId, label: 'v1', bytes: v1.snapshotBytes },
        { id: v2.versionId, label: 'v2', bytes: v2.snapshotBytes },
        { id: v3.versionId, label: 'v3', bytes: v2.snapshotBytes },
      ])
      for (const version of versions) expect(version.createdAt).toBeInstanceOf(Date)

      expect(await adapter.loadVersion('doc', v1.versionId!)).toEqual(v1Snapshot)
      const v2State = await adapter.loadVersion('doc', v2.versionId!)
      expect(v2State).toEqual((await adapter.load('doc')).snapshot)
      expect(textOf({ snapshot: v2State, updates: [], lastSeq: 0 })).toBe(recordTextEdits(18, 20).text)
      expect(await adapter.loadVersion('doc', 1_000_000)).toBeNull()
      expect(await adapter.loadVersion('other', v1.versionId!)).toBeNull()
    })

    it('rejects every call after close', async () => {
      await adapter.close()
      closedByTest = true
      const update = recordTextEdits(19, 1).updates[0]!
      await expect(adapter.load('doc')).rejects.toThrow()
      await expect(adapter.append([{ document: 'doc', update }])).rejects.toThrow()
      await expect(adapter.compact('doc', foldUpdates)).rejects.toThrow()
      await expect(adapter.stats('doc')).rejects.toThrow()
      await expect(adapter.listDocuments()).rejects.toThrow()
      await expect(adapter.delete('doc')).rejects.toThrow()
      await expect(adapter.listVersions('doc')).rejects.toThrow()
      await expect(adapter.loadVersion('doc', 1)).rejects.toThrow()
      await expect(adapter.close()).rejects.toThrow()
    })

    it('stays small under endless insert-then-delete churn when compacted', async () => {
      // Typing then deleting at the cursor: with garbage collection the deleted text and its
      // tombstones fold away. (Churn at scattered positions keeps a few bytes of tombstone per
      // edit in any Yjs document, so that would measure Yjs, not the store.)
      const doc = new Y.Doc()
      doc.clientID = 20
      const text = doc.getText('t')
      const pending: Uint8Array[] = []
      doc.on('update', (update: Uint8Array) => pending.push(update))
      text.insert(0, 'a document that stays')
      await adapter.append(entries('doc', pending.splice(0)))

      const random = seededRandom(20)
      let appends = 1
      const appendPending = async (): Promise<void> => {
        await adapter.append(entries('doc', pending.splice(0)))
        if (++appends % 200 === 0) await adapter.compact('doc', foldUpdates)
      }
      for (let round = 0; round < 2000; round++) {
        const length = 1 + Math.floor(random() * 20)
        const at = text.length
        text.insert(at, 'x'.repeat(length))
        await appendPending()
        text.delete(at, length)
        await appendPending()
      }
      await adapter.compact('doc', foldUpdates)

      const stats = await adapter.stats('doc')
      expect(stats.updates).toBe(0)
      expect(stats.snapshotBytes + stats.updateBytes).toBeLessThan(4096)
      expect(textOf(await adapter.load('doc'))).toBe('a document that stays')
      doc.destroy()
    })
  })
}
