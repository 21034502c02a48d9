/**
 * Messages that are a few small numbers and one length-prefixed payload (every sync and awareness
 * message), written into one array of exactly the right size. lib0's encoder starts at 100 bytes
 * and grows by doubling, then copies everything into a final array: for a 2 KB update that is five
 * allocations and two copies, per broadcast. The bytes are the same as lib0's.
 */

/** Bytes lib0's `writeVarUint` uses for `n`: 7 bits per byte, the high bit set on all but the last. */
export const varUintSize = (n: number): number => {
  let size = 1
  while (n > 0x7f) {
    n = Math.floor(n / 128)
    size++
  }
  return size
}

const writeVarUint = (out: Uint8Array, position: number, n: number): number => {
  while (n > 0x7f) {
    out[position++] = 0x80 | (n & 0x7f)
    n = Math.floor(n / 128)
  }
  out[position++] = n
  return position
}

/** `head` as varUints, then `payload` as a varUint8Array (its length, then its bytes). */
export const lengthPrefixed = (head: readonly number[], payload: Uint8Array): Uint8Array => {
  let size = varUintSize(payload.byteLength) + payload.byteLength
  for (const n of head) size += varUintSize(n)
  const out = new Uint8Array(size)
  let position = 0
  for (const n of head) position = writeVarUint(out, position, n)
  position = writeVarUint(out, position, payload.byteLength)
  out.set(payload, position)
  return out
}

const utf8 = new TextEncoder()

/** `text` as a varString (UTF-8 length, then bytes), followed by `rest` as it is. */
export const stringPrefixed = (text: string, rest: Uint8Array): Uint8Array => {
  const bytes = utf8.encode(text)
  const out = new Uint8Array(varUintSize(bytes.byteLength) + bytes.byteLength + rest.byteLength)
  let position = writeVarUint(out, 0, bytes.byteLength)
  out.set(bytes, position)
  position += bytes.byteLength
  out.set(rest, position)
  return out
}
