import express, { type Express } from 'express'

export interface HealthSource {
  /** Everything the server needs to serve is up (storage commits succeed, not shutting down). */
  ready(): boolean
  stats(): Record<string, number>
}

/** The HTTP side on the same port as the WebSockets: health and readiness. */
export const createHttpApp = (health: HealthSource): Express => {
  const app = express()
  app.disable('x-powered-by')
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  app.get('/readyz', (_req, res) => {
    const ready = health.ready()
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', ...health.stats() })
  })
  return app
}
