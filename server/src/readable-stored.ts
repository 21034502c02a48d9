import type { StoredDocument } from '@tandem/storage'
import { validateUpdate } from './validate-update.js'

/** A stored piece that failed validation: the snapshot or the index of a logged update, its size and why. */
export interface UnreadablePiece {
  readonly piece: 'snapshot' | number
  readonly bytes: number
  readonly reason: string
}

const problemOf = (bytes: Uint8Array): string | null => {
  try {
    validateUpdate(bytes)
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/**
 * The stored document without the pieces that fail `validateUpdate` (the check every incoming
 * update passes before it is stored), for a document Yjs could not load as stored: a row damaged
 * on disk, or one Yjs cannot read, would otherwise make it fail to load for every client on every
 * retry. The caller logs what was left out; it stays in storage until a compaction replaces the
 * log with the live state.
 */
export const readableStored = (stored: StoredDocument): { stored: StoredDocument; unreadable: UnreadablePiece[] } => {
  const unreadable: UnreadablePiece[] = []
  let snapshot = stored.snapshot
  if (snapshot !== null) {
    const reason = problemOf(snapshot)
    if (reason !== null) {
      unreadable.push({ piece: 'snapshot', bytes: snapshot.byteLength, reason })
      snapshot = null
    }
  }
  const updates = stored.updates.filter((update, index) => {
    const reason = problemOf(update)
    if (reason !== null) unreadable.push({ piece: index, bytes: update.byteLength, reason })
    return reason === null
  })
  return unreadable.length === 0 ? { stored, unreadable } : { stored: { ...stored, snapshot, updates }, unreadable }
}
