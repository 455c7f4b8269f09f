/**
 * What a test file must undo (servers, proxies, contexts), undone newest first
 * after each test. Every step runs even if one before it fails, so a failing
 * close never leaves a server of the test's own running; the first failure is
 * thrown after all have run.
 */
export function cleanupList() {
  const steps: (() => Promise<unknown> | unknown)[] = []
  return {
    push: (step: () => Promise<unknown> | unknown) => steps.push(step),
    /** Drops the newest step (the test undid it itself). */
    pop: () => steps.pop(),
    async run() {
      let first: unknown
      for (const step of steps.splice(0).reverse()) {
        try {
          await step()
        } catch (err) {
          first ??= err
        }
      }
      if (first !== undefined) throw first
    },
  }
}
