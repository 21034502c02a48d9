import express, { type Express } from 'express'
import type { Registry } from 'prom-client'

export interface HealthSource {
  /** Everything the server needs to serve is up (storage commits succeed, not shutting down). */
  ready(): boolean
  stats(): Record<string, number>
}

export interface HttpAppOptions {
  /** Served as static files at `/` (the playground). WebSocket upgrades never reach express. */
  readonly staticDir?: string
  /** Served at GET /metrics in the Prometheus text format. */
  readonly metrics?: Registry
}

/** The HTTP side on the same port as the WebSockets: health and readiness, and the playground. */
export const createHttpApp = (health: HealthSource, options: HttpAppOptions = {}): Express => {
  const app = express()
  app.disable('x-powered-by')
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  app.get('/readyz', (_req, res) => {
    const ready = health.ready()
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', ...health.stats() })
  })
  const metrics = options.metrics
  if (metrics !== undefined) {
    app.get('/metrics', (_req, res, next) => {
      metrics
        .metrics()
        .then((text) => res.type(metrics.contentType).send(text))
        .catch(next)
    })
  }
  if (options.staticDir !== undefined) app.use(express.static(options.staticDir, { index: 'index.html', fallthrough: true }))
  return app
}
