import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/**
 * The built CLI (`npm test` runs `tsc -b` first, so dist is current). TANDEM_TEST_CLI points the
 * persistence suites at another build, e.g. a deliberately broken one, to check they can fail.
 */
const CLI = process.env.TANDEM_TEST_CLI ?? fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url))

export interface ChildTandem {
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  /** Every JSON log line the server wrote to stdout, parsed. */
  readonly logs: Array<Record<string, unknown>>
  /** Resolves with the exit code and signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal?: NodeJS.Signals): void
}

/**
 * Runs `tandem serve` in a child process on 127.0.0.1 and an OS-chosen port, read from the
 * 'listening' log line. The caller kills it (and awaits `exited`).
 */
export const spawnTandem = async (options: { dataDir: string; args?: readonly string[]; timeoutMs?: number }): Promise<ChildTandem> => {
  const timeoutMs = options.timeoutMs ?? 20_000
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--data', options.dataDir, '--log-level', 'info', ...(options.args ?? [])],
    // The flags win over these anyway; dropped so a developer's shell cannot change the test.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: undefined, HOST: undefined, TANDEM_DATA: undefined } },
  )
  const logs: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the server did not log 'listening' within ${timeoutMs} ms; stderr: ${stderr}`))
    }, timeoutMs)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let record: Record<string, unknown>
      try {
        record = JSON.parse(line) as Record<string, unknown>
      } catch {
        return // not a JSON log line
      }
      logs.push(record)
      if (record.msg === 'listening' && typeof record.port === 'number') {
        clearTimeout(timer)
        resolve(record.port)
      }
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`the server exited (code ${code}, signal ${signal}) before listening; stderr: ${stderr}`))
    })
  })
  return { child, port, url: `ws://127.0.0.1:${port}`, logs, exited, kill: (signal = 'SIGTERM') => void child.kill(signal) }
}
