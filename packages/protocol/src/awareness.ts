import * as encoding from 'lib0/encoding'
import { Reader } from './reader.js'
import { TandemError } from './errors.js'

/**
 * One entry of a y-protocols awareness update. `state` is kept as the JSON text it arrived as, so
 * a relay can forward it without parsing and re-serialising; `null` text means "client removed".
 */
export interface AwarenessEntry {
  readonly clientId: number
  readonly clock: number
  readonly state: string
}

/**
 * Decodes `varUint(n) n × (varUint clientID, varUint clock, varString JSON)`. Refuses a count
 * larger than the bytes could hold before looping, and every state longer than `maxStateBytes`.
 */
export const decodeAwarenessUpdate = (bytes: Uint8Array, maxStateBytes = Number.MAX_SAFE_INTEGER): AwarenessEntry[] => {
  const reader = new Reader(bytes)
  const count = reader.uint()
  // Each entry takes at least 3 bytes (three one-byte varUints).
  if (count * 3 > reader.remaining) {
    throw new TandemError('MALFORMED_MESSAGE', `awareness claims ${count} entries in ${reader.remaining} bytes`)
  }
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const clientId = reader.uint()
    const clock = reader.uint()
    const state = reader.string(maxStateBytes)
    entries.push({ clientId, clock, state })
  }
  reader.end()
  return entries
}

export const encodeAwarenessUpdate = (entries: readonly AwarenessEntry[]): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, entries.length)
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId)
    encoding.writeVarUint(encoder, entry.clock)
    encoding.writeVarString(encoder, entry.state)
  }
  return encoding.toUint8Array(encoder)
}
