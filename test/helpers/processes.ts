import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { ADMIN_TOKEN, REDIS_URL } from './context.js'

/** A service's environment on a test's database and key prefix, on a free loopback port. */
export function serviceEnv(
  databaseUrl: string,
  prefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    KEY_PREFIX: prefix,
    ADMIN_TOKEN,
    PORT: '0',
    HOST: '127.0.0.1',
    ...extra,
  }
}

/**
 * Runs `src/main.ts` as one real process (node with tsx's loader, so kill -9
 * hits the service itself), with only the given environment.
 */
export function startService(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/[^\s"]+)/.exec(stdout)
      if (match?.[1]) resolve(match[1].replace('localhost', '127.0.0.1'))
    })
    void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)))
  })
  listening.catch(() => {}) // callers that expect an exit never await it
  /** Resolves once stdout has printed `text` (bounded by `timeoutMs`). */
  const printed = async (text: string, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs
    while (!stdout.includes(text)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`never printed "${text}": ${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return { child, listening, exited, printed, output: () => ({ stdout, stderr }) }
}
