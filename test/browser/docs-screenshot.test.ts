import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chromiumInstalled, eventuallyAsync, startPlayground, type Playground } from './browser-support.js'

/**
 * Takes docs/playground.png (the README's picture). Opt-in, so ordinary runs never rewrite a
 * tracked file: `TANDEM_DOCS_SCREENSHOT=1 npx vitest run test/browser/docs-screenshot.test.ts`.
 */
describe.runIf(process.env.TANDEM_DOCS_SCREENSHOT && chromiumInstalled)('docs screenshot', () => {
  let playground: Playground | undefined
  afterAll(async () => {
    await playground?.close()
  })

  it('shows two editors with named carets', async () => {
    playground = await startPlayground()
    const room = 'design-notes'
    const { page: alice } = await playground.newPage({ room, editor: 'codemirror', names: 'Alice,Grace' })
    const { page: bob } = await playground.newPage({ room, editor: 'codemirror', names: 'Bob,Tim' })
    const type = async (page: typeof alice, pane: string, text: string) => {
      await page.click(`[data-pane="${pane}"] .cm-content`)
      await page.evaluate((pane) => (window as unknown as { playground: { focusEnd(id: string): void } }).playground.focusEnd(pane), pane)
      await page.keyboard.type(text)
    }
    await type(alice, 'a', '# Launch plan\n\n- Ship the sync server (one process, SQLite)\n- Every edit acknowledged after it is on disk\n')
    await type(bob, 'a', '- Cluster: Redis relay + PostgreSQL\n- Playground: two editors, one room\n')
    await type(alice, 'a', '\nOwner: ')
    const text = (page: typeof alice, pane: string) =>
      page.evaluate((pane) => (window as unknown as { playground: { text(id: string): string } }).playground.text(pane), pane)
    await eventuallyAsync(async () => (await text(bob, 'b')) === (await text(alice, 'a')) && (await text(alice, 'b')) === (await text(alice, 'a')), 'panes to agree')
    await eventuallyAsync(async () => (await alice.locator('[data-pane="b"] .cm-ySelectionInfo').count()) >= 2, 'two remote carets in the right pane')
    const path = join(import.meta.dirname, '../../docs/playground.png')
    await alice.screenshot({ path, clip: { x: 0, y: 0, width: 1280, height: 560 } })
    expect(await text(alice, 'b')).toContain('Owner: ')
  })
})
