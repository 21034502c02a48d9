import * as encoding from 'lib0/encoding'

/** Yjs struct info bits (see yjs/src/structs/Item.js): left origin, right origin; content ref 4 is ContentString. */
const HAS_ORIGIN = 0b1000_0000
const HAS_RIGHT_ORIGIN = 0b0100_0000
const CONTENT_STRING = 4

/**
 * Writes Yjs v1 updates that append text to the root `Y.Text` named `key`, one item per call,
 * without a Y.Doc: the cheapest writer there is. Each item's left origin is the writer's previous
 * item, so a document receiving the updates in order sees one writer typing at the end of its own
 * text (concurrent writers interleave by the usual Yjs rules).
 *
 * Every `runLength` items the writer "moves its cursor": the item goes before the last character
 * of its previous one (left origin one earlier, right origin that last character), as an editor
 * emits it. Without that, Yjs would merge a writer's whole output into one string item and, on
 * every later encode, slice (and so flatten) that ever longer string: O(text) per update, which
 * measures V8 rope flattening rather than the server. 0 never moves.
 *
 * Content must be ASCII: Yjs counts a string's clock length in UTF-16 code units, and we count
 * `content.length`.
 */
export class TextAppender {
  private clock = 0
  private items = 0
  private lastLength = 0

  constructor(
    readonly clientID: number,
    readonly key = 't',
    readonly runLength = 8,
  ) {}

  /** The clock the next item gets (the writer's state vector entry). */
  get nextClock(): number {
    return this.clock
  }

  append(content: string): Uint8Array {
    if (content.length === 0) throw new Error('an appended item cannot be empty')
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 1) // one client
    encoding.writeVarUint(encoder, 1) // one struct
    encoding.writeVarUint(encoder, this.clientID)
    encoding.writeVarUint(encoder, this.clock)
    if (this.clock === 0) {
      // No origin: the item names its parent, a root type (varUint 1 = "parent is a key").
      encoding.writeUint8(encoder, CONTENT_STRING)
      encoding.writeVarUint(encoder, 1)
      encoding.writeVarString(encoder, this.key)
    } else if (this.runLength > 0 && this.items % this.runLength === 0 && this.lastLength >= 2) {
      encoding.writeUint8(encoder, HAS_ORIGIN | HAS_RIGHT_ORIGIN | CONTENT_STRING)
      encoding.writeVarUint(encoder, this.clientID)
      encoding.writeVarUint(encoder, this.clock - 2)
      encoding.writeVarUint(encoder, this.clientID)
      encoding.writeVarUint(encoder, this.clock - 1)
    } else {
      encoding.writeUint8(encoder, HAS_ORIGIN | CONTENT_STRING)
      encoding.writeVarUint(encoder, this.clientID)
      encoding.writeVarUint(encoder, this.clock - 1)
    }
    encoding.writeVarString(encoder, content)
    encoding.writeVarUint(encoder, 0) // empty delete set
    this.clock += content.length
    this.lastLength = content.length
    this.items++
    return encoding.toUint8Array(encoder)
  }
}
