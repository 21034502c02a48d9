import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** `server/dist/cli.js`: `npm test` runs `tsc -b` before vitest, so it exists. (Used by test/client; test/support/child-server.ts is the persistence suite's.) */
export const CLI = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url))

export interface ChildServer {
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string | null>
  /** SIGKILL: no shutdown, no flush. */
  kill9(): Promise<void>
  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

/**
 * Runs `tandem serve` as a child process on 127.0.0.1 and resolves once its 'listening' JSON log
 * line names the port. Extra CLI flags go in `args`.
 */
export const startChildServer = async (args: string[], timeoutMs = 20_000): Promise<ChildServer> => {
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not report 'listening' within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs)
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      try {
        const record = JSON.parse(line) as { msg?: string; port?: number }
        if (record.msg === 'listening' && typeof record.port === 'number') {
          clearTimeout(timer)
          resolve(record.port)
        }
      } catch {
        // Not a JSON log line.
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${String(code)}) before listening; stderr: ${stderr}`))
    })
  })
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}`,
    exited,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}
