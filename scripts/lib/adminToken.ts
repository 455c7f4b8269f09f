import { readFileSync } from 'node:fs'

/**
 * The service's admin token for the tools: ADMIN_TOKEN, else the token
 * `npm start` keeps in ADMIN_TOKEN_FILE (.admin-token) when ADMIN_TOKEN is unset.
 */
export function adminToken(): string {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN
  try {
    return readFileSync(process.env.ADMIN_TOKEN_FILE ?? '.admin-token', 'utf8').trim()
  } catch {
    return ''
  }
}
