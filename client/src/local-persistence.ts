import type * as Y from 'yjs'

/** A local copy of a document that outlives the page. */
export interface LocalPersistence {
  destroy(): void
}

/**
 * Keeps `doc` in IndexedDB with y-indexeddb, so changes made offline survive a reload; once the
 * stored updates are loaded into the doc, the provider sends what the server lacks on its next
 * sync. Resolves to null where there is no IndexedDB (Node, some private modes). y-indexeddb is
 * loaded on demand, so Node users and apps without the option never load it.
 */
export const startLocalPersistence = async (name: string, doc: Y.Doc): Promise<LocalPersistence | null> => {
  if (typeof indexedDB === 'undefined') return null
  const { IndexeddbPersistence } = await import('y-indexeddb')
  const persistence = new IndexeddbPersistence(name, doc)
  return { destroy: () => void persistence.destroy() }
}
