import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStorage } from '@tandem/storage'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { tandemClient, type TandemClient } from '../support/tandem-client.js'
import { eventually } from '../support/wait.js'

const CHILD = fileURLToPath(new URL('../support/client-exit-child.mjs', import.meta.url))

/** A port nothing listens on (bound, then released). */
const freePort = async (): Promise<number> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Runs the child with a deadline; resolves with its exit code and output. */
const runChild = (args: string[], deadlineMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the child did not exit within ${deadlineMs} ms after destroy(); stdout: ${stdout} stderr: ${stderr}`))
    }, deadlineMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

describe('offline editing', () => {
  const clients: TandemClient[] = []
  let tandem: RunningTandem | undefined
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy()
    await tandem?.close()
    tandem = undefined
  })
  const client = (...args: Parameters<typeof tandemClient>) => {
    const made = tandemClient(...args)
    clients.push(made)
    return made
  }

  it('a client that cannot reach the server keeps editing, and every copy converges once it can', async () => {
    const port = await freePort()
    const url = `ws://127.0.0.1:${port}`
    // Never connected: the server is not there yet.
    const offline = client(url, 'field-notes')
    offline.text.insert(0, 'written offline. ')
    offline.doc.getMap('meta').set('author', 'offline')
    expect(offline.provider.synced).toBe(false)
    expect(offline.provider.saved).toBe(false)
    await eventually(() => offline.provider.status === 'connecting' || offline.provider.status === 'disconnected', 'offline client is trying')

    const storage = new MemoryStorage()
    tandem = await startTandem({ storage, config: { port } })
    const online = client(url, 'field-notes')
    await eventually(() => offline.provider.synced && online.provider.synced, 'both synced')
    await eventually(() => offline.provider.saved, 'offline edits saved')
    await eventually(() => online.text.toString() === 'written offline. ', 'online copy has the offline edit')

    // The connection drops again; both sides keep editing; then everyone converges.
    await tandem.close()
    tandem = undefined
    await eventually(() => offline.provider.status !== 'connected' && online.provider.status !== 'connected', 'both see the server go')
    offline.text.insert(offline.text.length, 'more offline. ')
    online.text.insert(0, 'online too. ')
    tandem = await startTandem({ storage, config: { port } })
    const late = client(url, 'field-notes')
    await eventually(
      () => [offline, online, late].every((c) => c.provider.synced && c.text.toString() === offline.text.toString()) && late.text.length > 0,
      'all three copies converge',
      20_000,
    )
    const text = late.text.toString()
    expect(text).toContain('written offline. ')
    expect(text).toContain('more offline. ')
    expect(text).toContain('online too. ')
    expect(late.doc.getMap('meta').get('author')).toBe('offline')
    await eventually(() => offline.provider.saved && online.provider.saved, 'everything saved')
  })

  it('a Node process using the client exits by itself after destroy()', async () => {
    tandem = await startTandem()
    const synced = await runChild([tandem.url, 'synced'], 15_000)
    expect(synced.stderr).toBe('')
    expect(synced.stdout).toBe('saved\ndestroyed\n')
    expect(synced.code).toBe(0)

    // Also while reconnect timers are pending against a server that is not there.
    const unreachable = await runChild([`ws://127.0.0.1:${await freePort()}`, 'unreachable'], 15_000)
    expect(unreachable.stdout).toBe('destroyed\n')
    expect(unreachable.code).toBe(0)
  })
})
