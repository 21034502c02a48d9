import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { z } from 'zod'
import { ConfigError, configSchema, parseConfig, type ServerConfig } from './config.js'
import { SERVE_FLAGS, addServeFlags, configInputFromFlags, configKeyOf, explainConfigError, flagName, type ServeFlag } from './serve-flags.js'

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

/** Test values for the keys whose default is not a number. */
const OTHER_VALUES: Readonly<Record<string, string>> = {
  host: '127.0.0.2',
  storage: 'memory',
  dataDir: '/var/lib/tandem',
  durability: 'normal',
  logLevel: 'warn',
  multiplexPath: '/sync',
  playgroundDir: '/srv/playground',
  'auth.secret': 'a-secret-of-sixteen-or-more',
  'auth.jwksFile': '/etc/tandem/jwks.json',
  'auth.publicKeyFile': '/etc/tandem/key.pem',
  allowedOrigins: 'https://app.example.com',
  trustProxy: 'true',
}

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
    const covered = new Set([...SERVE_FLAGS.map(configKeyOf), 'auth.disabled'])
    expect(keys.filter((key) => !covered.has(key))).toEqual([])
    expect(SERVE_FLAGS.map(configKeyOf).filter((key) => !keys.includes(key))).toEqual([])
    expect(new Set(SERVE_FLAGS.map((flag) => flag.env)).size).toBe(SERVE_FLAGS.length)
  })

  it('are named for the key they set, and their variables for the flag', () => {
    // Where a flag's name is not its key's (shorter, or older than the key).
    const renamed: Readonly<Record<string, string>> = {
      dataDir: '--data',
      playgroundDir: '--playground',
      'auth.jwksFile': '--auth-jwks',
      'auth.publicKeyFile': '--auth-public-key',
    }
    const unprefixed: Readonly<Record<string, string>> = { '--host': 'HOST', '--port': 'PORT', '--log-level': 'LOG_LEVEL', '--playground': 'TANDEM_PLAYGROUND_DIR' }
    const squash = (name: string) => name.replace(/[^a-z]/gi, '').toLowerCase()
    for (const flag of SERVE_FLAGS) {
      const name = flagName(flag)
      const expected = renamed[configKeyOf(flag)] ?? `--${flag.section === 'auth' ? 'auth-' : ''}${flag.key}`
      expect(squash(name), configKeyOf(flag)).toBe(squash(expected))
      expect(flag.env, name).toBe(unprefixed[name] ?? `TANDEM_${name.slice(2).replaceAll('-', '_').toUpperCase()}`)
    }
  })

  it('each set their own key and only that one, from the environment', () => {
    const defaults = parseConfig({})
    const valueOf = (config: ServerConfig, flag: ServeFlag): unknown =>
      flag.section === undefined ? config[flag.key] : (config[flag.section] as Record<string, unknown>)[flag.key]
    for (const flag of SERVE_FLAGS) {
      const before = valueOf(defaults, flag)
      // A valid value unlike the default, so a flag wired to another key with the same default shows.
      const value = typeof before === 'number' ? String(before + 1) : (OTHER_VALUES[configKeyOf(flag)] ?? expect.fail(`no test value for ${configKeyOf(flag)}`))
      vi.stubEnv(flag.env, value)
      const config = parse([])
      vi.unstubAllEnvs()
      expect(valueOf(config, flag), `${flag.env}=${value}`).not.toEqual(before)
      const changed = [...configKeys()].filter((key) => {
        const [section, sub] = key.split('.') as [keyof ServerConfig, string | undefined]
        const of = (c: ServerConfig) => (sub === undefined ? c[section] : (c[section] as Record<string, unknown>)[sub])
        return JSON.stringify(of(config)) !== JSON.stringify(of(defaults))
      })
      expect(changed, `${flag.env}=${value}`).toEqual([configKeyOf(flag)])
    }
  })

  it('take flags over the environment, and --no-auth', () => {
    vi.stubEnv('TANDEM_COMPACT_AFTER_UPDATES', '40')
    vi.stubEnv('TANDEM_SLOW_CONSUMER_TIMEOUT_MS', '2500')
    const config = parse(['--compact-after-updates', '7', '--max-pending-bytes', '4096', '--no-auth'])
    expect(config.compactAfterUpdates).toBe(7)
    expect(config.limits.slowConsumerTimeoutMs).toBe(2500)
    expect(config.limits.maxPendingBytes).toBe(4096)
    expect(config.auth.disabled).toBe(true)
    expect(parse([]).auth.disabled).toBe(false)
  })

  it('read --trust-proxy as a value: TANDEM_TRUST_PROXY=false is off', () => {
    for (const [value, expected] of [['false', false], ['0', false], ['true', true], ['1', true]] as const) {
      vi.stubEnv('TANDEM_TRUST_PROXY', value)
      expect(parse([]).trustProxy, value).toBe(expected)
    }
    vi.unstubAllEnvs()
    expect(parse(['--trust-proxy']).trustProxy).toBe(true)
    expect(parse(['--trust-proxy', 'false']).trustProxy).toBe(false)
    expect(parse([]).trustProxy).toBe(false)
  })

  it('name the flag and the variable of each invalid setting', () => {
    vi.stubEnv('TANDEM_MAX_PENDING_BYTES', '12')
    let error: unknown
    try {
      parse(['--compact-after-updates', '0', '--auth-secret', 'short'])
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    const lines = explainConfigError(error as ConfigError).split('\n')
    expect(lines[0]).toBe('invalid configuration:')
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}- --compact-after-updates \/ TANDEM_COMPACT_AFTER_UPDATES: .*>=1/))
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}- --max-pending-bytes \/ TANDEM_MAX_PENDING_BYTES: .*>=1024/))
    expect(lines).toContainEqual('  - --auth-secret / TANDEM_AUTH_SECRET: auth secret must be at least 16 characters')
    expect(lines).toHaveLength(4)
  })

  it("are README's configuration table, each with its variable and the schema's default", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const defaults = parseConfig({}) as unknown as Record<string, unknown>
    // No row for a flag that is gone.
    const rows = [...readme.matchAll(/^\| `(--[a-z-]+)` \|/gm)].map((match) => match[1])
    expect(rows.filter((name) => name !== '--no-auth' && !SERVE_FLAGS.some((flag) => flagName(flag) === name))).toEqual([])
    for (const flag of SERVE_FLAGS) {
      const row = new RegExp(`^\\| \`${flagName(flag)}\` \\| \`${flag.env}\` \\| ([^|]+) \\|`, 'm').exec(readme)
      expect(row, `README has no row for ${flagName(flag)} with ${flag.env}`).not.toBeNull()
      const cell = /^`(.*)`$/.exec(row![1]!.trim())
      if (cell === null) continue // "none", "any", "off": no literal to compare
      const value = flag.section === undefined ? defaults[flag.key] : (defaults[flag.section] as Record<string, unknown>)[flag.key]
      expect(cell[1], `README's default for ${flagName(flag)}`).toBe(String(value))
    }
  })
})
