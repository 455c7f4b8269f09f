// After tsc: the files the service reads at run time, beside the code that reads them,
// so dist/ (and the image, which has no src/) holds everything the service needs.
import { cpSync } from 'node:fs'

for (const dir of ['db/migrations', 'dashboard/client']) {
  cpSync(`src/${dir}`, `dist/${dir}`, { recursive: true })
}
