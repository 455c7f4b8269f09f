/**
 * State a process keeps beside one Redis client: caches, hints, counters.
 * Keyed by the client, so each test context, which has a client of its own,
 * has its own state too. `create` makes a client's state on first use.
 */
export function perClient<T>(create: () => T): (client: object) => T {
  const states = new WeakMap<object, T>()
  return (client) => {
    let state = states.get(client)
    if (state === undefined) {
      state = create()
      states.set(client, state)
    }
    return state
  }
}
