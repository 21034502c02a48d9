import { TandemError } from '@tandem/protocol'

export interface ConnectionLimits {
  readonly maxConnections: number
  readonly maxConnectionsPerIp: number
}

/**
 * Counts open connections, in total and per remote address, so the upgrade can be refused before
 * any WebSocket exists (503 total, 429 per address). `acquire` before the upgrade, `release` once
 * the socket is gone (or the upgrade failed).
 */
export class ConnectionLimiter {
  private total = 0
  private readonly perIp = new Map<string, number>()

  constructor(private readonly limits: ConnectionLimits) {}

  /** Counts a connection from `ip`, or returns the refusal. */
  acquire(ip: string): TandemError | null {
    if (this.total >= this.limits.maxConnections) return new TandemError('TOO_MANY_CONNECTIONS', `${this.total} open`)
    const fromIp = this.perIp.get(ip) ?? 0
    if (fromIp >= this.limits.maxConnectionsPerIp) {
      return new TandemError('TOO_MANY_CONNECTIONS_FROM_ADDRESS', `${fromIp} open from this address`)
    }
    this.total++
    this.perIp.set(ip, fromIp + 1)
    return null
  }

  release(ip: string): void {
    const fromIp = this.perIp.get(ip)
    if (fromIp === undefined) return
    this.total--
    if (fromIp <= 1) this.perIp.delete(ip)
    else this.perIp.set(ip, fromIp - 1)
  }

  get size(): number {
    return this.total
  }
}
