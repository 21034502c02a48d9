import WebSocket from 'ws'
import * as Y from 'yjs'
import { decodeAwarenessUpdate, encodeAwarenessUpdate, ywebsocket, type AwarenessEntry, type YMessage } from '@tandem/protocol'
import { eventually } from './wait.js'

/**
 * A bare `ws` client speaking y-protocols frame by frame, for what a WebsocketProvider cannot do:
 * watch every message the server sends, send hand-made (or broken) frames, play dead (no pongs),
 * or vanish without a closing handshake. It keeps a Y.Doc of its own to make and read edits.
 */
export interface RawClient {
  readonly socket: WebSocket
  readonly doc: Y.Doc
  /** Every message received, decoded, in order. */
  readonly received: YMessage[]
  /** Set once the socket has closed. */
  readonly closed: { code: number; reason: string } | null
  send(message: YMessage): void
  /** Sends our whole document as a sync update. */
  sendUpdate(update: Uint8Array): void
  sendAwareness(entries: readonly AwarenessEntry[]): void
  /** Resolves once a sync step 2 arrived (the server answers our step 1 after loading). */
  synced(timeoutMs?: number): Promise<void>
  /** Resolves with the close code once the socket is closed. */
  whenClosed(timeoutMs?: number): Promise<{ code: number; reason: string }>
  close(): void
}

export interface RawClientOptions {
  /** Answer pings (default true). False plays a peer that is gone without a TCP close. */
  readonly autoPong?: boolean
  /** Send sync step 1 on open (default true). */
  readonly syncOnOpen?: boolean
}

/** Opens `url/room`; resolves once the socket is open. Received updates are applied to `doc`. */
export const rawClient = async (url: string, room: string, options: RawClientOptions = {}): Promise<RawClient> => {
  const socket = new WebSocket(`${url}/${room}`, { autoPong: options.autoPong ?? true })
  const doc = new Y.Doc()
  const received: YMessage[] = []
  let closed: { code: number; reason: string } | null = null
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return
    const message = ywebsocket.decodeMessage(new Uint8Array(data))
    received.push(message)
    if (message.type === 'sync-step2' || message.type === 'sync-update') Y.applyUpdate(doc, message.update, 'server')
  })
  socket.on('close', (code: number, reason: Buffer) => {
    closed = { code, reason: reason.toString() }
  })
  // A refused or reset connection must not crash the test process.
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  const send = (message: YMessage) => socket.send(ywebsocket.encodeMessage(message))
  if (options.syncOnOpen ?? true) send({ type: 'sync-step1', stateVector: Y.encodeStateVector(doc) })
  return {
    socket,
    doc,
    received,
    get closed() {
      return closed
    },
    send,
    sendUpdate: (update) => send({ type: 'sync-update', update }),
    sendAwareness: (entries) => send({ type: 'awareness', update: encodeAwarenessUpdate(entries) }),
    async synced(timeoutMs = 10_000) {
      await eventually(() => received.some((m) => m.type === 'sync-step2'), 'sync step 2 from the server', timeoutMs)
    },
    whenClosed: (timeoutMs = 10_000) => eventually(() => closed ?? undefined, 'the socket to close', timeoutMs),
    close() {
      socket.terminate()
      doc.destroy()
    },
  }
}

/** The client IDs whose structs an update carries (to tell whose edit a broadcast holds). */
export const authorsOf = (update: Uint8Array): Set<number> => new Set(Y.decodeUpdate(update).structs.map((s) => s.id.client))

/** The awareness entries of every awareness message in `messages`. */
export const awarenessEntries = (messages: readonly YMessage[]): AwarenessEntry[] =>
  messages.flatMap((m) => (m.type === 'awareness' ? decodeAwarenessUpdate(m.update) : []))
