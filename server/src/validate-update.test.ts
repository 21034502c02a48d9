import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { TandemError } from '@tandem/protocol'
import { validateUpdate } from './validate-update.js'

/** A document using every content kind Yjs encodes (string, embed, format, type, any, binary, doc, deleted, GC). */
const richUpdates = (): { doc: Y.Doc; updates: Uint8Array[] } => {
  const doc = new Y.Doc({ gc: true })
  doc.clientID = 7
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  const text = doc.getText('text')
  text.insert(0, 'hello 😀 wörld')
  text.format(0, 5, { bold: true })
  text.insertEmbed(3, { image: 'x.png' })
  text.delete(1, 2)
  const map = doc.getMap('map')
  map.set('n', 1.5)
  map.set('big', 2n ** 40n)
  map.set('nested', { a: [1, 'two', null, true, { deep: new Uint8Array([1, 2]) }] })
  map.set('bin', new Uint8Array([9, 8, 7]))
  map.set('sub', new Y.Doc())
  const xml = doc.getXmlFragment('xml')
  const element = new Y.XmlElement('p')
  xml.insert(0, [element, new Y.XmlText('t')])
  element.setAttribute('class', 'c')
  const array = doc.getArray('array')
  array.insert(0, [1, 2, 3, new Y.Map(), new Y.Array()])
  array.delete(0, 2)
  return { doc, updates }
}

const rejects = (update: Uint8Array): boolean => {
  try {
    validateUpdate(update)
    return false
  } catch (error) {
    expect(error).toBeInstanceOf(TandemError)
    expect((error as TandemError).code).toBe('INVALID_UPDATE')
    return true
  }
}

describe('validateUpdate', () => {
  it('accepts every content kind Yjs produces and reports the clock ranges written', () => {
    const { doc, updates } = richUpdates()
    for (const update of updates) validateUpdate(update)
    const full = Y.encodeStateAsUpdate(doc)
    const shape = validateUpdate(full)
    expect(shape.ranges).toEqual([7, 0, Y.getState(doc.store, 7)])
  })

  it('reports the origins items name, and whether every struct is an item placed by an origin or under a root type', () => {
    const doc = new Y.Doc()
    doc.clientID = 5
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    doc.getText('t').insert(0, 'ab')
    doc.getText('t').insert(2, 'c')
    const nested = new Y.Text()
    doc.getMap('m').set('k', nested)
    nested.insert(0, 'x')
    const [first, append, mapSet, nestedInsert] = updates.map(validateUpdate)
    expect([first!.origins, first!.plainItems]).toEqual([[], true])
    // The appended item's left origin is the last character before it: client 5, clock 1.
    expect([append!.origins, append!.plainItems]).toEqual([[5, 5, 1], true])
    expect(mapSet!.plainItems).toBe(true)
    // The first item of a nested type names its parent by ID: Yjs trusts that ID to be a type.
    expect(nestedInsert!.plainItems).toBe(false)
    // A GC struct: client 5, clock 10, length 3; an empty delete set.
    const gc = encoding.createEncoder()
    for (const value of [1, 1, 5, 10]) encoding.writeVarUint(gc, value)
    encoding.writeUint8(gc, 0)
    encoding.writeVarUint(gc, 3)
    encoding.writeVarUint(gc, 0)
    expect(validateUpdate(encoding.toUint8Array(gc)).plainItems).toBe(false)
    // Bytes after the delete set: Yjs ignores them, but they are not relayed ahead as received.
    expect(validateUpdate(new Uint8Array([...updates[1]!, 0, 0, 0])).plainItems).toBe(false)
    // A client listed twice (the second entry empty): Yjs keeps only the last entry.
    const twice = encoding.createEncoder()
    encoding.writeVarUint(twice, 2)
    encoding.writeUint8Array(twice, updates[1]!.subarray(1, updates[1]!.length - 1))
    for (const value of [0, 5, 3]) encoding.writeVarUint(twice, value)
    encoding.writeVarUint(twice, 0)
    expect(validateUpdate(encoding.toUint8Array(twice)).plainItems).toBe(false)
    // Two clients, each once: still plain.
    const a = new Y.Doc()
    a.clientID = 1
    a.getText('t').insert(0, 'x')
    const b = new Y.Doc()
    b.clientID = 2
    b.getText('t').insert(0, 'y')
    const both = Y.mergeUpdates([Y.encodeStateAsUpdate(a), Y.encodeStateAsUpdate(b)])
    expect(validateUpdate(both).plainItems).toBe(true)
  })

  it('refuses 10 bytes claiming 30 million structs without looping over them', () => {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, 30_000_000)
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, 0)
    encoding.writeUint8(encoder, 0)
    encoding.writeVarUint(encoder, 1)
    const update = encoding.toUint8Array(encoder)
    expect(update.length).toBeLessThanOrEqual(10)
    expect(rejects(update)).toBe(true)
  })

  it('refuses valid structs followed by a broken delete set (Yjs would apply the structs, then throw)', () => {
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'abc')
    const update = Y.encodeStateAsUpdate(doc)
    // The empty delete set is the last byte (0): claim 5 clients instead.
    const broken = Uint8Array.from(update)
    broken[broken.length - 1] = 5
    expect(rejects(broken)).toBe(true)
    const target = new Y.Doc()
    expect(() => Y.applyUpdate(target, broken)).toThrow()
    // This is the failure validation prevents: the structs went in even though the update threw.
    expect(target.getText('t').toString()).toBe('abc')
  })

  it('refuses clock ranges reaching 2^53', () => {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, 5)
    encoding.writeVarUint(encoder, Number.MAX_SAFE_INTEGER - 1)
    encoding.writeUint8(encoder, 0) // GC
    encoding.writeVarUint(encoder, 10)
    encoding.writeVarUint(encoder, 0)
    expect(rejects(encoding.toUint8Array(encoder))).toBe(true)
  })

  it('every truncation and every single-bit flip of valid updates is refused, or applies without throwing', () => {
    const { doc, updates } = richUpdates()
    const samples = [...updates, Y.encodeStateAsUpdate(doc)]
    let refused = 0
    let accepted = 0
    for (const update of samples) {
      const variants: Uint8Array[] = []
      for (let cut = 0; cut < update.length; cut++) variants.push(update.subarray(0, cut))
      for (let bit = 0; bit < update.length * 8; bit++) {
        const flipped = Uint8Array.from(update)
        flipped[bit >> 3]! ^= 1 << (bit & 7)
        variants.push(flipped)
      }
      for (const variant of variants) {
        if (rejects(variant)) {
          refused++
          continue
        }
        accepted++
        // What we let through must not make Yjs throw (the all-or-nothing guarantee).
        const target = new Y.Doc()
        expect(() => Y.applyUpdate(target, variant)).not.toThrow()
        target.destroy()
      }
    }
    expect(refused).toBeGreaterThan(0)
    expect(accepted).toBeGreaterThan(0)
  })

  it('random mutations of a two-client document: whatever passes applies without throwing', () => {
    const seed = 4242
    const random = seededRandom(seed)
    const a = richUpdates().doc
    const b = new Y.Doc()
    b.clientID = 9
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
    b.getText('text').insert(2, 'from b')
    b.getArray('array').delete(0, 1)
    const base = Y.encodeStateAsUpdate(b)
    for (let round = 0; round < 5_000; round++) {
      const mutated = Uint8Array.from(base)
      const edits = 1 + Math.floor(random() * 4)
      for (let e = 0; e < edits; e++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256)
      if (rejects(mutated)) continue
      const target = new Y.Doc()
      try {
        Y.applyUpdate(target, mutated)
      } catch (error) {
        throw new Error(`seed ${seed} round ${round}: accepted an update Yjs throws on: ${String(error)}`)
      }
      target.destroy()
    }
  })
})

/** Local copy of test/support's mulberry32 (unit tests stay inside their package). */
const seededRandom = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
