/**
 * A mergeable latency histogram: logarithmic buckets 1% wide, so percentiles are exact to 1%
 * whatever the range, and workers can send theirs to the runner as a few hundred numbers instead
 * of every sample. Min, max and sum are exact.
 */
const GROWTH = Math.log(1.01)
const BUCKETS = 2400 // 1.01^2400 µs ≈ 2.2e10 µs: far past any deadline

export interface HistogramData {
  readonly count: number
  readonly sum: number
  readonly min: number
  readonly max: number
  /** Sparse [bucket, count] pairs. */
  readonly buckets: ReadonlyArray<readonly [number, number]>
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS)
  count = 0
  sum = 0
  min = Infinity
  max = -Infinity

  record(value: number): void {
    const v = value < 0 ? 0 : value
    const bucket = v < 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(v) / GROWTH) + 1)
    this.counts[bucket]!++
    this.count++
    this.sum += v
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
  }

  merge(data: HistogramData): void {
    for (const [bucket, count] of data.buckets) this.counts[bucket]! += count
    this.count += data.count
    this.sum += data.sum
    if (data.count > 0) {
      this.min = Math.min(this.min, data.min)
      this.max = Math.max(this.max, data.max)
    }
  }

  /** The value below which `p` (0..1) of the samples fall: the upper edge of its bucket, capped by max. */
  percentile(p: number): number {
    if (this.count === 0) return NaN
    const rank = Math.max(1, Math.ceil(p * this.count))
    let seen = 0
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!
      if (seen >= rank) return Math.min(this.max, bucket === 0 ? 1 : Math.exp(bucket * GROWTH))
    }
    return this.max
  }

  toJSON(): HistogramData {
    const buckets: Array<[number, number]> = []
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      const count = this.counts[bucket]!
      if (count > 0) buckets.push([bucket, count])
    }
    return { count: this.count, sum: this.sum, min: this.count > 0 ? this.min : 0, max: this.count > 0 ? this.max : 0, buckets }
  }

  static from(parts: Iterable<HistogramData>): Histogram {
    const histogram = new Histogram()
    for (const part of parts) histogram.merge(part)
    return histogram
  }
}

/** Latency summary in milliseconds. */
export interface LatencySummary {
  readonly samples: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly meanMs: number
}

export const summarizeMicros = (histogram: Histogram): LatencySummary => ({
  samples: histogram.count,
  p50Ms: histogram.percentile(0.5) / 1000,
  p99Ms: histogram.percentile(0.99) / 1000,
  maxMs: histogram.count > 0 ? histogram.max / 1000 : NaN,
  meanMs: histogram.count > 0 ? histogram.sum / histogram.count / 1000 : NaN,
})
