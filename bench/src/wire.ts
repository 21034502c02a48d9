import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { multiplexed } from '@tandem/protocol'

/**
 * The two dialects the load generator speaks, written directly with lib0 (no Y.Doc):
 * - `y-websocket`: one y-protocols message per frame, document named by the URL path;
 * - `multiplexed`: Hocuspocus framing, `varString(doc) varUint(type) payload`, at the root path.
 */
export type Dialect = 'y-websocket' | 'multiplexed'

/** The Hocuspocus message types, from the server's own codec (one table for both). */
export const MessageType = multiplexed.MultiplexedType

export const SyncType = { step1: 0, step2: 1, update: 2 } as const
const AuthType = multiplexed.AuthType

/** An encoded empty Yjs update (no structs, empty delete set). */
export const EMPTY_UPDATE = new Uint8Array([0, 0])
/** An encoded empty state vector: "send me everything". */
export const EMPTY_STATE_VECTOR = new Uint8Array([0])

const frame = (dialect: Dialect, doc: string, type: number, write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder()
  if (dialect === 'multiplexed') encoding.writeVarString(encoder, doc)
  encoding.writeVarUint(encoder, type)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

export const encodeSync = (dialect: Dialect, doc: string, syncType: number, payload: Uint8Array): Uint8Array =>
  frame(dialect, doc, MessageType.sync, (encoder) => {
    encoding.writeVarUint(encoder, syncType)
    encoding.writeVarUint8Array(encoder, payload)
  })

export const encodeAwareness = (dialect: Dialect, doc: string, update: Uint8Array): Uint8Array =>
  frame(dialect, doc, MessageType.awareness, (encoder) => encoding.writeVarUint8Array(encoder, update))

/** Multiplexed dialect only: the provider always opens a document with a token, `""` when it has none. */
export const encodeAuthToken = (doc: string, token: string): Uint8Array =>
  frame('multiplexed', doc, MessageType.auth, (encoder) => {
    encoding.writeVarUint(encoder, AuthType.token)
    encoding.writeVarString(encoder, token)
  })

export const PONG = new Uint8Array([MessageType.pong])

/** What a bench client needs to know about a frame from the server. */
export type Incoming =
  | { readonly kind: 'sync-step1' }
  | { readonly kind: 'sync-step2'; readonly payload: Uint8Array }
  | { readonly kind: 'sync-update'; readonly payload: Uint8Array }
  | { readonly kind: 'awareness'; readonly payload: Uint8Array }
  | { readonly kind: 'query-awareness' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'permission-denied'; readonly reason: string }
  | { readonly kind: 'sync-status'; readonly applied: boolean }
  | { readonly kind: 'ping' }
  | { readonly kind: 'close'; readonly reason: string }
  | { readonly kind: 'other'; readonly type: number }

/** Decodes one server frame. The payloads are views into `data` (no copies). */
export const decodeIncoming = (dialect: Dialect, data: Uint8Array): Incoming => {
  // Hocuspocus' Ping is a single byte without an address.
  if (dialect === 'multiplexed' && data.length === 1 && data[0] === MessageType.ping) return { kind: 'ping' }
  const decoder = decoding.createDecoder(data)
  if (dialect === 'multiplexed') decoding.readVarString(decoder)
  const type = decoding.readVarUint(decoder)
  switch (type) {
    case MessageType.sync:
    case MessageType.syncReply: {
      const syncType = decoding.readVarUint(decoder)
      if (syncType === SyncType.step1) return { kind: 'sync-step1' }
      const payload = decoding.readVarUint8Array(decoder)
      return syncType === SyncType.step2 ? { kind: 'sync-step2', payload } : { kind: 'sync-update', payload }
    }
    case MessageType.awareness:
      return { kind: 'awareness', payload: decoding.readVarUint8Array(decoder) }
    case MessageType.queryAwareness:
      return { kind: 'query-awareness' }
    case MessageType.auth: {
      const authType = decoding.readVarUint(decoder)
      if (authType === AuthType.authenticated) return { kind: 'authenticated' }
      if (authType === AuthType.permissionDenied || dialect === 'y-websocket') {
        return { kind: 'permission-denied', reason: decoding.hasContent(decoder) ? decoding.readVarString(decoder) : '' }
      }
      return { kind: 'other', type }
    }
    case MessageType.syncStatus:
      return { kind: 'sync-status', applied: decoding.readVarInt(decoder) === 1 }
    case MessageType.close:
      return { kind: 'close', reason: decoding.hasContent(decoder) ? decoding.readVarString(decoder) : '' }
    case MessageType.ping:
      return { kind: 'ping' }
    default:
      return { kind: 'other', type }
  }
}
