import * as encoding from 'lib0/encoding'
import { Reader } from './reader.js'
import { TandemError } from './errors.js'
import { lengthPrefixed } from './exact-frame.js'
import { readSync, SyncStep, writeSync, type SyncMessage } from './sync.js'

/**
 * The y-websocket dialect: one y-protocols message per binary frame, for the document named in
 * the URL path. Grammar in PROTOCOL.md.
 */
export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const

export type YMessage =
  | SyncMessage
  | { readonly type: 'awareness'; readonly update: Uint8Array }
  | { readonly type: 'auth-denied'; readonly reason: string }
  | { readonly type: 'query-awareness' }

export interface DecodeLimits {
  /** Largest update or awareness payload accepted inside one message. */
  readonly maxPayloadBytes: number
}

const defaultDecodeLimits: DecodeLimits = { maxPayloadBytes: Number.MAX_SAFE_INTEGER }

/** Decodes one frame of the y-websocket dialect. Throws `TandemError` on anything malformed. */
export const decodeMessage = (frame: Uint8Array, limits: DecodeLimits = defaultDecodeLimits): YMessage => {
  const reader = new Reader(frame)
  const message = readMessage(reader, limits)
  reader.end()
  return message
}

/** Reads one y-protocols message from a reader (shared with the multiplexed dialect's sync/awareness). */
export const readMessage = (reader: Reader, limits: DecodeLimits): YMessage => {
  const type = reader.uint()
  switch (type) {
    case MessageType.sync:
      return readSync(reader, limits.maxPayloadBytes)
    case MessageType.awareness:
      return { type: 'awareness', update: reader.bytes(limits.maxPayloadBytes) }
    case MessageType.auth: {
      const sub = reader.uint()
      if (sub !== 0) throw new TandemError('UNKNOWN_MESSAGE_TYPE', `auth sub-type ${sub}`)
      return { type: 'auth-denied', reason: reader.string(4096) }
    }
    case MessageType.queryAwareness:
      return { type: 'query-awareness' }
    default:
      throw new TandemError('UNKNOWN_MESSAGE_TYPE', `message type ${type}`)
  }
}

export const writeMessage = (encoder: encoding.Encoder, message: YMessage): void => {
  switch (message.type) {
    case 'sync-step1':
    case 'sync-step2':
    case 'sync-update':
      encoding.writeVarUint(encoder, MessageType.sync)
      writeSync(encoder, message)
      return
    case 'awareness':
      encoding.writeVarUint(encoder, MessageType.awareness)
      encoding.writeVarUint8Array(encoder, message.update)
      return
    case 'auth-denied':
      encoding.writeVarUint(encoder, MessageType.auth)
      encoding.writeVarUint(encoder, 0)
      encoding.writeVarString(encoder, message.reason)
      return
    case 'query-awareness':
      encoding.writeVarUint(encoder, MessageType.queryAwareness)
  }
}

export const encodeMessage = (message: YMessage): Uint8Array => {
  // The hot messages (every broadcast and sync answer) in one exactly sized array.
  switch (message.type) {
    case 'sync-step1':
      return lengthPrefixed([MessageType.sync, SyncStep.step1], message.stateVector)
    case 'sync-step2':
      return lengthPrefixed([MessageType.sync, SyncStep.step2], message.update)
    case 'sync-update':
      return lengthPrefixed([MessageType.sync, SyncStep.update], message.update)
    case 'awareness':
      return lengthPrefixed([MessageType.awareness], message.update)
  }
  const encoder = encoding.createEncoder()
  writeMessage(encoder, message)
  return encoding.toUint8Array(encoder)
}
