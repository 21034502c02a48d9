import { TandemError } from '@tandem/protocol'
import type { Authenticate } from '@tandem/server'

/**
 * A stand-in for real token checking (JWT lives in the server's auth module): each token maps to
 * the documents it opens and how. An unknown or missing token is UNAUTHORIZED; a known token for
 * another document is FORBIDDEN.
 */
export const tokenTable =
  (table: Record<string, { documents: readonly string[]; access: 'read' | 'write' }>): Authenticate =>
  ({ documentName, token }) => {
    const grant = token === null ? undefined : table[token]
    if (grant === undefined) throw new TandemError('UNAUTHORIZED')
    if (!grant.documents.includes(documentName)) throw new TandemError('FORBIDDEN')
    return { access: grant.access, user: token }
  }
