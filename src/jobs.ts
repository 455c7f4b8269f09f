import type { Logger } from './logger.js'

/** Runs `task` every `intervalMs` until stopped; a failing run is logged, never fatal. */
export function periodic(
  name: string,
  intervalMs: number,
  task: () => Promise<unknown>,
  logger: Logger,
) {
  let timer: NodeJS.Timeout | undefined
  let current: Promise<unknown> = Promise.resolve()
  let stopped = false
  const tick = () => {
    current = task()
      .catch((err) =>
        logger.warn(
          { job: name, err: err instanceof Error ? err.message : String(err) },
          'job failed',
        ),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs)
      })
  }
  return {
    /** The first run comes after `firstInMs` (an interval, unless said otherwise). */
    start(firstInMs = intervalMs) {
      timer = setTimeout(tick, firstInMs)
      logger.info({ job: name, interval_ms: intervalMs }, 'job started')
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await current
    },
  }
}
