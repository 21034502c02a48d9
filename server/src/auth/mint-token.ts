import { SignJWT } from 'jose'
import type { Access } from '../authenticate.js'

export interface MintOptions {
  /** HS256 secret (the server's --auth-secret). */
  readonly secret: string
  /** Exact document names or patterns (`team/*`, `**`). */
  readonly docs: readonly string[]
  readonly access: Access
  /** jose duration (`1h`, `30m`, `7d`) or seconds since the epoch; omitted: no expiry. */
  readonly expiresIn?: string | number
  readonly subject?: string
}

/** A development token, signed HS256 (what `tandem token` prints). */
export const mintToken = async (options: MintOptions): Promise<string> => {
  const jwt = new SignJWT({ docs: [...options.docs], access: options.access }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt()
  if (options.subject !== undefined) jwt.setSubject(options.subject)
  if (options.expiresIn !== undefined) jwt.setExpirationTime(options.expiresIn)
  return jwt.sign(new TextEncoder().encode(options.secret))
}
