import * as encoding from 'lib0/encoding'

/** One client's own awareness state, encoded as y-protocols does: `varUint(1) clientID clock JSON`. */
export const encodeOwnAwareness = (clientID: number, clock: number, state: unknown): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, clientID)
  encoding.writeVarUint(encoder, clock)
  encoding.writeVarString(encoder, JSON.stringify(state))
  return encoding.toUint8Array(encoder)
}

const NULL_JSON = [0x6e, 0x75, 0x6c, 0x6c] // "null"

/**
 * Walks an awareness update without parsing the JSON states: `visit(clientID, present)` per entry,
 * `present` false when the state is `null` (a removal). Returns the number of entries.
 */
export const scanAwareness = (update: Uint8Array, visit: (clientID: number, present: boolean) => void): number => {
  let pos = 0
  const readVarUint = (): number => {
    let value = 0
    let multiplier = 1
    for (;;) {
      const byte = update[pos++]
      if (byte === undefined) throw new Error('awareness update ends early')
      value += (byte & 0x7f) * multiplier
      if (byte < 0x80) return value
      multiplier *= 128
    }
  }
  const count = readVarUint()
  for (let n = 0; n < count; n++) {
    const clientID = readVarUint()
    readVarUint() // clock
    const length = readVarUint()
    const present = !(
      length === 4 &&
      update[pos] === NULL_JSON[0] &&
      update[pos + 1] === NULL_JSON[1] &&
      update[pos + 2] === NULL_JSON[2] &&
      update[pos + 3] === NULL_JSON[3]
    )
    pos += length
    visit(clientID, present)
  }
  return count
}
