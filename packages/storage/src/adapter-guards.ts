// The checks every adapter makes at its boundary, shared so that every adapter fails alike.
import type { AppendEntry } from './storage-adapter.js'

/** What every call on a closed adapter rejects with. */
export class StorageClosedError extends Error {
  readonly code = 'STORAGE_CLOSED'

  constructor(adapter: string) {
    super(`${adapter} is closed`)
    this.name = 'StorageClosedError'
  }
}

/**
 * Throws a TypeError naming the first malformed entry. Adapters call it before writing anything,
 * so a bad entry rejects the whole batch and none of it is stored.
 */
export function assertAppendEntries(entries: readonly AppendEntry[]): void {
  if (!Array.isArray(entries)) throw new TypeError('append: entries must be an array')
  for (let index = 0; index < entries.length; index++) {
    const entry: unknown = entries[index]
    if (typeof entry !== 'object' || entry === null) {
      throw new TypeError(`append: entry ${index} is not an object`)
    }
    const { document, update } = entry as Partial<Record<keyof AppendEntry, unknown>>
    if (typeof document !== 'string') {
      throw new TypeError(`append: entry ${index} has a document name that is not a string`)
    }
    if (!(update instanceof Uint8Array)) {
      throw new TypeError(`append: entry ${index} (document "${document}") has an update that is not a Uint8Array`)
    }
  }
}
