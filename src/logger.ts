import { pino } from 'pino'

export type Logger = pino.Logger

/**
 * JSON logs on stdout, written asynchronously: a line goes out at once when
 * stdout is free, and lines that arrive while a write is under way go out
 * together with the next one, so under load many request lines share one
 * system call. `flush()` runs on shutdown.
 */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: { service: 'online-store' } },
    pino.destination({ dest: 1, sync: false }),
  )
}
