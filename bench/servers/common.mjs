// @ts-check
/**
 * Flags shared by the peer server launchers: `--host`, `--port`, and launcher-specific ones.
 * The launchers are plain JavaScript so that plain Node runs them, as it runs Tandem's CLI
 * (see `peer` in src/server-process.ts).
 * @param {readonly string[]} argv
 * @returns {Map<string, string>}
 */
export const parseFlags = (argv) => {
  const flags = new Map()
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i])
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`)
    const value = argv[i + 1]
    if (value === undefined || value.startsWith('--')) throw new Error(`${arg} needs a value`)
    flags.set(arg.slice(2), value)
    i++
  }
  return flags
}

/** @param {Map<string, string>} flags */
export const requiredPort = (flags) => {
  const port = Number(flags.get('port'))
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port <0..65535> is required')
  return port
}
