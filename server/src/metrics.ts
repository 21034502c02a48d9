import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Prometheus metrics of one server (its own registry, so several servers in one process, as in
 * tests, never share counters). Served at GET /metrics.
 */
export class Metrics {
  readonly registry = new Registry()
  /** Every refusal, by catalogue code: upgrades refused and connections or documents closed. */
  readonly rejections: Counter<'code'>

  constructor(
    sources: { connections(): number; documents(): number; sendBufferBytes(): number },
    options: { defaultMetrics?: boolean } = {},
  ) {
    this.rejections = new Counter({
      name: 'tandem_rejections_total',
      help: 'Requests, connections and documents refused, by error code (docs/errors.md)',
      labelNames: ['code'],
      registers: [this.registry],
    })
    new Gauge({
      name: 'tandem_send_buffer_bytes',
      help: 'Bytes queued for sending on all connections (bounded by backpressure)',
      registers: [this.registry],
      collect() {
        this.set(sources.sendBufferBytes())
      },
    })
    new Gauge({
      name: 'tandem_connections',
      help: 'Open WebSocket connections',
      registers: [this.registry],
      collect() {
        this.set(sources.connections())
      },
    })
    new Gauge({
      name: 'tandem_documents_loaded',
      help: 'Documents loaded in memory',
      registers: [this.registry],
      collect() {
        this.set(sources.documents())
      },
    })
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'tandem_' })
  }

  rejected(code: string): void {
    this.rejections.inc({ code })
  }
}
