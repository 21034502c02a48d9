import { bench, describe } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { validateUpdate } from './validate-update.js'

/**
 * What validation costs next to what it guards: `npx vitest bench server/src/validate-update.bench.ts`.
 * Numbers from one run are in docs/architecture.md ("Security and limits").
 */
const keystroke = (() => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, 'some existing text')
  let update: Uint8Array = new Uint8Array()
  doc.on('update', (u: Uint8Array) => (update = u))
  doc.getText('t').insert(5, 'x')
  return update
})()

const paste = (() => {
  const doc = new Y.Doc()
  let update: Uint8Array = new Uint8Array()
  doc.on('update', (u: Uint8Array) => (update = u))
  doc.getText('t').insert(0, 'lorem ipsum dolor sit amet '.repeat(40))
  return update
})()

/** A 1 MB document typed by 20 clients, 5,000 small edits: the full state a joiner sends. */
const fullState = (() => {
  const doc = new Y.Doc()
  const text = doc.getText('t')
  for (let i = 0; i < 5_000; i++) {
    doc.clientID = 1 + (i % 20)
    text.insert(Math.floor(text.length / 2), `edit ${i} ${'y'.repeat(190)}`)
    if (i % 7 === 0) text.delete(0, 3)
  }
  return Y.encodeStateAsUpdate(doc)
})()

const bomb = (() => {
  const encoder = encoding.createEncoder()
  for (const n of [1, 30_000_000, 1, 0]) encoding.writeVarUint(encoder, n)
  encoding.writeUint8(encoder, 0)
  encoding.writeVarUint(encoder, 1)
  return encoding.toUint8Array(encoder)
})()

const cases: Array<[string, Uint8Array]> = [
  [`keystroke (${keystroke.length} B)`, keystroke],
  [`paste (${paste.length} B)`, paste],
  [`full state (${(fullState.length / 1024).toFixed(0)} KiB)`, fullState],
]

for (const [name, update] of cases) {
  describe(name, () => {
    bench('validateUpdate (byte walk)', () => {
      validateUpdate(update)
    })
    bench('Y.decodeUpdate (the first cut)', () => {
      Y.decodeUpdate(update)
    })
    bench('Y.applyUpdate into an empty doc (the work validated)', () => {
      Y.applyUpdate(new Y.Doc(), update)
    })
  })
}

describe('10 bytes claiming 30 million structs', () => {
  bench('validateUpdate refuses', () => {
    try {
      validateUpdate(bomb)
    } catch {
      // refused, as intended
    }
  })
  bench('Y.decodeUpdate refuses', () => {
    try {
      Y.decodeUpdate(bomb)
    } catch {
      // refused
    }
  })
  bench(
    'Y.applyUpdate (what happens without validation)',
    () => {
      try {
        Y.applyUpdate(new Y.Doc(), bomb)
      } catch {
        // throws, after allocating
      }
    },
    { iterations: 3, time: 0 },
  )
})
