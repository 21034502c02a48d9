import { TandemError } from './errors.js'

export interface DocumentNameRules {
  readonly maxLength: number
  readonly pattern: RegExp
}

/**
 * Letters, digits and `. _ - : @ /`, starting with a letter, digit or `_`. Slashes allow
 * `org/doc` style names; `..` segments and empty segments are refused separately.
 */
export const DEFAULT_DOCUMENT_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:@\-/]*$/

export const defaultDocumentNameRules: DocumentNameRules = {
  maxLength: 255,
  pattern: DEFAULT_DOCUMENT_NAME_PATTERN,
}

/** Returns the name or throws `TandemError('BAD_DOCUMENT_NAME')` saying why. */
export const checkDocumentName = (name: string, rules: DocumentNameRules = defaultDocumentNameRules): string => {
  if (name.length === 0) throw new TandemError('BAD_DOCUMENT_NAME', 'empty')
  if (name.length > rules.maxLength) throw new TandemError('BAD_DOCUMENT_NAME', `longer than ${rules.maxLength}`)
  if (!rules.pattern.test(name)) throw new TandemError('BAD_DOCUMENT_NAME', 'characters outside the allowed pattern')
  if (name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new TandemError('BAD_DOCUMENT_NAME', 'empty, "." or ".." path segment')
  }
  return name
}
