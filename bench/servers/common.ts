/** Flags shared by the peer server launchers: `--host`, `--port`, and launcher-specific ones. */
export const parseFlags = (argv: readonly string[]): Map<string, string> => {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`)
    const value = argv[i + 1]
    if (value === undefined || value.startsWith('--')) throw new Error(`${arg} needs a value`)
    flags.set(arg.slice(2), value)
    i++
  }
  return flags
}

export const requiredPort = (flags: Map<string, string>): number => {
  const port = Number(flags.get('port'))
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port <0..65535> is required')
  return port
}
