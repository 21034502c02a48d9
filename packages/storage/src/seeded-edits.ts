import * as Y from 'yjs'
import type { StoredDocument } from './storage-adapter.js'

/** mulberry32: a tiny seeded PRNG, so every run writes the same bytes and a failure replays. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface RecordedEdits {
  /** One update per edit, in the order they were made. */
  readonly updates: Uint8Array[]
  /** The text after every edit. */
  readonly text: string
}

/**
 * `count` random inserts and deletes in the text `t` of a doc owned by one client, one update per
 * edit. The client id is fixed (not random, as Yjs would pick) so the bytes are the same every run.
 */
export function recordTextEdits(seed: number, count: number, clientID: number = seed): RecordedEdits {
  const random = seededRandom(seed)
  const doc = new Y.Doc()
  doc.clientID = clientID
  const text = doc.getText('t')
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  const letters = 'abcdefghijklmnopqrstuvwxyz'
  for (let i = 0; i < count; i++) {
    if (text.length > 0 && random() < 0.3) {
      const index = Math.floor(random() * text.length)
      text.delete(index, Math.min(1 + Math.floor(random() * 4), text.length - index))
    } else {
      let insert = ''
      for (let n = 1 + Math.floor(random() * 8); n > 0; n--) insert += letters[Math.floor(random() * 26)]
      text.insert(Math.floor(random() * (text.length + 1)), insert)
    }
  }
  const result = { updates, text: text.toString() }
  doc.destroy()
  return result
}

/** Rebuilds the document a load returned, the way a server would. */
export function docFrom(stored: StoredDocument): Y.Doc {
  const doc = new Y.Doc()
  if (stored.snapshot !== null) Y.applyUpdate(doc, stored.snapshot)
  for (const update of stored.updates) Y.applyUpdate(doc, update)
  return doc
}

/** The text `t` of the document a load returned. */
export function textOf(stored: StoredDocument): string {
  const doc = docFrom(stored)
  const text = doc.getText('t').toString()
  doc.destroy()
  return text
}
