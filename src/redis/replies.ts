import { type RawReply, type ScriptName, UnknownReplyError } from './scripts.js'

/** Every way a script can refuse a change. The wrappers return these; nothing else. */
export type Failure =
  | { code: 'REBUILDING' }
  | { code: 'BACKLOG_FULL'; backlog: number }
  | { code: 'DRAFTS_FULL'; drafts: number }
  | { code: 'NOT_FOUND'; productId?: number }
  | { code: 'KEYS_MISMATCH' }
  | { code: 'INVALID_STATE'; status: string }
  | { code: 'EXPIRED' }
  | { code: 'OUT_OF_STOCK'; productId: number; available: number }
  | { code: 'CUSTOMER_REQUIRED'; productId: number }
  | { code: 'LIMIT_EXCEEDED'; productId: number; limit: number; held: number }
  | { code: 'STOCK_LIMIT'; total: number; max: number }
  | { code: 'TOO_MANY_OPEN_ORDERS'; open: number; max: number }
  | { code: 'PRODUCT_INACTIVE'; productId: number }
  | { code: 'SALE_NOT_STARTED'; productId: number; at: number }
  | { code: 'SALE_ENDED'; productId: number; at: number }
  | { code: 'INVALID'; field: string; reason: string }
  | { code: 'HOLDS_EXPIRED' }

/** Parses a refusal; a code no wrapper knows is thrown, so it is logged with the script's name. */
export function failureFrom(script: ScriptName, raw: RawReply): Failure {
  const [code, a, b, c] = raw
  const num = (value: unknown) => Number(value)
  switch (code) {
    case 'REBUILDING':
    case 'KEYS_MISMATCH':
    case 'EXPIRED':
    case 'HOLDS_EXPIRED':
      return { code }
    case 'BACKLOG_FULL':
      return { code, backlog: num(a) }
    case 'DRAFTS_FULL':
      return { code, drafts: num(a) }
    case 'NOT_FOUND':
      return a === undefined ? { code } : { code, productId: num(a) }
    case 'INVALID_STATE':
      return { code, status: String(a) }
    case 'OUT_OF_STOCK':
      return { code, productId: num(a), available: num(b) }
    case 'CUSTOMER_REQUIRED':
    case 'PRODUCT_INACTIVE':
      return { code, productId: num(a) }
    case 'LIMIT_EXCEEDED':
      return { code, productId: num(a), limit: num(b), held: num(c) }
    case 'STOCK_LIMIT':
      return { code, total: num(a), max: num(b) }
    case 'TOO_MANY_OPEN_ORDERS':
      return { code, open: num(a), max: num(b) }
    case 'SALE_NOT_STARTED':
    case 'SALE_ENDED':
      return { code, productId: num(a), at: num(b) }
    case 'INVALID':
      return { code, field: String(a), reason: String(b) }
    default:
      throw new UnknownReplyError(script, raw)
  }
}

/** Parses the JSON values a script returns (cjson-encoded hashes). */
export function jsonValue<T>(value: RawReply[number] | undefined): T {
  return JSON.parse(String(value)) as T
}
