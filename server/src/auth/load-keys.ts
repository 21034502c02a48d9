import { readFileSync } from 'node:fs'
import type { JSONWebKeySet } from 'jose'
import type { ServerConfig } from '../config.js'
import type { VerificationKeys } from './jwt-authenticate.js'

/**
 * The verification keys the configuration names (reading the files), or null when authentication
 * is off. Called once at start, so a missing or unreadable file stops the server there.
 */
export const loadVerificationKeys = (auth: ServerConfig['auth']): VerificationKeys | null => {
  if (auth.secret !== undefined) return { kind: 'secret', secret: auth.secret }
  if (auth.publicKeyFile !== undefined) return { kind: 'public-key', pem: readFileSync(auth.publicKeyFile, 'utf8') }
  if (auth.jwksFile !== undefined) {
    const jwks = JSON.parse(readFileSync(auth.jwksFile, 'utf8')) as JSONWebKeySet
    if (!Array.isArray(jwks.keys)) throw new Error(`${auth.jwksFile}: not a JWKS (no "keys" array)`)
    return { kind: 'jwks', jwks }
  }
  return null
}
