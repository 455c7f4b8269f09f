import { perClient } from '../perClient.js'

/**
 * The sold-out fast path. Each process remembers, for about a second, the
 * products a script just found with nothing left, so a stampede on a sold-out
 * product is refused without a Redis round trip. The Lua scripts stay the
 * authority: a hint can only refuse a buyer for a moment (it never sells), it
 * expires by itself, and a restock or a released reservation seen by this
 * process clears it at once.
 */
const hintsOf = perClient(() => new Map<number, number>())

/** The first of `productIds` hinted sold out, if any. */
export function hintedSoldOut(owner: object, productIds: Iterable<number>): number | undefined {
  const map = hintsOf(owner)
  if (map.size === 0) return undefined
  const now = Date.now()
  for (const id of productIds) {
    const until = map.get(id)
    if (until === undefined) continue
    if (until > now) return id
    map.delete(id)
  }
  return undefined
}

export function hintSoldOut(owner: object, productId: number, forMs: number) {
  if (forMs > 0) hintsOf(owner).set(productId, Date.now() + forMs)
}

/** A script released these lines' units (cancel, reject, expiry): their hints end now. */
export function releasedLines(owner: object, lines: readonly { product_id: number }[]) {
  clearSoldOut(
    owner,
    lines.map((l) => l.product_id),
  )
}

export function clearSoldOut(owner: object, productIds: Iterable<number>) {
  const map = hintsOf(owner)
  for (const id of productIds) map.delete(id)
}
