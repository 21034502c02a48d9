// @ts-check
import { join } from 'node:path'
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'
import { parseFlags, requiredPort } from './common.mjs'

/**
 * `@hocuspocus/server` 4.x with its defaults (updates of one tick merged into one broadcast,
 * stores debounced 2 s / at most 10 s, unload when the last client leaves) and, unless
 * `--storage memory`, the SQLite extension writing to `<data>/hocuspocus.sqlite`.
 *
 *   node servers/hocuspocus.mjs --host 127.0.0.1 --port 1234 [--storage sqlite|memory] [--data <dir>]
 */
const flags = parseFlags(process.argv.slice(2))
const host = flags.get('host') ?? '127.0.0.1'
const port = requiredPort(flags)
const storage = flags.get('storage') ?? 'sqlite'
if (storage !== 'sqlite' && storage !== 'memory') throw new Error('--storage must be sqlite or memory')
const data = flags.get('data')
if (storage === 'sqlite' && data === undefined) throw new Error('--data <dir> is required with --storage sqlite')

const server = new Server({
  address: host,
  port,
  quiet: true,
  stopOnSignals: true,
  extensions: storage === 'sqlite' ? [new SQLite({ database: join(/** @type {string} */ (data), 'hocuspocus.sqlite') })] : [],
})
await server.listen()
