/**
 * Money is kept in integer minor units (cents) everywhere inside the store.
 * The API speaks decimal numbers with at most two places, as the original did.
 */
export const MAX_PRICE_MINOR = 1_000_000_000 // 10,000,000.00: keeps every order total exact

const DECIMAL = /^(\d+)(?:\.(\d{1,2}))?$/

/** 100.5 -> 10050. Returns null for negatives, NaN, exponents or more than two decimals. */
export function toMinorUnits(amount: number): number | null {
  if (!Number.isFinite(amount)) return null
  const match = DECIMAL.exec(String(amount))
  if (!match) return null
  const [, whole = '0', fraction = ''] = match
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'))
}

/** 10050 -> 100.5, for JSON responses. */
export function fromMinorUnits(minor: number | string): number {
  return Number(minor) / 100
}

/** 10050 -> '100.50', exact, for Postgres numeric columns. */
export function toDecimalString(minor: number | string | bigint): string {
  const value = BigInt(minor)
  const sign = value < 0n ? '-' : ''
  const abs = value < 0n ? -value : value
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`
}

/** '100.50' -> 10050, from Postgres numeric columns. */
export function decimalToMinor(decimal: string): number {
  const [whole = '0', fraction = ''] = decimal.split('.')
  const sign = whole.startsWith('-') ? -1 : 1
  return sign * (Math.abs(Number(whole)) * 100 + Number(fraction.padEnd(2, '0').slice(0, 2)))
}
