import cluster, { type Worker } from 'node:cluster'
import { perClient } from '../perClient.js'
import { encodeLines, type LineRecord, parseLines } from './records.js'

/**
 * An order's lines and owner never change after creation, so each process
 * keeps those it has seen: a checkout, payment or cancel of such an order needs
 * no read before its script (one Redis round trip). Bounded by MAX_BYTES (an
 * estimate of the heap a head takes, measured on Node 20: about 58 bytes a
 * line) and MAX_ENTRIES; the oldest go first.
 *
 * Under `ROLE=all` the API processes share what they create (`shareHeads`):
 * each batch of new heads goes to the supervisor, which passes it to the other
 * API processes, so a checkout that lands on another process than its
 * create-order usually needs no read either. A head that has not arrived yet
 * only costs that read (`HMGET`); the script still checks every state.
 */
export interface OrderHead {
  lines: LineRecord[]
  customerId: string
}

const MAX_ENTRIES = 200_000
export const HEADS_MAX_BYTES = 64 * 1024 * 1024
const cacheOf = perClient(() => ({ heads: new Map<string, OrderHead>(), bytes: 0 }))

/** The heap a head takes, estimated: the entry and its strings, and each line object. */
const headBytes = (orderId: string, head: OrderHead) =>
  200 + 2 * (orderId.length + head.customerId.length) + 64 * head.lines.length

export function cachedHead(owner: object, orderId: string): OrderHead | undefined {
  return cacheOf(owner).heads.get(orderId)
}

/** The estimated bytes and the entries this process's cache holds. */
export function headsCacheSize(owner: object) {
  const cache = cacheOf(owner)
  return { bytes: cache.bytes, entries: cache.heads.size }
}

export function rememberHead(owner: object, orderId: string, head: OrderHead) {
  const cache = cacheOf(owner)
  const known = cache.heads.get(orderId)
  if (known) {
    cache.heads.delete(orderId)
    cache.bytes -= headBytes(orderId, known)
  }
  const bytes = headBytes(orderId, head)
  while (
    cache.heads.size > 0 &&
    (cache.heads.size >= MAX_ENTRIES || cache.bytes + bytes > HEADS_MAX_BYTES)
  ) {
    const [oldestId, oldest] = cache.heads.entries().next().value as [string, OrderHead]
    cache.heads.delete(oldestId)
    cache.bytes -= headBytes(oldestId, oldest)
  }
  cache.heads.set(orderId, head)
  cache.bytes += bytes
}

/** One head on the wire: order id, compact lines, customer id. */
type WireHead = [orderId: string, lines: string, customerId: string]
interface HeadsMessage {
  type: 'order-heads'
  heads: WireHead[]
}

const isHeadsMessage = (message: unknown): message is HeadsMessage =>
  (message as HeadsMessage | null)?.type === 'order-heads' &&
  Array.isArray((message as HeadsMessage).heads)

const outboxes = new WeakMap<object, WireHead[]>()

/** Remembers a head this process created and, in a cluster, sends it to the other API processes. */
export function rememberNewHead(owner: object, orderId: string, head: OrderHead) {
  rememberHead(owner, orderId, head)
  const outbox = outboxes.get(owner)
  if (!outbox) return
  // One message per turn of the event loop carries every head created in it.
  if (outbox.length === 0) setImmediate(() => flush(outbox))
  outbox.push([orderId, encodeLines(head.lines), head.customerId])
}

function flush(outbox: WireHead[]) {
  const heads = outbox.splice(0)
  if (heads.length === 0 || !process.connected) return
  // A batch lost with the channel (the supervisor is stopping) only costs those orders a read.
  process.send?.({ type: 'order-heads', heads } satisfies HeadsMessage, () => {})
}

/**
 * In an API process the supervisor started: sends the heads this process
 * creates, and keeps those the others send. Returns the stop.
 */
export function shareHeads(owner: object): () => void {
  if (!cluster.isWorker) return () => {}
  outboxes.set(owner, [])
  const receive = (message: unknown) => {
    if (!isHeadsMessage(message)) return
    for (const [orderId, lines, customerId] of message.heads) {
      rememberHead(owner, orderId, { lines: parseLines(lines), customerId })
    }
  }
  process.on('message', receive)
  return () => {
    outboxes.delete(owner)
    process.off('message', receive)
  }
}

/** In the supervisor: passes each batch of heads from one API process to the others. */
export function relayHeads(from: Worker, message: unknown, to: Iterable<Worker>) {
  if (!isHeadsMessage(message)) return
  for (const worker of to) {
    if (worker.id !== from.id && worker.isConnected()) worker.send(message)
  }
}
