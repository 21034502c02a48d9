import WebSocket from 'ws'
import * as Y from 'yjs'
import { mintToken, type ServerConfigInput } from '@tandem/server'
import { ywebsocket, type YMessage } from '@tandem/protocol'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { rawClient, type RawClient } from '../support/raw-client.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { eventually } from '../support/wait.js'

/**
 * What every adversarial case checks, besides the refusal itself:
 * (b) the server is alive: a probe pair of real y-websocket providers on ANOTHER document still
 *     round-trips an edit;
 * (c) nothing of the bad input was applied, broadcast (a watcher on the same document saw no
 *     update) or stored (storage.load).
 */
export const SECRET = 'adversarial-test-secret-0123456789'

export interface Arena {
  readonly tandem: RunningTandem
  readonly url: string
  /** Edits on the probe document from one provider reach the other; resolves once it did. */
  roundTrip(): Promise<void>
  /** A raw client on `doc` recording everything the server sends it. */
  watcher(doc: string, params?: string): Promise<RawClient>
  /** A token for `docs`, write access unless said otherwise. */
  token(docs: string[], access?: 'read' | 'write', expires?: string | number): Promise<string>
  /** The stored document, as a Y.Doc (after everything pending is committed). */
  stored(doc: string): Promise<Y.Doc>
  /** Counts of rejections by code, as /metrics reports them. */
  rejections(): Promise<Record<string, number>>
  close(): Promise<void>
}

export const PROBE_DOC = 'probe/doc'

export const startArena = async (options: { config?: ServerConfigInput; auth?: boolean } = {}): Promise<Arena> => {
  const auth = options.auth ?? false
  const tandem = await startTandem({
    config: { ...options.config, ...(auth ? { auth: { secret: SECRET } } : {}) },
  })
  const opened: Array<{ destroy(): void } | RawClient> = []
  const token = (docs: string[], access: 'read' | 'write' = 'write', expires: string | number = '1h') =>
    mintToken({ secret: SECRET, docs, access, expiresIn: expires })
  const probeParams = auth ? { token: await token([PROBE_DOC]) } : {}
  const a: YClient = yClient(tandem.url, PROBE_DOC, { params: probeParams })
  const b: YClient = yClient(tandem.url, PROBE_DOC, { params: probeParams })
  opened.push(a, b)
  await Promise.all([a.synced(), b.synced()])
  let round = 0
  return {
    tandem,
    url: tandem.url,
    async roundTrip() {
      const mark = `<${round++}>`
      a.text.insert(a.text.length, mark)
      await eventually(() => b.text.toString().includes(mark), `the probe edit ${mark} to round-trip`, 15_000)
    },
    async watcher(doc, params) {
      const client = await rawClient(tandem.url, params === undefined ? doc : `${doc}?${params}`)
      opened.push(client)
      await client.synced()
      return client
    },
    token,
    async stored(doc) {
      await tandem.server.registry.settle()
      const stored = await tandem.storage.load(doc)
      const ydoc = new Y.Doc()
      if (stored.snapshot !== null) Y.applyUpdate(ydoc, stored.snapshot)
      for (const update of stored.updates) Y.applyUpdate(ydoc, update)
      return ydoc
    },
    async rejections() {
      const text = await tandem.server.metrics.registry.getSingleMetricAsString('tandem_rejections_total')
      const counts: Record<string, number> = {}
      for (const match of text.matchAll(/code="([^"]+)"\} (\d+)/g)) counts[match[1]!] = Number(match[2])
      return counts
    },
    async close() {
      for (const client of opened) {
        if ('socket' in client) client.close()
        else client.destroy()
      }
      await tandem.close()
    },
  }
}

/** The HTTP status of a refused upgrade, or 101 when it was accepted (the socket is then closed). */
export const upgradeStatus = (
  url: string,
  options: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} })
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0)
      response.resume()
      socket.terminate()
    })
    socket.on('open', () => {
      resolve(101)
      socket.terminate()
    })
    socket.on('error', (error) => reject(error))
  })

/** Updates the watcher received (sync-update or sync-step2 answers excluded: only broadcasts). */
export const broadcastsTo = (watcher: RawClient): YMessage[] => watcher.received.filter((m) => m.type === 'sync-update')

/** Opens a raw client, sends `frame` as it is, and resolves with the close code. */
export const closeCodeFor = async (url: string, doc: string, frame: Uint8Array): Promise<number> => {
  const client = await rawClient(url, doc, { syncOnOpen: false })
  try {
    client.socket.send(frame)
    return (await client.whenClosed()).code
  } finally {
    client.close()
  }
}

export const syncUpdate = (update: Uint8Array): Uint8Array => ywebsocket.encodeMessage({ type: 'sync-update', update })

/** True when `doc` holds no content at all. */
export const isEmpty = (doc: Y.Doc): boolean => Y.encodeStateVector(doc).length === 1 && doc.store.clients.size === 0
