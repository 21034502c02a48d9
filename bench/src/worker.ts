import type { WorkerReply, WorkerRequest } from './worker-pool.js'
import { fanoutHandlers } from './scenarios/fanout.js'
import { throughputHandlers } from './scenarios/throughput.js'
import { manyDocsHandlers } from './scenarios/many-docs.js'
import { bigDocHandlers } from './scenarios/big-doc.js'
import { idleHandlers } from './scenarios/idle.js'
import { ingestHandlers } from './scenarios/ingest.js'
import { presenceHandlers } from './scenarios/presence.js'

/** A client worker process: runs the handlers the runner asks for, one request at a time or several at once. */
export type Handler = (args: never) => Promise<unknown>

const handlers: Record<string, Handler> = {
  ping: async () => process.pid,
  ...fanoutHandlers,
  ...throughputHandlers,
  ...manyDocsHandlers,
  ...bigDocHandlers,
  ...idleHandlers,
  ...ingestHandlers,
  ...presenceHandlers,
}

process.on('message', (request: WorkerRequest) => {
  const handler = handlers[request.cmd]
  const reply = (message: WorkerReply) => process.send?.(message)
  if (handler === undefined) {
    reply({ id: request.id, ok: false, error: `unknown command ${request.cmd}` })
    return
  }
  ;(handler as (args: unknown) => Promise<unknown>)(request.args).then(
    (result) => reply({ id: request.id, ok: true, result }),
    (error: unknown) => reply({ id: request.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  )
})

// The runner went away: nothing left to do.
process.on('disconnect', () => process.exit(0))
