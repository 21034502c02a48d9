import { ywebsocket, type TandemError, type YMessage } from '@tandem/protocol'
import { wsFrame } from './ws-frame.js'

/**
 * A message for one document, encoded once. `inner` is the y-protocols message; a dialect that
 * frames it differently (the multiplexed one prefixes the document name) caches its framing here,
 * so a broadcast frames at most once per dialect, not once per recipient.
 */
export interface Outbound {
  readonly inner: Uint8Array
  framed?: Uint8Array
  /** `inner` (y-websocket) or `framed` (multiplexed) as a whole WebSocket frame, made once (`wire`). */
  innerWire?: Buffer | null
  framedWire?: Buffer | null
}

/**
 * Messages up to this size are framed once and the frame is written to every recipient; a larger
 * one (a big document's sync answer, sent to one client) goes through `ws`, which writes header and
 * payload without copying the payload.
 */
export const WIRE_MAX_BYTES = 16 * 1024

/** `payload` as a whole WebSocket frame, or null when it is larger than WIRE_MAX_BYTES. */
export const wire = (payload: Uint8Array): Buffer | null => (payload.byteLength > WIRE_MAX_BYTES ? null : wsFrame(payload))

/**
 * An encoded y-protocols message as an Outbound. The bytes are wrapped in a Buffer view once here:
 * `ws` wraps anything else in a new Buffer on every send, once per recipient of a broadcast.
 */
export const outbound = (message: YMessage): Outbound => ({ inner: asBuffer(ywebsocket.encodeMessage(message)) })

/** A Buffer over the same bytes (no copy). */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * What a Room sees of a connection's presence in one document. The room never touches the socket:
 * the dialect session behind this interface frames, sends and closes.
 */
export interface RoomMember {
  /** Connection id, for logs. */
  readonly id: number
  readonly readOnly: boolean
  send(message: Outbound): void
  /** Refuse this member: the session closes its socket (y-websocket) or its document (multiplexed). */
  reject(error: TandemError): void
  /** `count` updates from this member are now durably stored (the multiplexed dialect acks them). */
  acknowledge(count: number): void
  /**
   * Backpressure (optional): true while the socket's send buffer is above its high water mark.
   * The room then skips this member's broadcasts and calls back through `onDrained` once, when
   * the buffer has drained, to send what it missed. Implement both or neither.
   */
  readonly congested?: boolean
  onDrained?(callback: () => void): void
}
