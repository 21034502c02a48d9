/**
 * Which documents a token names. A claim entry is an exact name or a glob-like pattern:
 * `*` matches within one path segment (no `/`), `**` matches anything, `/` included.
 * Document names cannot contain `*` (protocol/document-name.ts), so patterns are unambiguous.
 */
export const matchesDocument = (patterns: readonly string[], documentName: string): boolean =>
  patterns.some((pattern) => (pattern.includes('*') ? compile(pattern).test(documentName) : pattern === documentName))

const compiled = new Map<string, RegExp>()

const compile = (pattern: string): RegExp => {
  let regexp = compiled.get(pattern)
  if (regexp === undefined) {
    const source = pattern
      .split('**')
      .map((part) => part.split('*').map(escape).join('[^/]*'))
      .join('.*')
    regexp = new RegExp(`^${source}$`)
    // Tokens are few and repeat; keep the cache from growing without bound anyway.
    if (compiled.size > 1_000) compiled.clear()
    compiled.set(pattern, regexp)
  }
  return regexp
}

const escape = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
