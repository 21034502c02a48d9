import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startArena, upgradeStatus, type Arena } from './harness.js'

/** Document names are checked before the upgrade: 400 BAD_DOCUMENT_NAME, nothing loaded or stored. */
describe('adversarial: document names', () => {
  let arena: Arena

  beforeAll(async () => {
    arena = await startArena()
  })
  afterAll(async () => {
    await arena.close()
  })

  const cases: Array<[string, string]> = [
    ['a path escape', encodeURIComponent('../x')],
    ['a dot segment', encodeURIComponent('a/../x')],
    ['a glob character', encodeURIComponent('a*')],
    ['an empty name', ''],
    ['a 10 kB name', 'n'.repeat(10 * 1024)],
    ['control characters', encodeURIComponent('a\u0000b\u001b[31m')],
    ['a newline (log injection)', encodeURIComponent('doc\n{"level":60}')],
    ['bad percent-encoding', '%E0%A4%A'],
  ]

  for (const [what, path] of cases) {
    it(`${what}: 400 before the upgrade`, async () => {
      const loadedBefore = arena.tandem.server.registry.size
      // The empty name is the root path, i.e. the multiplexed endpoint; `//` is the empty document.
      const url = path === '' ? `${arena.url}//` : `${arena.url}/${path}`
      expect(await upgradeStatus(url)).toBe(400)
      expect(arena.tandem.server.registry.size).toBe(loadedBefore)
      await arena.roundTrip()
    })
  }

  it('counts each refusal once under BAD_DOCUMENT_NAME', async () => {
    expect((await arena.rejections()).BAD_DOCUMENT_NAME).toBe(cases.length)
  })
})
