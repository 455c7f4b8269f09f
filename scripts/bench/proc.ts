/** What the benchmark reads of the machine's processes, from /proc. */
import { type ChildProcess, execSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const TICKS = Number(execSync('getconf CLK_TCK').toString())

/** CPU seconds used so far by every process on the machine, by pid. */
export function processCpu(): Map<number, { label: string; seconds: number }> {
  const byPid = new Map<number, { label: string; seconds: number }>()
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const name = /\((.*)\)/.exec(stat)?.[1] ?? '?'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
      byPid.set(Number(pid), { label: labelOf(pid, name, cmdline), seconds })
    } catch {}
  }
  return byPid
}

/** A process's name for the tables: the service's by role, redis-servers by port. */
function labelOf(pid: string, name: string, cmdline: string) {
  if (cmdline.includes('dist/main.js')) {
    // ROLE=all forks its API and jobs processes with ROLE in their environment.
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
    const role = environ.find((v) => v.startsWith('ROLE='))?.slice(5)
    return role && role !== 'all' ? `node ${role}` : 'node (service)'
  }
  const port = /redis-server \S+:(\d+)/.exec(cmdline)?.[1]
  if (name.startsWith('redis-server') && port) return `redis-server :${port}`
  if (name.startsWith('postgres')) return 'postgres'
  return name
}

/** CPU seconds each process used between two readings. */
export function cpuBetween(
  before: ReturnType<typeof processCpu>,
  after: ReturnType<typeof processCpu>,
) {
  return [...after].map(([pid, { label, seconds }]) => ({
    pid,
    label,
    seconds: seconds - (before.get(pid)?.seconds ?? 0),
  }))
}

/** Per process label, % of one core over `seconds`, for a table (2 % and up). */
export function cpuShare(used: ReturnType<typeof cpuBetween>, seconds: number, name = labelOfPid) {
  const byLabel = new Map<string, number>()
  for (const p of used) {
    const label = name(p.pid, p.label)
    byLabel.set(label, (byLabel.get(label) ?? 0) + p.seconds)
  }
  return [...byLabel]
    .map(([process, cpu]) => ({ process, cpu_pct: Math.round((cpu / seconds) * 100) }))
    .filter((p) => p.cpu_pct >= 2)
    .sort((a, b) => b.cpu_pct - a.cpu_pct)
}

function labelOfPid(pid: number, label: string) {
  return label.startsWith('node ') ? `${label} ${pid}` : label
}

/** Resident memory of a process and its children, MB. */
export function rssMb(root: ChildProcess): number {
  const pids = [String(root.pid)]
  try {
    pids.push(...execSync(`pgrep -P ${root.pid}`).toString().trim().split('\n').filter(Boolean))
  } catch {}
  let kb = 0
  for (const pid of pids) {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    kb += Number(m?.[1] ?? 0)
  }
  return Math.round(kb / 1024)
}

/** The pids of a process's children. */
export function childPids(root: ChildProcess): number[] {
  try {
    return execSync(`pgrep -P ${root.pid}`)
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}
