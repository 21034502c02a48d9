/**
 * Edits carry their origin and send time as text: `<writer.seq.sentAtMicros>`. A reader finds them
 * by scanning the raw update bytes, so it needs no Y.Doc and works whatever the server did to the
 * update on the way (merged per tick, merged with `Y.mergeUpdates`, or relayed as is): Yjs keeps
 * the text of adjacent string items contiguous when it merges them.
 *
 * Times come from `process.hrtime`, i.e. CLOCK_MONOTONIC, which is one clock for every process on
 * the machine, so a writer's timestamp can be compared with another process' receive time.
 */

const OPEN = 0x3c // <
const CLOSE = 0x3e // >
const DOT = 0x2e // .
const ZERO = 0x30
const NINE = 0x39

/** Monotonic microseconds, comparable across processes on one machine. */
export const nowMicros = (): number => Number(process.hrtime.bigint() / 1000n)

export const marker = (writer: number, seq: number, sentAtMicros: number): string => `<${writer}.${seq}.${sentAtMicros}>`

/** Pads a marker to `length` characters, so edits have a realistic, fixed size. */
export const markedEdit = (writer: number, seq: number, sentAtMicros: number, length: number): string => {
  const text = marker(writer, seq, sentAtMicros)
  return text.length >= length ? text : text + '.'.repeat(length - text.length)
}

export interface MarkerVisitor {
  (writer: number, seq: number, sentAtMicros: number): void
}

/**
 * Calls `visit` for every well-formed marker in `bytes`. A stray `<` among the binary parts of an
 * update is rejected by the strict grammar (three dot-separated numbers, then `>`).
 */
export const scanMarkers = (bytes: Uint8Array, visit: MarkerVisitor): number => {
  let found = 0
  const end = bytes.length
  let i = 0
  while (i < end) {
    if (bytes[i] !== OPEN) {
      i++
      continue
    }
    let j = i + 1
    const fields = [0, 0, 0]
    let field = 0
    let digits = 0
    let ok = false
    while (j < end) {
      const c = bytes[j]!
      if (c >= ZERO && c <= NINE) {
        fields[field] = fields[field]! * 10 + (c - ZERO)
        digits++
        if (digits > 16) break
      } else if (c === DOT && digits > 0 && field < 2) {
        field++
        digits = 0
      } else {
        ok = c === CLOSE && field === 2 && digits > 0
        break
      }
      j++
    }
    if (ok) {
      visit(fields[0]!, fields[1]!, fields[2]!)
      found++
      i = j + 1
    } else {
      i++
    }
  }
  return found
}
