// @ts-check
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'
import { parseFlags, requiredPort } from './common.mjs'

/**
 * The ceiling: a `ws` relay that forwards each frame to the other sockets of its room (the URL
 * path), with no CRDT work at all. It answers a client's sync step 1 with an empty step 2 itself,
 * so y-websocket-style clients see "synced", and does not forward step 1s.
 *
 *   node servers/raw-relay.mjs --host 127.0.0.1 --port 1234
 */
const flags = parseFlags(process.argv.slice(2))
const host = flags.get('host') ?? '127.0.0.1'
const port = requiredPort(flags)

// varUint(0 sync) varUint(1 step2) varUint8Array([0, 0] = empty update)
const EMPTY_STEP2 = new Uint8Array([0, 1, 2, 0, 0])
/** @type {Map<string, Set<import('ws').WebSocket>>} */
const rooms = new Map()

const http = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain' })
  response.end('ok')
})
const wss = new WebSocketServer({ server: http, perMessageDeflate: false })

wss.on('connection', (socket, request) => {
  const name = new URL(request.url ?? '/', 'http://relay').pathname
  let room = rooms.get(name)
  if (room === undefined) rooms.set(name, (room = new Set()))
  const members = room
  members.add(socket)
  socket.on('message', (/** @type {Buffer} */ data, isBinary) => {
    if (isBinary && data.length >= 2 && data[0] === 0 && data[1] === 0) {
      socket.send(EMPTY_STEP2)
      return
    }
    for (const other of members) if (other !== socket && other.readyState === 1) other.send(data, { binary: isBinary })
  })
  socket.on('error', () => socket.terminate())
  socket.on('close', () => {
    members.delete(socket)
    if (members.size === 0) rooms.delete(name)
  })
})

http.listen(port, host)
const stop = () => {
  for (const client of wss.clients) client.terminate()
  http.close(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
