import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { foldUpdates } from './fold.js'
import { recordTextEdits } from './seeded-edits.js'

function textOf(update: Uint8Array): string {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, update)
  const text = doc.getText('t').toString()
  doc.destroy()
  return text
}

describe('foldUpdates', () => {
  it('folds a snapshot and updates into one update holding the same document', () => {
    const { updates, text } = recordTextEdits(1, 100)
    const snapshot = foldUpdates(null, updates.slice(0, 60))
    const folded = foldUpdates(snapshot, updates.slice(60))
    expect(textOf(folded)).toBe(text)
  })

  it('folds nothing into an empty document', () => {
    expect(textOf(foldUpdates(null, []))).toBe('')
  })

  it('drops deleted content', () => {
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    doc.getText('t').insert(0, 'x'.repeat(10_000))
    doc.getText('t').delete(0, 10_000)
    expect(foldUpdates(null, updates).byteLength).toBeLessThan(100)
  })

  it('keeps updates whose dependencies have not arrived yet', () => {
    // Three edits by one client: the second and third depend on the first (clock gap without it).
    const { updates, text } = recordTextEdits(2, 3)
    const [first, ...later] = updates
    const folded = foldUpdates(null, later)
    expect(textOf(folded)).toBe('')

    // Once the missing update arrives, the pending ones apply: nothing was lost in the fold.
    expect(textOf(foldUpdates(folded, [first!]))).toBe(text)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, first!)
    Y.applyUpdate(doc, folded)
    expect(doc.getText('t').toString()).toBe(text)
    doc.destroy()
  })

  it('keeps deletions of content that has not arrived yet', () => {
    const doc = new Y.Doc()
    doc.clientID = 7
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    doc.getText('t').insert(0, 'hello world')
    doc.getText('t').delete(0, 6)
    const [insert, deletion] = updates

    const folded = foldUpdates(null, [deletion!])
    expect(textOf(foldUpdates(folded, [insert!]))).toBe('world')
    doc.destroy()
  })

  it('does not change its inputs', () => {
    const { updates } = recordTextEdits(3, 20)
    const copies = updates.map((update) => update.slice())
    foldUpdates(null, updates)
    expect(updates).toEqual(copies)
  })
})
