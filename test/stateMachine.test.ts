import { describe, expect, it } from 'vitest'
import {
  FINAL_STATUSES,
  HOLD_TRANSITIONS,
  ORDER_STATUSES,
  PAYMENT_STATUSES,
  TRANSITIONS,
} from '../src/orders/stateMachine.js'
import { readScript, SCRIPT_NAMES, type ScriptName } from '../src/redis/scripts.js'
import { EVENT_TYPES, type EventType } from '../src/worker/events.js'

/**
 * The Lua scripts are the state machine; src/orders/stateMachine.ts declares
 * it. This reads every script (with its includes) and holds it to the table:
 * the statuses it sets, the events it appends (written literally, so this can
 * read them), and the states it checks before it moves.
 */
const literals = (source: string, pattern: RegExp) =>
  new Set([...source.matchAll(pattern)].flatMap((m) => m.slice(1).filter(Boolean) as string[]))

function readLua(script: ScriptName) {
  const source = readScript(script)
    .replace(/--\[\[[\s\S]*?\]\]/g, '')
    .replace(/--.*$/gm, '')
  return {
    /** Statuses an HSET writes, or a shared helper is told to write. */
    sets: literals(
      source,
      /'HSET',[^)]*?'status', '(\w+)'|order\.status = '(\w+)'|finishHold\(hold, h, paired, '\w+', '(\w+)'|endReservation\([^)]*?, '(\w+)', '\w+', now\)|settle\(k, [^,]+, '(\w+)', '(\w+)'/g,
    ),
    /** Event types appended, directly or through a helper. */
    events: literals(
      source,
      /appendEvent\([^,]+, '(\w+)'|finishHold\(hold, h, paired, '\w+', '\w+', '(\w+)'|endReservation\([^)]*?, '\w+', '(\w+)', now\)|settle\(k, [^,]+, '\w+', '\w+', '(\w+)'/g,
    ),
    /** Statuses the script compares against before it moves. */
    guards: literals(source, /status [~=]= '(\w+)'/g),
  }
}

const scriptsOf = (rows: readonly { script: ScriptName }[]) => [
  ...new Set(rows.map((t) => t.script)),
]

describe('the order state machine', () => {
  it.each(scriptsOf(TRANSITIONS))('%s sets, appends and checks what the table says', (script) => {
    const rows = TRANSITIONS.filter((t) => t.script === script)
    const lua = readLua(script)
    const statuses = new Set(rows.flatMap((t) => [t.to, ...(t.payment ? [t.payment.to] : [])]))
    expect(lua.sets).toEqual(statuses)
    expect(lua.events).toEqual(new Set(rows.map((t) => t.event)))
    for (const t of rows) {
      if (t.from !== null) expect(lua.guards, `${script} checks for ${t.from}`).toContain(t.from)
      if (t.payment?.from) expect(lua.guards).toContain(t.payment.from)
    }
  })

  it.each(scriptsOf(HOLD_TRANSITIONS))('%s makes the hold transitions the table says', (script) => {
    const rows = HOLD_TRANSITIONS.filter((t) => t.script === script)
    const lua = readLua(script)
    expect(lua.sets).toEqual(new Set(rows.map((t) => t.to)))
    expect(lua.events).toEqual(new Set(rows.map((t) => t.event)))
  })

  it('no other script sets an order, payment or hold status', () => {
    const declared = [...scriptsOf(TRANSITIONS), ...scriptsOf(HOLD_TRANSITIONS)]
    const others = SCRIPT_NAMES.filter((s) => !declared.includes(s))
    for (const script of others) expect(readLua(script).sets, script).toEqual(new Set())
  })

  it('uses only declared statuses, reaches every one, and ends where nothing leaves', () => {
    for (const t of TRANSITIONS) {
      expect(ORDER_STATUSES).toContain(t.to)
      if (t.from) expect(ORDER_STATUSES).toContain(t.from)
      if (t.payment) expect(PAYMENT_STATUSES).toContain(t.payment.to)
    }
    expect(new Set(TRANSITIONS.map((t) => t.to))).toEqual(new Set(ORDER_STATUSES))
    expect(FINAL_STATUSES).toEqual(
      new Set(['payment_confirmed', 'payment_rejected', 'expired', 'cancelled']),
    )
  })

  it('names, for every event type, exactly the scripts that append it', () => {
    const producers = new Map<EventType, Set<string>>()
    for (const script of SCRIPT_NAMES) {
      for (const event of readLua(script).events) {
        expect(Object.keys(EVENT_TYPES), `${script} appends ${event}`).toContain(event)
        const set = producers.get(event as EventType) ?? new Set()
        producers.set(event as EventType, set.add(script))
      }
    }
    for (const [type, description] of Object.entries(EVENT_TYPES)) {
      const named = new Set(
        description
          .split('→')[0]
          ?.split(',')
          .map((s) => s.trim()),
      )
      expect(producers.get(type as EventType), type).toEqual(named)
    }
  })
})
