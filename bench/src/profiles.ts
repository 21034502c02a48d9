import type { ScenarioId } from './scenario.js'

/** Sizes and durations of one benchmark run. `full` is the comparison; `smoke` checks the harness works. */
export interface Profile {
  readonly name: string
  readonly reps: number
  /**
   * More repetitions for the scenarios whose repetitions spread most on a shared machine (the
   * latency and throughput ones); `--reps` overrides both.
   */
  readonly repsFor?: Readonly<Partial<Record<ScenarioId, number>>>
  readonly workers: number
  /** Which servers each scenario runs against (ids from server-process.ts). */
  readonly servers: Readonly<Record<Exclude<ScenarioId, 'S6'>, readonly string[]>>
  /** S6 pairs: [storage on, storage off] of one server. */
  readonly durabilityPairs: ReadonlyArray<readonly [string, string]>
  readonly s1: { readonly clients: readonly number[]; readonly rate: number; readonly seconds: number; readonly warmupSeconds: number; readonly editLength: number }
  readonly s2: {
    readonly writers: number
    readonly readers: number
    readonly seconds: number
    readonly warmupSeconds: number
    readonly window: number
    readonly editLength: number
  }
  readonly s3: { readonly documents: number; readonly chunks: number; readonly chunkLength: number; readonly concurrency: number; readonly idleSeconds: number }
  readonly s4: { readonly operations: number; readonly warmFetches: number }
  readonly s5: { readonly connections: number; readonly perDocument: number; readonly concurrency: number; readonly idleSeconds: number }
  readonly s7: { readonly operations: number; readonly highWaterBytes: number; readonly timeoutMs: number }
  readonly s8: { readonly clients: readonly number[]; readonly concurrency: number; readonly timeoutMs: number }
}

/** Repetitions of one scenario under `profile`. */
export const repsOf = (profile: Profile, scenario: string): number =>
  (profile.repsFor as Readonly<Record<string, number>> | undefined)?.[scenario] ?? profile.reps

/** "3 repetitions (S2: 5, S3: 5)": how often a profile repeats its scenarios, for logs and the report. */
export const repsText = (profile: Profile): string => {
  const extra = Object.entries(profile.repsFor ?? {}).map(([id, n]) => `${id}: ${n}`)
  return `${profile.reps} repetition${profile.reps === 1 ? '' : 's'}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`
}

const MAIN = ['tandem', 'tandem-memory', 'y-websocket', 'hocuspocus', 'raw-relay'] as const

export const TRACE_SEED = 7

export const profiles: Record<string, Profile> = {
  full: {
    name: 'full',
    reps: 3,
    // S2's throughput spreads by a factor up to two between repetitions here, for every server
    // (steal time of a shared host), and S3's RSS by up to two (when the garbage collector ran
    // during the burst): five repetitions each, S6 included (it is S2's data). S1 takes its length
    // from its window instead (below).
    repsFor: { S2: 5, S3: 5 },
    workers: 2,
    servers: {
      S1: MAIN,
      // S2 also runs on each peer's other storage setting, for S6.
      // Tandem's pair also over the multiplexed dialect, whose acknowledgements wait for the fsync.
      S2: [...MAIN, 'tandem-normal', 'tandem-mux', 'tandem-mux-memory', 'y-websocket-leveldb', 'hocuspocus-memory'],
      // Memory also without `npm start`'s Node flags (--max-semi-space-size, --heap-growing-percent), as the peers run.
      S3: [...MAIN, 'tandem-node-defaults'],
      S4: ['tandem', 'tandem-memory', 'y-websocket', 'y-websocket-leveldb', 'hocuspocus'],
      S5: [...MAIN, 'tandem-node-defaults'],
      S7: MAIN,
      S8: MAIN,
    },
    durabilityPairs: [
      ['tandem', 'tandem-memory'],
      ['tandem-normal', 'tandem-memory'],
      ['tandem-mux', 'tandem-mux-memory'],
      ['hocuspocus', 'hocuspocus-memory'],
      ['y-websocket-leveldb', 'y-websocket'],
    ],
    // S1 measures steady-state latency: code a server runs once per edit (100 times a second) reaches
    // V8's optimisation threshold only after seconds, and each TurboFan compile (about 2.5 ms here)
    // holds the server's one CPU; with 0.5 s of warm-up the measured window caught those compiles
    // (bench/analysis.md). Ten seconds per phase gets most of them done before the window (some go on).
    // The window is 20 s (2,000 edits): with 4 s the p99 at 200 clients was the fourth slowest edit's
    // deliveries, and hung on whether three edits of a repetition stalled or four. It also puts the
    // 200-client phase 30 s later in the server's life, past most tiering (bench/METHOD.md).
    s1: { clients: [50, 200], rate: 100, seconds: 20, warmupSeconds: 10, editLength: 24 },
    s2: { writers: 10, readers: 10, seconds: 4, warmupSeconds: 1, window: 64, editLength: 24 },
    s3: { documents: 2000, chunks: 20, chunkLength: 100, concurrency: 100, idleSeconds: 2 },
    s4: { operations: 100_000, warmFetches: 5 },
    s5: { connections: 10_000, perDocument: 100, concurrency: 200, idleSeconds: 2 },
    s7: { operations: 100_000, highWaterBytes: 256 * 1024, timeoutMs: 60_000 },
    s8: { clients: [500, 1000, 2000], concurrency: 100, timeoutMs: 30_000 },
  },
  smoke: {
    name: 'smoke',
    reps: 1,
    workers: 2,
    servers: {
      S1: ['tandem', 'raw-relay'],
      S2: ['tandem', 'raw-relay'],
      S3: ['tandem', 'raw-relay'],
      S4: ['tandem'],
      S5: ['tandem', 'raw-relay'],
      S7: ['tandem', 'raw-relay'],
      S8: ['tandem', 'raw-relay'],
    },
    // Only when both are selected (the smoke test runs them for S2 alone).
    durabilityPairs: [['tandem-mux', 'tandem-mux-memory']],
    s1: { clients: [10], rate: 100, seconds: 0.5, warmupSeconds: 0.1, editLength: 24 },
    s2: { writers: 2, readers: 2, seconds: 0.5, warmupSeconds: 0.1, window: 16, editLength: 24 },
    s3: { documents: 40, chunks: 4, chunkLength: 100, concurrency: 20, idleSeconds: 0 },
    s4: { operations: 2_000, warmFetches: 2 },
    s5: { connections: 100, perDocument: 25, concurrency: 50, idleSeconds: 0 },
    s7: { operations: 2_000, highWaterBytes: 64 * 1024, timeoutMs: 20_000 },
    s8: { clients: [20], concurrency: 20, timeoutMs: 10_000 },
  },
}
