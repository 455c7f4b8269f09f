/**
 * Write-behind drain rate on its own: the worker must drain faster than checkouts arrive.
 *
 *   npm run bench:drain                 (scratch database on the local PostgreSQL)
 *   DRAIN_ORDERS=50000 WORKER_BATCH_SIZE=1000 npm run bench:drain
 */
import { measureDrain } from './drain.js'

await measureDrain(Math.min(Number(process.env.DRAIN_ORDERS ?? 20_000), 500_000))
