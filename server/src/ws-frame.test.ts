import { describe, expect, it } from 'vitest'
import * as ws from 'ws'
import { wsFrame } from './ws-frame.js'

/** `ws`'s frame writer: exported at runtime, absent from its type definitions. */
const Sender = (ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } }).Sender

/** What `ws` writes for a binary message from a server (header and payload, concatenated). */
const framedByWs = (payload: Buffer): Buffer =>
  Buffer.concat(
    Sender.frame(payload, {
      fin: true,
      opcode: 2,
      mask: false,
      readOnly: true,
      rsv1: false,
    }),
  )

describe('wsFrame', () => {
  it('frames a payload byte for byte as ws does, at every length encoding and its edges', () => {
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const payload = Buffer.alloc(length, length % 251)
      expect(wsFrame(payload).equals(framedByWs(payload)), `length ${length}`).toBe(true)
    }
  })
})
