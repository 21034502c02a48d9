import * as decoding from 'lib0/decoding'
import { TandemError } from './errors.js'

/**
 * A bounds-checked reader over one frame. Every length is checked against the bytes that remain
 * before anything is allocated, so a hostile length prefix costs nothing.
 * Any overrun becomes `TandemError('MALFORMED_MESSAGE')`.
 */
export class Reader {
  private readonly decoder: decoding.Decoder

  constructor(bytes: Uint8Array) {
    this.decoder = decoding.createDecoder(bytes)
  }

  get remaining(): number {
    return this.decoder.arr.length - this.decoder.pos
  }

  get position(): number {
    return this.decoder.pos
  }

  uint(): number {
    if (this.remaining < 1) throw malformed('unexpected end of message')
    try {
      return decoding.readVarUint(this.decoder)
    } catch {
      throw malformed('bad varUint')
    }
  }

  int(): number {
    if (this.remaining < 1) throw malformed('unexpected end of message')
    try {
      return decoding.readVarInt(this.decoder)
    } catch {
      throw malformed('bad varInt')
    }
  }

  /** A length-prefixed byte array, as a view into the frame (no copy). */
  bytes(maxLength = Number.MAX_SAFE_INTEGER): Uint8Array {
    const length = this.uint()
    if (length > this.remaining) throw malformed(`length ${length} exceeds the ${this.remaining} bytes left`)
    if (length > maxLength) throw malformed(`length ${length} exceeds the limit ${maxLength}`)
    return decoding.readUint8Array(this.decoder, length)
  }

  /** A length-prefixed UTF-8 string; invalid UTF-8 is refused rather than replaced. */
  string(maxLength = Number.MAX_SAFE_INTEGER): string {
    const raw = this.bytes(maxLength)
    try {
      return strictUtf8.decode(raw)
    } catch {
      throw malformed('invalid UTF-8')
    }
  }

  /** The rest of the frame must be empty: trailing bytes mean the peer and we disagree on the grammar. */
  end(): void {
    if (this.remaining !== 0) throw malformed(`${this.remaining} unexpected trailing bytes`)
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

const malformed = (detail: string) => new TandemError('MALFORMED_MESSAGE', detail)
