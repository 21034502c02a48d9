import * as Y from 'yjs'
import type { StoredDocument } from '@tandem/storage'

/** Text and map of a document as one comparable string (map keys sorted). */
export const content = (doc: Y.Doc): string =>
  JSON.stringify({
    text: doc.getText('text').toString(),
    map: Object.entries(doc.getMap('map').toJSON()).sort(([x], [y]) => (x < y ? -1 : 1)),
  })

/** The document a store holds: its snapshot and the updates after it, applied in one transaction. */
export const docFrom = (stored: StoredDocument): Y.Doc => {
  const doc = new Y.Doc()
  Y.transact(doc, () => {
    if (stored.snapshot !== null) Y.applyUpdate(doc, stored.snapshot)
    for (const update of stored.updates) Y.applyUpdate(doc, update)
  })
  return doc
}
