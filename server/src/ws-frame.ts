/**
 * One whole WebSocket frame as the server sends it (RFC 6455 §5.2): FIN, opcode 2 (binary), no
 * mask, the payload length in 7, 16 or 64 bits, then the payload, in one Buffer.
 *
 * A broadcast is framed once and the same bytes are written to every recipient's socket
 * (`Connection.send` with its `wire`), instead of `ws` building a header, an options object and two writes
 * per recipient. ws-frame.test.ts holds it byte for byte to `ws`'s own `Sender.frame`.
 */
export const wsFrame = (payload: Uint8Array): Buffer => {
  const length = payload.byteLength
  const headerBytes = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.allocUnsafeSlow(headerBytes + length)
  frame[0] = 0x82
  if (length < 126) {
    frame[1] = length
  } else if (length < 65_536) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
  frame.set(payload, headerBytes)
  return frame
}
