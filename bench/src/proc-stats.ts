import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { nowMicros } from './markers.js'

/**
 * CPU time and memory of another process, read from /proc (Linux). CPU is user + system time of
 * every thread of the process (GC and libuv threads included), in seconds; `mainCpuSeconds` that of
 * its main thread alone (the thread whose ID is the process ID: Node's event loop).
 */
export interface ProcSample {
  readonly atMs: number
  readonly cpuSeconds: number
  readonly mainCpuSeconds: number
  readonly rssBytes: number
  readonly peakRssBytes: number
}

let ticksPerSecond = 100 // CLK_TCK; 100 on every Linux this runs on

export const setTicksPerSecond = (ticks: number): void => {
  ticksPerSecond = ticks
}

/**
 * A /proc `stat` file: the command name, and the fields after it (`fields[0]` is the state,
 * `fields[1]` the parent's pid, `fields[11]` and `fields[12]` user and system time in clock ticks).
 */
const readStat = (path: string): { command: string; fields: string[] } => {
  const stat = readFileSync(path, 'utf8')
  // The command name is in parentheses and may contain spaces: split after the last ')'.
  const close = stat.lastIndexOf(')')
  return { command: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') }
}

/** User + system time in /proc's `stat` format, in seconds. */
const statCpuSeconds = (path: string): number => {
  const { fields } = readStat(path)
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}

export const sampleProcess = (pid: number): ProcSample | null => {
  try {
    const cpuSeconds = statCpuSeconds(`/proc/${pid}/stat`)
    const mainCpuSeconds = statCpuSeconds(`/proc/${pid}/task/${pid}/stat`)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return {
      atMs: performance.now(),
      cpuSeconds,
      mainCpuSeconds,
      rssBytes: kibField(status, 'VmRSS') * 1024,
      peakRssBytes: kibField(status, 'VmHWM') * 1024,
    }
  } catch {
    return null
  }
}

/**
 * The processes that launched this one for the benchmark (`pnpm bench`, `npx tsx src/run.ts`, tsx's
 * wrapper), nearest first: the ancestors whose command line runs src/run.ts or a package manager's
 * `bench`, up to the first that does neither (the user's shell, or vitest in the smoke test). Idle
 * once the runner is up, but the Node ones' garbage collectors still run. Shells on the way are
 * passed, not returned: they collect no garbage, and a script's shell may go on to run other things.
 */
export const launcherPids = (): number[] => {
  const pids: number[] = []
  for (let pid = process.ppid; pid >= 1; ) {
    let cmdline: string
    let stat: ReturnType<typeof readStat>
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
      stat = readStat(`/proc/${pid}/stat`)
    } catch {
      break
    }
    if (!isLauncher(cmdline)) break
    if (!SHELLS.has(stat.command)) pids.push(pid)
    pid = Number(stat.fields[1])
  }
  return pids
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'fish', 'busybox'])

/**
 * The CPUs a thread may run on, as the kernel lists them (`Cpus_allowed_list`, e.g. "1" or "1-3"),
 * or null if it is gone. `tid` defaults to the process's main thread.
 */
export const allowedCpus = (pid: number, tid = pid): string | null => {
  try {
    return /^Cpus_allowed_list:\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? null
  } catch {
    return null
  }
}

/**
 * Sets the CPUs of a process (every thread of it) or of one thread, with `taskset`. Returns false
 * when that cannot be done: not ours to move (another user, another cpuset), or gone.
 */
export const moveToCpus = (id: number, cpus: string, scope: 'process' | 'thread'): boolean => {
  try {
    execFileSync('taskset', [...(scope === 'process' ? ['-a'] : []), '-p', '-c', cpus, String(id)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Runs src/run.ts, or is a package manager (a word of its own, quoted or not, or its script's file name) running `bench`. */
export const isLauncher = (cmdline: string): boolean =>
  /(?:^|[\s/])src\/run\.ts(?=\s|$)/.test(cmdline) ||
  (/(?:^|[\s/'"])(?:pnpm|npm|npx)(?:\.c?js)?['"]?(?=\s|$)/.test(cmdline) && /(?:^|\s)['"]?bench(?::[\w-]+)?['"]?(?=\s|$)/.test(cmdline))

const kibField = (status: string, name: string): number => {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)
  return match === null ? NaN : Number(match[1])
}

/** CPU use between two samples as a share of one core (1.0 = one core busy the whole time). */
export const cpuShare = (from: ProcSample, to: ProcSample): number => {
  const wallSeconds = (to.atMs - from.atMs) / 1000
  return wallSeconds > 0 ? (to.cpuSeconds - from.cpuSeconds) / wallSeconds : NaN
}

/** CPU seconds the whole machine spent busy (every CPU, every process), from /proc/stat. */
export const machineBusySeconds = (): number => {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
  const [, user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
  void idle
  void iowait
  return (user! + nice! + system! + irq! + softirq! + steal!) / ticksPerSecond
}

export interface PhaseUse {
  /** CPU share of the tracked processes, summed (1.0 = one core). */
  readonly cpuShare: number
  /**
   * The part of `cpuShare` used by threads other than each process's main thread: V8's compiler and
   * garbage-collector helpers and libuv's thread pool (fsync, for one). A server pinned to one CPU
   * shares it with them, so their time is time its event loop may wait.
   */
  readonly helperCpuShare: number
  readonly cpuSeconds: number
  readonly rssBytes: number
  readonly peakRssBytes: number
  readonly wallSeconds: number
  /** Busy CPU seconds of the whole machine over the phase. */
  readonly machineBusySeconds: number
}

/** Tracks a set of processes across one measured phase. */
export class PhaseMeter {
  private starts = new Map<number, ProcSample>()
  private machineStart = 0
  constructor(private readonly pids: readonly number[]) {}

  start(): void {
    this.machineStart = machineBusySeconds()
    this.starts = new Map()
    for (const pid of this.pids) {
      const sample = sampleProcess(pid)
      if (sample !== null) this.starts.set(pid, sample)
    }
  }

  /** CPU share (sum over the processes) and CPU seconds since `start()`, and the current total RSS. */
  stop(): PhaseUse {
    let share = 0
    let helperSeconds = 0
    let seconds = 0
    let rss = 0
    let peak = 0
    let wall = 0
    for (const pid of this.pids) {
      const start = this.starts.get(pid)
      const end = sampleProcess(pid)
      if (start === undefined || end === null) continue
      share += cpuShare(start, end)
      seconds += end.cpuSeconds - start.cpuSeconds
      // The process's and the main thread's times are read separately, each in whole clock ticks:
      // over a short phase their difference can come out a tick or two below zero.
      helperSeconds += Math.max(0, end.cpuSeconds - end.mainCpuSeconds - (start.cpuSeconds - start.mainCpuSeconds))
      rss += end.rssBytes
      peak += end.peakRssBytes
      wall = Math.max(wall, (end.atMs - start.atMs) / 1000)
    }
    return { cpuShare: share, helperCpuShare: wall > 0 ? helperSeconds / wall : NaN, cpuSeconds: seconds, rssBytes: rss, peakRssBytes: peak, wallSeconds: wall, machineBusySeconds: machineBusySeconds() - this.machineStart }
  }
}

/**
 * Starts `meters` when the monotonic clock (`nowMicros`) reaches `atMicros`, the start of a phase's
 * measured window, so CPU is counted over the same window as the latencies, not the warm-up.
 * Returns a function that cancels the start if it has not happened yet.
 */
export const startMetersAt = (atMicros: number, ...meters: PhaseMeter[]): (() => void) => {
  const timer = setTimeout(
    () => {
      for (const meter of meters) meter.start()
    },
    Math.max(0, (atMicros - nowMicros()) / 1000),
  )
  return () => clearTimeout(timer)
}
