import { isUtf8 } from 'node:buffer'
import { TandemError } from '@tandem/protocol'

/**
 * What an update writes: for each client, the clock range its structs cover. Flat triples
 * `[client, startClock, endClock, ...]` so a scan allocates one small array per update.
 */
export interface UpdateShape {
  readonly ranges: readonly number[]
  /** How many delete ranges its delete set holds. */
  readonly deletes: number
  /** Bytes of the update (for size accounting). */
  readonly bytes: number
  /** Every origin an item names: triples `[client of the item, client, clock of its origin, ...]`. */
  readonly origins: readonly number[]
  /**
   * Every struct is an item placed by an origin or directly under a root type named by a string:
   * no GC or Skip struct, no parent given by an ID (which Yjs trusts to be a type); each client
   * listed once and with structs; no bytes after the delete set. Room relays such an update ahead
   * of applying it when its origins are known (see `Room.relayAhead`).
   */
  readonly plainItems: boolean
}

/**
 * Walks a Yjs v1 update byte by byte, the way `Y.applyUpdate` will read it, and refuses it before
 * Yjs sees it if anything is off. It never allocates for what the bytes claim: every count is
 * checked against the bytes left first (a struct, a delete entry or a content element takes at
 * least one byte), so "30 million structs" in 10 bytes is refused after reading 3 varUints.
 *
 * Why a hand-written walk rather than `Y.decodeUpdate`: Yjs reads all structs, integrates them,
 * and only then reads the delete set, so a broken delete set throws after the structs are in the
 * document (and emitted). Walking the whole update first makes the apply all-or-nothing for every
 * decode error; Yjs's own decoder would also do that, but builds an object per struct (measured
 * in validate-update.test.ts). Integration itself (pending structs, deletes of unknown ranges)
 * never throws on bytes that decode, and Room guards the rare remaining case anyway.
 *
 * Checks: varUints fit 53 bits; counts fit the remaining bytes; clock ranges stay below 2^53;
 * content kinds are the ones Yjs knows (1-9); type refs 0-6; strings are valid UTF-8 and JSON
 * content parses; `readAny` values are well-formed and nest at most `MAX_ANY_DEPTH` deep; no empty
 * struct or delete range; no struct refers to a later clock of its own client.
 */
export const validateUpdate = (update: Uint8Array): UpdateShape => {
  const scanner = new UpdateScanner(update)
  try {
    const ranges = scanner.scan()
    return { ranges, deletes: scanner.deletes, bytes: update.byteLength, origins: scanner.origins, plainItems: scanner.plainItems }
  } catch (error) {
    if (error instanceof TandemError) throw error
    // A RangeError from a pathological nesting depth or similar: still a refusal, never a crash.
    throw new TandemError('INVALID_UPDATE', error instanceof Error ? error.message : String(error))
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const MAX_ANY_DEPTH = 64
const BITS5 = 31
const BIT6 = 32
const BIT7 = 64
const BIT8 = 128

const textDecoder = new TextDecoder()

const invalid = (detail: string): TandemError => new TandemError('INVALID_UPDATE', detail)

class UpdateScanner {
  private pos = 0
  /** Delete ranges seen by `scan()`. */
  deletes = 0
  /** See UpdateShape. */
  readonly origins: number[] = []
  plainItems = true
  /** The ID `reference` read last. */
  private lastClient = 0
  private lastClock = 0
  /** Where the last string's bytes started (its end is `pos`). */
  private stringStart = 0

  constructor(private readonly bytes: Uint8Array) {}

  scan(): number[] {
    const ranges: number[] = []
    const clients = this.count('clients')
    // Only an update of several clients pays for the set.
    const seen = clients > 1 ? new Set<number>() : null
    for (let c = 0; c < clients; c++) {
      const structs = this.count('structs')
      const client = this.uint()
      const start = this.uint()
      // Yjs keeps the last entry of a client listed twice (Y.mergeUpdates keeps both), and writes
      // no empty entry: neither is relayed ahead.
      if (structs === 0 || seen?.has(client) === true) this.plainItems = false
      seen?.add(client)
      let clock = start
      for (let s = 0; s < structs; s++) clock = this.struct(client, clock)
      if (structs > 0) ranges.push(client, start, clock)
    }
    this.deleteSet()
    // Yjs ignores trailing bytes; so do we (some encoders pad), but such an update is not relayed
    // ahead as received: applied first, only its Yjs update event is stored and sent.
    if (this.pos !== this.bytes.length) this.plainItems = false
    return ranges
  }

  /** One struct of `client` at `clock`; returns the clock after it. */
  private struct(client: number, clock: number): number {
    const info = this.byte()
    const ref = info & BITS5
    let length: number
    if (ref === 0 || ref === 10) {
      // GC or Skip: a length.
      length = this.uint()
      this.plainItems = false
    } else {
      if ((info & BIT8) !== 0) this.origin(client, clock)
      if ((info & BIT7) !== 0) this.origin(client, clock)
      if ((info & (BIT7 | BIT8)) === 0) {
        if (this.uint() === 1) {
          this.string()
        } else {
          this.reference(client, clock)
          this.plainItems = false
        }
        if ((info & BIT6) !== 0) this.string()
      }
      length = this.content(ref)
    }
    // Yjs never writes empty structs, and its update encoder throws on an empty range.
    if (length === 0) throw invalid('empty struct')
    const end = clock + length
    if (end > MAX_SAFE) throw invalid('clock range beyond 2^53')
    return end
  }

  /** Item content of kind `ref`; returns its length in clock units. */
  private content(ref: number): number {
    switch (ref) {
      case 1: // Deleted
        return this.uint()
      case 2: {
        // JSON: n strings
        const n = this.count('JSON values')
        for (let i = 0; i < n; i++) this.json(true)
        return n
      }
      case 3: // Binary
        this.skip(this.uint())
        return 1
      case 4: // String: its length in UTF-16 code units
        return this.string()
      case 5: // Embed
        this.json(false)
        return 1
      case 6: // Format: key, value
        this.string()
        this.json(false)
        return 1
      case 7: {
        // Type
        const typeRef = this.uint()
        if (typeRef > 6) throw invalid(`unknown type ref ${typeRef}`)
        if (typeRef === 3 || typeRef === 5) this.string()
        return 1
      }
      case 8: {
        // Any: n values
        const n = this.count('Any values')
        for (let i = 0; i < n; i++) this.any(0)
        return n
      }
      case 9: // Doc: guid, options (an object: Yjs reads fields of it)
        this.string()
        if (this.bytes[this.pos] !== 118) throw invalid('subdocument options are not an object')
        this.any(0)
        return 1
      default:
        throw invalid(`unknown content kind ${ref}`)
    }
  }

  private deleteSet(): void {
    const clients = this.count('delete-set clients')
    for (let c = 0; c < clients; c++) {
      this.uint()
      const deletes = this.count('deletes')
      this.deletes += deletes
      for (let d = 0; d < deletes; d++) {
        const clock = this.uint()
        const length = this.uint()
        // Yjs's encoder throws on an empty range while emitting the update event.
        if (length === 0) throw invalid('empty delete range')
        if (clock + length > MAX_SAFE) throw invalid('delete range beyond 2^53')
      }
    }
  }

  /** lib0 `readAny`. */
  private any(depth: number): void {
    if (depth > MAX_ANY_DEPTH) throw invalid('value nested too deeply')
    const tag = this.byte()
    switch (tag) {
      case 127: // undefined
      case 126: // null
      case 121: // false
      case 120: // true
        return
      case 125: // varInt
        this.varInt()
        return
      case 124: // float32
        this.skip(4)
        return
      case 123: // float64
      case 122: // bigint64
        this.skip(8)
        return
      case 119: // string
        this.string()
        return
      case 118: {
        // object: n × (key, value)
        const n = this.count('object entries')
        for (let i = 0; i < n; i++) {
          this.string()
          this.any(depth + 1)
        }
        return
      }
      case 117: {
        const n = this.count('array items')
        for (let i = 0; i < n; i++) this.any(depth + 1)
        return
      }
      case 116: // Uint8Array
        this.skip(this.uint())
        return
      default:
        throw invalid(`unknown value tag ${tag}`)
    }
  }

  /** A varString; returns its length in UTF-16 code units (what Yjs counts for ContentString). */
  private string(): number {
    const length = this.uint()
    const start = this.pos
    this.skip(length)
    this.stringStart = start
    const bytes = this.bytes
    let units = 0
    let ascii = true
    for (let i = start; i < start + length; i++) {
      const b = bytes[i]!
      if (b < 0x80) units++
      else {
        ascii = false
        // Lead bytes start a code point; 4-byte sequences are two UTF-16 units.
        if (b >= 0xc0) units += b >= 0xf0 ? 2 : 1
      }
    }
    if (!ascii && !isUtf8(bytes.subarray(start, start + length))) throw invalid('string is not valid UTF-8')
    return units
  }

  /** A varString Yjs will `JSON.parse` (ContentJSON also allows the text `undefined`). */
  private json(allowUndefined: boolean): void {
    this.string()
    const text = textDecoder.decode(this.bytes.subarray(this.stringStart, this.pos))
    if (allowUndefined && text === 'undefined') return
    try {
      JSON.parse(text)
    } catch {
      throw invalid('JSON content does not parse')
    }
  }

  /**
   * An origin or parent ID. One of the struct's own client must lie before the struct: Yjs checks
   * other clients' IDs against its state (and waits for them), but assumes its own are present.
   * The ID read is left in `lastClient` / `lastClock`.
   */
  private reference(client: number, clock: number): void {
    const idClient = this.uint()
    const idClock = this.uint()
    if (idClient === client && idClock >= clock) throw invalid('struct refers to its own future')
    this.lastClient = idClient
    this.lastClock = idClock
  }

  /** A left or right origin: a reference, recorded in `origins`. */
  private origin(client: number, clock: number): void {
    this.reference(client, clock)
    this.origins.push(client, this.lastClient, this.lastClock)
  }

  /** A count that must fit in the bytes left (each counted element takes at least one byte). */
  private count(what: string): number {
    const n = this.uint()
    if (n > this.bytes.length - this.pos) {
      throw invalid(`claims ${n} ${what} in ${this.bytes.length - this.pos} bytes`)
    }
    return n
  }

  private byte(): number {
    if (this.pos >= this.bytes.length) throw invalid('unexpected end')
    return this.bytes[this.pos++]!
  }

  private skip(n: number): void {
    if (n > this.bytes.length - this.pos) throw invalid('unexpected end')
    this.pos += n
  }

  /** LEB128 varUint, at most 53 bits (as lib0). */
  private uint(): number {
    const bytes = this.bytes
    let num = 0
    let mult = 1
    for (;;) {
      if (this.pos >= bytes.length) throw invalid('unexpected end')
      const b = bytes[this.pos++]!
      num += (b & 0x7f) * mult
      if (b < 0x80) return num
      mult *= 128
      if (num > MAX_SAFE || mult > 2 ** 56) throw invalid('integer out of range')
    }
  }

  /** lib0 varInt: sign bit in the first byte. */
  private varInt(): void {
    let b = this.byte()
    if (b < 0x80) return
    let mult = 64
    for (;;) {
      b = this.byte()
      if (b < 0x80) return
      mult *= 128
      if (mult > 2 ** 56) throw invalid('integer out of range')
    }
  }
}
