import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { lengthPrefixed, stringPrefixed, varUintSize } from './exact-frame.js'
import { encodeMessage, writeMessage, type YMessage } from './y-websocket.js'

const lib0 = (write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

describe('exactly sized frames', () => {
  // Around every boundary of the varUint length (1, 2, 3 and 4 bytes).
  const sizes = [0, 1, 99, 100, 101, 127, 128, 129, 16_383, 16_384, 16_385, 2_097_151, 2_097_152]
  const payload = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff)

  it('writes the same bytes as lib0 for a varUint head and a varUint8Array payload', () => {
    for (const size of sizes) {
      const bytes = payload(size)
      for (const head of [[0, 2], [1], [0, 0], [300, 70_000]]) {
        const expected = lib0((encoder) => {
          for (const n of head) encoding.writeVarUint(encoder, n)
          encoding.writeVarUint8Array(encoder, bytes)
        })
        // Compared as Buffers: element-wise deep equality of 2 MB arrays takes minutes.
        expect(Buffer.from(lengthPrefixed(head, bytes)).equals(expected), `head ${head.join(',')} size ${size}`).toBe(true)
      }
    }
  })

  it('writes the same bytes as lib0 for a varString followed by raw bytes (ASCII, multi-byte, long names)', () => {
    for (const address of ['', 'doc', 'naïve-文档-🙂', 'x'.repeat(200), '\0session']) {
      const rest = payload(300)
      expect(stringPrefixed(address, rest), address).toEqual(
        lib0((encoder) => {
          encoding.writeVarString(encoder, address)
          encoding.writeUint8Array(encoder, rest)
        }),
      )
    }
  })

  it('counts varUint bytes like lib0', () => {
    for (const n of [0, 127, 128, 16_383, 16_384, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      expect(varUintSize(n), String(n)).toBe(lib0((encoder) => encoding.writeVarUint(encoder, n)).byteLength)
    }
  })

  it("encodeMessage's fast path writes what writeMessage (lib0) writes, for every message it takes", () => {
    const update = payload(300)
    const messages: YMessage[] = [
      { type: 'sync-step1', stateVector: payload(5) },
      { type: 'sync-step2', update },
      { type: 'sync-update', update },
      { type: 'awareness', update },
    ]
    for (const message of messages) {
      expect(encodeMessage(message), message.type).toEqual(lib0((encoder) => writeMessage(encoder, message)))
    }
  })
})
