/** Per edit (by sequence number): its earliest and latest delivery, in µs, as [seq, first, last]. */
export type EditSpansData = ReadonlyArray<readonly [number, number, number]>

/**
 * The first and the last delivery of each edit, over the readers of one worker, mergeable over
 * workers like a histogram. Percentiles are exact (a few hundred edits per phase).
 */
export class EditSpans {
  private readonly spans = new Map<number, [first: number, last: number]>()

  record(seq: number, latency: number): void {
    const span = this.spans.get(seq)
    if (span === undefined) {
      this.spans.set(seq, [latency, latency])
      return
    }
    if (latency < span[0]) span[0] = latency
    if (latency > span[1]) span[1] = latency
  }

  /** The edits' first deliveries: the value below which `p` (0..1) of them fall. */
  first(p: number): number {
    return percentile([...this.spans.values()].map((span) => span[0]), p)
  }

  /** The edits' last deliveries, likewise. */
  last(p: number): number {
    return percentile([...this.spans.values()].map((span) => span[1]), p)
  }

  toJSON(): EditSpansData {
    return [...this.spans].map(([seq, [first, last]]) => [seq, first, last] as const)
  }

  static from(parts: Iterable<EditSpansData>): EditSpans {
    const merged = new EditSpans()
    for (const part of parts) {
      for (const [seq, first, last] of part) {
        merged.record(seq, first)
        merged.record(seq, last)
      }
    }
    return merged
  }
}

/** Nearest rank, as `Histogram.percentile`: the smallest value with at least `p` of them at or below it. */
const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return NaN
  values.sort((a, b) => a - b)
  return values[Math.max(1, Math.ceil(p * values.length)) - 1]!
}
