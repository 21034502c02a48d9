import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startTandem, tempDir, type RunningTandem } from '../support/tandem.js'
import { eventuallyAsync as waitAsync } from '../support/wait.js'

/**
 * The browser suite drives Debian's Chromium (`apt-get install -y chromium`) with playwright-core:
 * playwright's own browser downloads cannot work on machines without internet access.
 */
export const CHROMIUM = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium'
export const chromiumInstalled = existsSync(CHROMIUM)
/** In CI a missing browser is a failure (`.ci/install-browser.sh` installs it), elsewhere a skip. */
export const browserRequired = process.env.CI === 'true'
export const MISSING_BROWSER = `${CHROMIUM} not found: install Chromium with \`apt-get install -y chromium\` (or run .ci/install-browser.sh)`

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const root = resolve(fileURLToPath(import.meta.url), '../../..')
export const RESULTS_DIR = join(root, 'test-results')

export interface Playground {
  readonly tandem: RunningTandem
  /** http://127.0.0.1:port */
  readonly httpUrl: string
  readonly browser: Browser
  newPage(query: Record<string, string>): Promise<{ context: BrowserContext; page: Page }>
  close(): Promise<void>
}

/**
 * Builds the playground into a fresh directory (so parallel files never share one), starts a
 * Tandem server serving it at `/`, and launches Chromium. One browser context per page: contexts
 * share nothing (no storage, no BroadcastChannel), like two people on two machines.
 */
export const startPlayground = async (): Promise<Playground> => {
  const out = tempDir('tandem-playground-')
  const closers: Array<() => Promise<void> | void> = [() => out.remove()]
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer()
  }
  try {
    // @ts-expect-error: a plain ES module script without type declarations.
    const { buildPlayground } = (await import('../../client/playground/build.mjs')) as {
      buildPlayground(options: { outdir: string; minify?: boolean; sourcemap?: boolean }): Promise<string>
    }
    await buildPlayground({ outdir: out.path, minify: false, sourcemap: false })
    const tandem = await startTandem({ config: { playgroundDir: out.path } })
    closers.push(() => tandem.close())
    if (process.env.TANDEM_BROWSER_DEBUG) closers.push(() => void process.stderr.write(`${tandem.logs.map((line) => JSON.stringify(line)).join('\n')}\n`))
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 })
    closers.push(() => browser.close())
    const httpUrl = `http://127.0.0.1:${tandem.port}`
    return {
      tandem,
      httpUrl,
      browser,
      async newPage(query) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 640 } })
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: httpUrl })
        closers.push(() => context.close())
        const page = await context.newPage()
        const errors: string[] = []
        page.on('pageerror', (error) => errors.push(String(error)))
        if (process.env.TANDEM_BROWSER_DEBUG) {
          page.on('console', (message) => process.stderr.write(`[${query.names ?? 'page'}] ${message.type()}: ${message.text()}\n`))
          page.on('pageerror', (error) => process.stderr.write(`[${query.names ?? 'page'}] pageerror: ${String(error)}\n`))
        }
        await page.goto(`${httpUrl}/?${new URLSearchParams(query).toString()}`)
        await waitReady(page, errors)
        return { context, page }
      },
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

/** Waits until both panes have mounted their editors (or the page reports why not). */
export const waitReady = async (page: Page, errors: string[] = []): Promise<void> => {
  try {
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 })
  } catch (error) {
    const reason = await page.evaluate(() => document.body.dataset.error ?? '').catch(() => '')
    throw new Error(`playground did not get ready: ${reason || errors.join('; ') || String(error)}`)
  }
}

export const screenshot = async (page: Page, name: string): Promise<string> => {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const path = join(RESULTS_DIR, `${name}.png`)
  await page.screenshot({ path })
  return path
}

/** `eventuallyAsync` with the browser's longer default deadline: checks that must ask the page. */
export const eventuallyAsync = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> =>
  waitAsync(check, what, timeoutMs, 50)
