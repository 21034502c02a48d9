// @ts-check
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'
import { parseFlags, requiredPort } from './common.mjs'

/**
 * `@y/websocket-server` 0.1.1, started as its own `src/server.js` does (an HTTP server, `ws` in
 * noServer mode, `setupWSConnection` per socket), with two differences: `ws` is the workspace's
 * 8.x (the package would pull 6.x as an optional dependency), and SIGTERM closes the LevelDB store
 * before exiting, so a restart finds everything written (the stock script has no signal handler).
 *
 *   node servers/y-websocket.mjs --host 127.0.0.1 --port 1234 [--persistence <leveldb dir>]
 */
const flags = parseFlags(process.argv.slice(2))
const host = flags.get('host') ?? '127.0.0.1'
const port = requiredPort(flags)
const persistenceDir = flags.get('persistence')
// utils.js reads YPERSISTENCE when it is first imported.
if (persistenceDir !== undefined) process.env['YPERSISTENCE'] = persistenceDir
else delete process.env['YPERSISTENCE']
const { setupWSConnection, getPersistence } = await import('@y/websocket-server/utils')

const wss = new WebSocketServer({ noServer: true })
const http = createServer((_request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/plain' })
  response.end('okay')
})
wss.on('connection', setupWSConnection)
http.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request))
})
http.listen(port, host)

// No terminating of open sockets here: closing many at once overflows the stack in utils.js
// (closeConn -> awareness broadcast -> send -> closeConn ...); the harness closes its clients first.
const stop = async () => {
  http.close()
  const persistence = /** @type {{ provider?: { destroy(): Promise<void> } } | null} */ (getPersistence())
  await persistence?.provider?.destroy()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
