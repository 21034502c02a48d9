import * as Y from 'yjs'
import type { Fold } from './storage-adapter.js'

/**
 * The standard {@link Fold}: replays the snapshot and the updates into a fresh, garbage-collected
 * Y.Doc and encodes its whole state.
 *
 * Why one transaction: applying each update in its own transaction runs the cleanup (merging
 * structs, collecting garbage) once per update; one transaction runs it once, which is what makes
 * folding thousands of small updates cheap (far cheaper than `Y.mergeUpdates`, which also keeps
 * deleted content).
 *
 * Updates whose dependencies are missing (clock gaps) stay pending inside the doc and
 * `Y.encodeStateAsUpdate` includes them, so a fold never drops an update that arrived early.
 */
export const foldUpdates: Fold = (snapshot, updates) => {
  const doc = new Y.Doc({ gc: true })
  try {
    Y.transact(doc, () => {
      if (snapshot !== null) Y.applyUpdate(doc, snapshot)
      for (const update of updates) Y.applyUpdate(doc, update)
    })
    return Y.encodeStateAsUpdate(doc)
  } finally {
    doc.destroy()
  }
}
