/** Who sent a stateless message: enough for a hook to decide, never the token. */
export interface StatelessSender {
  /** Connection id, as in the logs. */
  readonly id: number
  /** What `authenticate` returned as `user` for this document. */
  readonly user: unknown
  readonly readOnly: boolean
}

export interface StatelessContext {
  /** The document the message was addressed to. */
  readonly document: string
  readonly connection: StatelessSender
  /** The string the client sent; Tandem neither parses nor stores it. */
  readonly payload: string
  /** Sends a stateless message back to the sender, for this document. */
  reply(payload: string): void
  /** Sends a stateless message to every connection that has this document open, the sender included unless told otherwise. */
  broadcast(payload: string, options?: { readonly exceptSender?: boolean }): void
}

/**
 * Called for every stateless message (type 5) from an authenticated multiplexed connection. A throw
 * is logged and ignored: the connection stays up. Without a hook, stateless messages are dropped.
 */
export type OnStateless = (context: StatelessContext) => void | Promise<void>

/** What the stateless directory needs from one connection's presence in a document. */
export interface StatelessTarget {
  readonly id: number
  sendStateless(payload: string): void
}

/**
 * Which connections have which document open (multiplexed dialect only: y-websocket has no
 * stateless messages), so the server can address stateless messages to one or all of them.
 */
export class StatelessDirectory {
  private readonly byDocument = new Map<string, Set<StatelessTarget>>()

  add(document: string, target: StatelessTarget): void {
    let targets = this.byDocument.get(document)
    if (targets === undefined) this.byDocument.set(document, (targets = new Set()))
    targets.add(target)
  }

  remove(document: string, target: StatelessTarget): void {
    const targets = this.byDocument.get(document)
    if (targets === undefined) return
    targets.delete(target)
    if (targets.size === 0) this.byDocument.delete(document)
  }

  /** Sends to every connection of `document` (or only `connectionId`'s); returns how many got it. */
  send(document: string, payload: string, options: { readonly connectionId?: number; readonly except?: StatelessTarget } = {}): number {
    let sent = 0
    for (const target of this.byDocument.get(document) ?? []) {
      if (target === options.except) continue
      if (options.connectionId !== undefined && target.id !== options.connectionId) continue
      target.sendStateless(payload)
      sent++
    }
    return sent
  }
}
