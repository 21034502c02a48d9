// Child process for the kill -9 test: `node --conditions=@tandem/source append-until-killed.mjs <file> <seed>`.
// Appends batches through the real SqliteStorage (default durability) until it is killed, and
// prints each batch number only once `append` has resolved: every printed number is acknowledged.
// Each batch adds `<n>` to the text of two documents in one append; every 25 batches both are
// compacted, so a kill can also land inside a compaction.
import { register } from 'node:module'
import * as Y from 'yjs'

register('./ts-source-loader.mjs', import.meta.url)
const { foldUpdates } = await import('@tandem/storage')
const { SqliteStorage } = await import('../sqlite-storage.ts')

const [file, seedArgument] = process.argv.slice(2)
let seed = Number(seedArgument) >>> 0
/** A small LCG: the padding varies the row sizes (and so when WAL pages fill) per seed. */
const random = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
  return seed / 4294967296
}

const storage = new SqliteStorage({ file })
const documents = ['a', 'b'].map((name, index) => {
  const doc = new Y.Doc()
  doc.clientID = index + 1
  const pending = []
  doc.on('update', (update) => pending.push(update))
  return { name, text: doc.getText('t'), pending }
})

for (let batch = 1; ; batch++) {
  const entries = []
  for (const { name, text, pending } of documents) {
    text.insert(text.length, `<${batch}>${'.'.repeat(Math.floor(random() * 400))}`)
    for (const update of pending.splice(0)) entries.push({ document: name, update })
  }
  await storage.append(entries)
  process.stdout.write(`${batch}\n`)
  if (batch % 25 === 0) {
    for (const { name } of documents) await storage.compact(name, foldUpdates)
  }
}
