import { afterEach } from 'vitest'
import { openContexts } from './helpers/context.js'
import { expectInvariants } from './helpers/stockCheck.js'

// After every test, on every store a test file still has open: every product in sync,
// no dead letter, and available + reserved + sold equal to the ledger total.
afterEach(async () => {
  for (const ctx of openContexts) await expectInvariants(ctx)
})
