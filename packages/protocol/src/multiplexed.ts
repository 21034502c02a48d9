import * as encoding from 'lib0/encoding'
import { stringPrefixed } from './exact-frame.js'
import { Reader } from './reader.js'
import { TandemError } from './errors.js'
import { readSync, writeSync, type SyncMessage } from './sync.js'
import type { DecodeLimits } from './y-websocket.js'

/**
 * The multiplexed dialect, wire-compatible with `@hocuspocus/provider` 4.x: many documents share
 * one socket, every frame is `varString(address) varUint(type) payload`, except Ping and Pong,
 * which are one byte with no address. Grammar in PROTOCOL.md.
 */
export const MultiplexedType = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
  /** Server-to-server in Hocuspocus: a sync message whose step 1 must not be answered with our own step 1. */
  syncReply: 4,
  stateless: 5,
  /** Server-internal in Hocuspocus (its Redis relay); a client sending it is refused. */
  broadcastStateless: 6,
  close: 7,
  syncStatus: 8,
  ping: 9,
  pong: 10,
} as const

export const AuthType = { token: 0, permissionDenied: 1, authenticated: 2 } as const

export type AuthScope = 'readonly' | 'read-write'

/** One message about one document (everything but Ping and Pong). */
export type DocumentMessage =
  | SyncMessage
  | { readonly type: 'sync-reply'; readonly sync: SyncMessage }
  | { readonly type: 'awareness'; readonly update: Uint8Array }
  | { readonly type: 'query-awareness' }
  /** Client to server: the token (`""` when it has none), then the provider's version (4.x sends it). */
  | { readonly type: 'auth-token'; readonly token: string; readonly version: string | null }
  /** Server to client: Auth/Token with no string asks the client to send its token again. */
  | { readonly type: 'auth-token-request' }
  | { readonly type: 'auth-permission-denied'; readonly reason: string }
  | { readonly type: 'auth-authenticated'; readonly scope: AuthScope }
  | { readonly type: 'stateless'; readonly payload: string }
  | { readonly type: 'broadcast-stateless'; readonly payload: string }
  /** From a client it carries no reason (`null`); from a server, the reason the document was closed. */
  | { readonly type: 'close'; readonly reason: string | null }
  /** `applied` is false when the server refused the change (a read-only connection). */
  | { readonly type: 'sync-status'; readonly applied: boolean }

export type MultiplexedFrame =
  | { readonly type: 'ping' }
  | { readonly type: 'pong' }
  /** `address` is the document name, or `name + "\0" + sessionId` with the provider's `sessionAwareness`. */
  | { readonly type: 'document'; readonly address: string; readonly message: DocumentMessage }

/** Longest token, reason, scope or version string accepted inside an auth or close message. */
const MAX_AUTH_STRING_BYTES = 64 * 1024
const MAX_ADDRESS_BYTES = 16 * 1024

const defaultDecodeLimits: DecodeLimits = { maxPayloadBytes: Number.MAX_SAFE_INTEGER }

/** Decodes one frame of the multiplexed dialect. Throws `TandemError` on anything malformed. */
export const decodeFrame = (frame: Uint8Array, limits: DecodeLimits = defaultDecodeLimits): MultiplexedFrame => {
  // A one-byte frame cannot be addressed (an address of length 9 or 10 needs 9 or 10 more bytes),
  // which is how the provider tells Ping and Pong apart from document messages.
  if (frame.length === 1 && frame[0] === MultiplexedType.ping) return { type: 'ping' }
  if (frame.length === 1 && frame[0] === MultiplexedType.pong) return { type: 'pong' }
  const reader = new Reader(frame)
  const address = reader.string(MAX_ADDRESS_BYTES)
  const message = readDocumentMessage(reader, limits)
  reader.end()
  return { type: 'document', address, message }
}

const readDocumentMessage = (reader: Reader, limits: DecodeLimits): DocumentMessage => {
  const type = reader.uint()
  switch (type) {
    case MultiplexedType.sync:
      return readSync(reader, limits.maxPayloadBytes)
    case MultiplexedType.syncReply:
      return { type: 'sync-reply', sync: readSync(reader, limits.maxPayloadBytes) }
    case MultiplexedType.awareness:
      return { type: 'awareness', update: reader.bytes(limits.maxPayloadBytes) }
    case MultiplexedType.queryAwareness:
      return { type: 'query-awareness' }
    case MultiplexedType.auth:
      return readAuth(reader)
    case MultiplexedType.stateless:
      return { type: 'stateless', payload: reader.string(limits.maxPayloadBytes) }
    case MultiplexedType.broadcastStateless:
      return { type: 'broadcast-stateless', payload: reader.string(limits.maxPayloadBytes) }
    case MultiplexedType.close:
      return { type: 'close', reason: reader.remaining === 0 ? null : reader.string(MAX_AUTH_STRING_BYTES) }
    case MultiplexedType.syncStatus:
      return { type: 'sync-status', applied: reader.int() === 1 }
    default:
      throw new TandemError('UNKNOWN_MESSAGE_TYPE', `message type ${type}`)
  }
}

const readAuth = (reader: Reader): DocumentMessage => {
  const sub = reader.uint()
  switch (sub) {
    case AuthType.token: {
      if (reader.remaining === 0) return { type: 'auth-token-request' }
      const token = reader.string(MAX_AUTH_STRING_BYTES)
      // Providers before 4.x send no version.
      const version = reader.remaining === 0 ? null : reader.string(MAX_AUTH_STRING_BYTES)
      return { type: 'auth-token', token, version }
    }
    case AuthType.permissionDenied:
      return { type: 'auth-permission-denied', reason: reader.string(MAX_AUTH_STRING_BYTES) }
    case AuthType.authenticated: {
      const scope = reader.string(MAX_AUTH_STRING_BYTES)
      if (scope !== 'readonly' && scope !== 'read-write') throw new TandemError('MALFORMED_MESSAGE', `auth scope "${scope}"`)
      return { type: 'auth-authenticated', scope }
    }
    default:
      throw new TandemError('UNKNOWN_MESSAGE_TYPE', `auth sub-type ${sub}`)
  }
}

/** Writes the part after the address: `varUint(type) payload`. */
export const writeDocumentMessage = (encoder: encoding.Encoder, message: DocumentMessage): void => {
  switch (message.type) {
    case 'sync-step1':
    case 'sync-step2':
    case 'sync-update':
      encoding.writeVarUint(encoder, MultiplexedType.sync)
      writeSync(encoder, message)
      return
    case 'sync-reply':
      encoding.writeVarUint(encoder, MultiplexedType.syncReply)
      writeSync(encoder, message.sync)
      return
    case 'awareness':
      encoding.writeVarUint(encoder, MultiplexedType.awareness)
      encoding.writeVarUint8Array(encoder, message.update)
      return
    case 'query-awareness':
      encoding.writeVarUint(encoder, MultiplexedType.queryAwareness)
      return
    case 'auth-token':
      encoding.writeVarUint(encoder, MultiplexedType.auth)
      encoding.writeVarUint(encoder, AuthType.token)
      encoding.writeVarString(encoder, message.token)
      if (message.version !== null) encoding.writeVarString(encoder, message.version)
      return
    case 'auth-token-request':
      encoding.writeVarUint(encoder, MultiplexedType.auth)
      encoding.writeVarUint(encoder, AuthType.token)
      return
    case 'auth-permission-denied':
      encoding.writeVarUint(encoder, MultiplexedType.auth)
      encoding.writeVarUint(encoder, AuthType.permissionDenied)
      encoding.writeVarString(encoder, message.reason)
      return
    case 'auth-authenticated':
      encoding.writeVarUint(encoder, MultiplexedType.auth)
      encoding.writeVarUint(encoder, AuthType.authenticated)
      encoding.writeVarString(encoder, message.scope)
      return
    case 'stateless':
      encoding.writeVarUint(encoder, MultiplexedType.stateless)
      encoding.writeVarString(encoder, message.payload)
      return
    case 'broadcast-stateless':
      encoding.writeVarUint(encoder, MultiplexedType.broadcastStateless)
      encoding.writeVarString(encoder, message.payload)
      return
    case 'close':
      encoding.writeVarUint(encoder, MultiplexedType.close)
      if (message.reason !== null) encoding.writeVarString(encoder, message.reason)
      return
    case 'sync-status':
      encoding.writeVarUint(encoder, MultiplexedType.syncStatus)
      encoding.writeVarInt(encoder, message.applied ? 1 : 0)
  }
}

const PING = new Uint8Array([MultiplexedType.ping])
const PONG = new Uint8Array([MultiplexedType.pong])

export const encodeFrame = (frame: MultiplexedFrame): Uint8Array => {
  if (frame.type === 'ping') return PING
  if (frame.type === 'pong') return PONG
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, frame.address)
  writeDocumentMessage(encoder, frame.message)
  return encoding.toUint8Array(encoder)
}

/** Shorthand for `encodeFrame({ type: 'document', address, message })`. */
export const encodeDocumentFrame = (address: string, message: DocumentMessage): Uint8Array =>
  encodeFrame({ type: 'document', address, message })

/**
 * Prefixes an already encoded y-protocols message (sync or awareness: their type numbers are the
 * same in both dialects) with its address, so a broadcast encoded once for y-websocket is framed
 * for the multiplexed dialect with one copy.
 */
export const frameInner = (address: string, inner: Uint8Array): Uint8Array => stringPrefixed(address, inner)

/** Hocuspocus's `sessionAwareness` addresses a document as `name + "\0" + sessionId`. */
export const documentNameOf = (address: string): string => {
  const separator = address.indexOf('\0')
  return separator === -1 ? address : address.slice(0, separator)
}
