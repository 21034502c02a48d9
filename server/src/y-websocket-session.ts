import type { RawData } from 'ws'
import { ywebsocket, decodeAwarenessUpdate, TandemError } from '@tandem/protocol'
import { asTandemError, type Connection, type Session } from './connection.js'
import { outbound, wire, type Outbound, type RoomMember } from './room-member.js'
import type { Room } from './room.js'
import type { RoomRegistry } from './room-registry.js'

export interface SessionLimits {
  readonly maxMessageBytes: number
  readonly maxAwarenessStateBytes: number
}

/** Sent when a y-websocket connection has heard nothing for a while: an empty awareness update. */
const KEEPALIVE = outbound({ type: 'awareness', update: new Uint8Array([0]) }).inner

/**
 * The y-websocket dialect: one socket, one document (named by the URL path), one y-protocols
 * message per frame. Frames that arrive while the document loads wait in order; nothing is
 * answered before the stored state is in.
 */
export class YWebsocketSession implements RoomMember, Session {
  readonly readOnly: boolean
  private room: Room | null = null
  private waiting: RawData[] | null = []
  private closed = false

  constructor(
    private readonly connection: Connection,
    documentName: string,
    registry: RoomRegistry,
    private readonly limits: SessionLimits,
    options: { readOnly: boolean },
  ) {
    this.readOnly = options.readOnly
    connection.attach(this)
    void registry
      .join(documentName, this, () => !this.closed)
      .then((room) => {
        if (room === null) return
        this.room = room
        const waiting = this.waiting ?? []
        this.waiting = null
        for (const data of waiting) this.handle(data)
      })
      .catch((error: unknown) => {
        // A refusal (too many documents loaded) is logged by fail(); anything else is a failure.
        if (!(error instanceof TandemError)) connection.logger.error({ err: error, doc: documentName }, 'document failed to load')
        connection.fail(error instanceof TandemError ? error : new TandemError('INTERNAL_ERROR'))
      })
  }

  get id(): number {
    return this.connection.id
  }

  send(message: Outbound): void {
    if (message.innerWire === undefined) message.innerWire = wire(message.inner)
    this.connection.send(message.inner, message.innerWire)
  }

  reject(error: TandemError): void {
    this.connection.fail(error)
  }

  acknowledge(): void {
    // y-websocket has no acknowledgement message.
  }

  get congested(): boolean {
    return this.connection.congested
  }

  onDrained(callback: () => void): void {
    this.connection.onDrained(callback)
  }

  /** Keeps y-websocket's 30 s watchdog from firing on a quiet document (ping frames don't count). */
  keepalive(idleSince: number): void {
    if (this.room !== null && this.connection.lastSentAt < idleSince) this.connection.send(KEEPALIVE)
  }

  receive(data: RawData, isBinary: boolean): void {
    if (!isBinary) {
      this.connection.fail(new TandemError('UNSUPPORTED_DATA'))
      return
    }
    // Closed already (over its rate, refused): nothing more it sends is looked at.
    if (!this.connection.open) return
    if (this.waiting !== null) this.waiting.push(data)
    else this.handle(data)
  }

  private handle(data: RawData): void {
    const room = this.room
    if (room === null || !this.connection.open) return
    try {
      const message = ywebsocket.decodeMessage(toBytes(data), { maxPayloadBytes: this.limits.maxMessageBytes })
      switch (message.type) {
        case 'sync-step1':
          room.syncStep1(this, message.stateVector)
          return
        case 'sync-step2':
          // A read-only client answers our step 1 like any other; its answer is dropped unread.
          if (!this.readOnly) room.receiveUpdate(this, message.update)
          return
        case 'sync-update':
          // An edit from a read-only client is refused (4403): dropping it silently would leave
          // the client believing it was shared.
          if (this.readOnly) throw new TandemError('READ_ONLY')
          room.receiveUpdate(this, message.update)
          return
        case 'awareness':
          room.receiveAwareness(this, decodeAwarenessUpdate(message.update, this.limits.maxAwarenessStateBytes))
          return
        case 'query-awareness':
          room.queryAwareness(this)
          return
        case 'auth-denied':
          // Only a server sends this; a client sending it is confused but harmless.
          return
      }
    } catch (error) {
      this.connection.fail(asTandemError(error, this.connection.logger))
    }
  }

  socketClosed(): void {
    this.closed = true
    this.waiting = null
    this.room?.leave(this)
    this.room = null
  }
}

/** ws hands us a Buffer (binaryType 'nodebuffer'), or fragments/ArrayBuffer in other modes. */
export const toBytes = (data: RawData): Uint8Array => {
  if (data instanceof Uint8Array) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return new Uint8Array(data)
}
