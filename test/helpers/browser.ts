import { execSync } from 'node:child_process'
import { chromium } from 'playwright-core'

/** Debian's chromium (`.ci/run` installs it with apt), or a runner's Chrome; never a downloaded browser. */
function chromiumPath() {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execSync(`command -v ${name}`).toString().trim()
    } catch {}
  }
  throw new Error('chromium is not installed: apt-get install chromium (.ci/run does)')
}

/** Headless chromium, with nothing of its own reaching out to the network. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  })
}
