import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { z } from 'zod'
import { configSchema, parseConfig } from './config.js'
import { SERVE_FLAGS, addServeFlags, configInputFromFlags } from './serve-flags.js'

/** The schema under defaults, optionals and preprocessing: an object's shape, or a leaf. */
const unwrap = (schema: z.ZodType): z.ZodType => {
  const def = (schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; out?: z.ZodType } } })._zod.def
  if (def.innerType !== undefined) return unwrap(def.innerType)
  if (def.type === 'pipe' && def.out !== undefined) return unwrap(def.out)
  return schema
}

/** Every key of the configuration, as `key` or `section.key`. */
const configKeys = (): string[] =>
  Object.entries(configSchema.shape).flatMap(([key, field]) => {
    const inner = unwrap(field as z.ZodType) as { shape?: Record<string, z.ZodType> }
    return inner.shape === undefined ? [key] : Object.keys(inner.shape).map((sub) => `${key}.${sub}`)
  })

const keyOf = (flag: (typeof SERVE_FLAGS)[number]): string => (flag.section === undefined ? flag.key : `${flag.section}.${flag.key}`)
const longName = (flag: (typeof SERVE_FLAGS)[number]): string => /--[a-z-]+/.exec(flag.flags)![0]

const parse = (argv: string[]) => {
  const command = addServeFlags(new Command('serve').exitOverride())
  command.parse(argv, { from: 'user' })
  return parseConfig(configInputFromFlags(command.opts()))
}

describe('serve flags', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('give every configuration key a flag and an environment variable', () => {
    const keys = configKeys()
    expect(keys).toContain('compactAfterUpdates')
    expect(keys).toContain('limits.slowConsumerTimeoutMs')
    expect(keys).toContain('auth.clockToleranceSeconds')
    // auth.disabled is --no-auth, the one flag without a variable.
    const covered = new Set([...SERVE_FLAGS.map(keyOf), 'auth.disabled'])
    expect(keys.filter((key) => !covered.has(key))).toEqual([])
    expect(SERVE_FLAGS.map(keyOf).filter((key) => !keys.includes(key))).toEqual([])
    expect(new Set(SERVE_FLAGS.map((flag) => flag.env)).size).toBe(SERVE_FLAGS.length)
  })

  it('set the configuration from flags, then the environment, then the defaults', () => {
    vi.stubEnv('TANDEM_COMPACT_AFTER_UPDATES', '40')
    vi.stubEnv('TANDEM_SLOW_CONSUMER_TIMEOUT_MS', '2500')
    vi.stubEnv('TANDEM_AUTH_CLOCK_TOLERANCE_SECONDS', '9')
    vi.stubEnv('TANDEM_TRUST_PROXY', 'true')
    const config = parse(['--compact-after-updates', '7', '--max-pending-bytes', '4096', '--multiplex-path', '/sync', '--no-auth'])
    expect(config.compactAfterUpdates).toBe(7)
    expect(config.limits.maxPendingBytes).toBe(4096)
    expect(config.multiplexPath).toBe('/sync')
    expect(config.auth.disabled).toBe(true)
    expect(config.limits.slowConsumerTimeoutMs).toBe(2500)
    expect(config.auth.clockToleranceSeconds).toBe(9)
    expect(config.trustProxy).toBe(true)
    expect(config.awarenessTimeoutMs).toBe(parseConfig({}).awarenessTimeoutMs)
    expect(parse([]).auth.disabled).toBe(false)
  })

  it("are README's configuration table, each with its variable and the schema's default", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const defaults = parseConfig({}) as unknown as Record<string, unknown>
    for (const flag of SERVE_FLAGS) {
      const row = new RegExp(`^\\| \`${longName(flag)}\` \\| \`${flag.env}\` \\| ([^|]+) \\|`, 'm').exec(readme)
      expect(row, `README has no row for ${longName(flag)} with ${flag.env}`).not.toBeNull()
      const cell = /^`(.*)`$/.exec(row![1]!.trim())
      if (cell === null) continue // "none", "any", "off": no literal to compare
      const value = flag.section === undefined ? defaults[flag.key] : (defaults[flag.section] as Record<string, unknown>)[flag.key]
      expect(cell[1], `README's default for ${longName(flag)}`).toBe(String(value))
    }
  })
})
