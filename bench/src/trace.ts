import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { marker } from './markers.js'
import { seededRandom } from '@tandem/storage'

/**
 * A synthetic editing trace: one author typing into a `Y.Text` named `t` with a seeded random
 * walk: mostly single characters at a cursor, backspaces, cursor jumps, pastes and range deletes.
 * Each operation is one Yjs update (as an editor binding emits them). The last operation appends
 * a marker (`<0.N.0>`), so a reader knows it has everything once it sees it: servers keep the
 * order of one sender's updates.
 *
 * Generated once per (operations, seed) and cached under the OS temp directory.
 */
export interface Trace {
  readonly operations: number
  readonly seed: number
  /** One update per operation, in order. */
  readonly updates: readonly Uint8Array[]
  /** The document after every operation, as one update. */
  readonly finalState: Uint8Array
  readonly finalText: string
  readonly inserts: number
  readonly deletes: number
}

const FORMAT_VERSION = 1
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz     eeeaaoottiinnsshhrrdl,.\n'


export const generateTrace = (operations: number, seed: number): Trace => {
  const next = seededRandom(seed)
  const doc = new Y.Doc({ gc: true })
  doc.clientID = 1_000_000 + seed
  const text = doc.getText('t')
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  const char = () => ALPHABET[Math.floor(next() * ALPHABET.length)]!
  const word = (n: number) => Array.from({ length: n }, char).join('')
  let cursor = 0
  let inserts = 0
  let deletes = 0
  for (let op = 0; op < operations - 1; op++) {
    const length = text.length
    const r = next()
    if (r < 0.8 || length < 50) {
      text.insert(cursor, char())
      cursor++
      inserts++
    } else if (r < 0.93) {
      if (cursor === 0) cursor = length
      text.delete(cursor - 1, 1)
      cursor--
      deletes++
    } else if (r < 0.96) {
      cursor = Math.floor(next() * length)
      text.insert(cursor, char())
      cursor++
      inserts++
    } else if (r < 0.985) {
      const paste = word(10 + Math.floor(next() * 50))
      text.insert(cursor, paste)
      cursor += paste.length
      inserts++
    } else {
      const at = Math.floor(next() * (length - 40))
      text.delete(at, 5 + Math.floor(next() * 35))
      cursor = at
      deletes++
    }
  }
  text.insert(text.length, marker(0, operations, 0))
  inserts++
  return { operations, seed, updates, finalState: Y.encodeStateAsUpdate(doc), finalText: text.toString(), inserts, deletes }
}

const cachePath = (operations: number, seed: number): string =>
  join(tmpdir(), 'tandem-bench', `trace-v${FORMAT_VERSION}-${operations}-${seed}.bin`)

/** The trace, from the cache when it is there; returns it and the cache file (workers read that). */
export const loadTrace = (operations: number, seed: number): { trace: Trace; path: string } => {
  const path = cachePath(operations, seed)
  if (existsSync(path)) return { trace: readTraceFile(path), path }
  const trace = generateTrace(operations, seed)
  mkdirSync(join(tmpdir(), 'tandem-bench'), { recursive: true })
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, FORMAT_VERSION)
  encoding.writeVarUint(encoder, trace.operations)
  encoding.writeVarUint(encoder, trace.seed)
  encoding.writeVarUint(encoder, trace.inserts)
  encoding.writeVarUint(encoder, trace.deletes)
  encoding.writeVarUint8Array(encoder, trace.finalState)
  encoding.writeVarString(encoder, trace.finalText)
  for (const update of trace.updates) encoding.writeVarUint8Array(encoder, update)
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, encoding.toUint8Array(encoder))
  renameSync(temporary, path)
  return { trace, path }
}

export const readTraceFile = (path: string): Trace => {
  const decoder = decoding.createDecoder(readFileSync(path))
  const version = decoding.readVarUint(decoder)
  if (version !== FORMAT_VERSION) throw new Error(`trace file ${path} has format ${version}, expected ${FORMAT_VERSION}`)
  const operations = decoding.readVarUint(decoder)
  const seed = decoding.readVarUint(decoder)
  const inserts = decoding.readVarUint(decoder)
  const deletes = decoding.readVarUint(decoder)
  const finalState = decoding.readVarUint8Array(decoder)
  const finalText = decoding.readVarString(decoder)
  const updates: Uint8Array[] = []
  for (let i = 0; i < operations; i++) updates.push(decoding.readVarUint8Array(decoder))
  return { operations, seed, updates, finalState, finalText, inserts, deletes }
}
