import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ErrorCodes } from '@tandem/protocol'

/** docs/errors.md mirrors the catalogue: every code has its row, with its close code and status. */
describe('docs/errors.md', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/errors.md', import.meta.url)), 'utf8')

  for (const [code, entry] of Object.entries(ErrorCodes)) {
    it(`documents ${code} as ${entry.closeCode} / ${entry.httpStatus}`, () => {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`))
      expect(row, `a row for ${code}`).toBeDefined()
      const cells = row!.split('|').map((cell) => cell.trim())
      expect(cells[2]).toBe(String(entry.closeCode))
      expect(cells[3]).toBe(String(entry.httpStatus))
    })
  }

  it('uses 4400–4499 only for refusals a retry would repeat (y-websocket stops reconnecting on them)', () => {
    const permanent = Object.entries(ErrorCodes)
      .filter(([, entry]) => entry.closeCode >= 4400 && entry.closeCode <= 4499)
      .map(([code]) => code)
      .sort()
    expect(permanent).toEqual(
      [
        'BAD_DOCUMENT_NAME',
        'DOCUMENT_TOO_LARGE',
        'FORBIDDEN',
        'INVALID_UPDATE',
        'MALFORMED_MESSAGE',
        'ORIGIN_NOT_ALLOWED',
        'READ_ONLY',
        'UNAUTHORIZED',
        'UNKNOWN_MESSAGE_TYPE',
      ].sort(),
    )
  })
})
