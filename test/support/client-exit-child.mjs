// Run by test/client/offline.test.ts as a child process: uses @tandem/client (built) the way an
// app would, calls destroy(), and then does nothing. The process must exit by itself.
// argv: <ws url> <mode: "synced" | "unreachable">
import WebSocket from 'ws'
import * as Y from 'yjs'
import { TandemProvider, TandemSocket } from '@tandem/client'

const [url, mode] = process.argv.slice(2)
const doc = new Y.Doc()
const provider = new TandemProvider(url, 'exit-check', doc, { WebSocketPolyfill: WebSocket, backoff: { baseMs: 50, capMs: 200 } })
const other = new Y.Doc()
const socket = new TandemSocket({ url, WebSocketPolyfill: WebSocket, backoff: { baseMs: 50, capMs: 200 } })
const second = new TandemProvider(socket, 'exit-check-2', other)
provider.awareness.setLocalStateField('user', { name: 'child' })

const finish = () => {
  provider.destroy()
  second.destroy()
  socket.destroy()
  doc.destroy()
  other.destroy()
  process.stdout.write('destroyed\n')
}

if (mode === 'synced') {
  provider.once('synced', () => {
    doc.getText('text').insert(0, 'from the child')
    provider.once('saved', () => {
      process.stdout.write('saved\n')
      finish()
    })
  })
} else {
  // Nothing listens at `url`: retries are pending when destroy() runs.
  let retries = 0
  provider.socket.on('retry', () => {
    if (++retries === 3) finish()
  })
}
