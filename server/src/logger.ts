import { pino, type Logger } from 'pino'

export type { Logger }

/** JSON logs; pretty-printed when stdout is a terminal. Tokens are redacted wherever they appear. */
export const createLogger = (level: string, pretty = process.stdout.isTTY === true): Logger =>
  pino({
    level,
    redact: { paths: ['token', '*.token', 'req.query.token', 'headers.authorization'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  })
