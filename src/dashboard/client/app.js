// The live stock page: one Server-Sent Events stream of snapshots, drawn without a reload.
// EventSource reconnects by itself; the page says when its numbers are stale.
const $ = (id) => document.getElementById(id)
const fmt = new Intl.NumberFormat()
let last = null
let lastAt = 0
let lastSearchAt = 0

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v
    else if (k === 'style')
      node.style.cssText = v // CSSOM: allowed by the page's CSP
    else node.setAttribute(k, v)
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : String(child))
  return node
}
function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—'
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}
function spark(series) {
  const svgNs = 'http://www.w3.org/2000/svg'
  const svg = document.createElementNS(svgNs, 'svg')
  svg.setAttribute('class', 'spark')
  svg.setAttribute('viewBox', '0 0 100 40')
  svg.setAttribute('preserveAspectRatio', 'none')
  const max = Math.max(1, ...series.map((p) => p.per_s))
  const points = series.map(
    (p, i) => `${(i / Math.max(1, series.length - 1)) * 100},${38 - (p.per_s / max) * 36}`,
  )
  const line = document.createElementNS(svgNs, 'polyline')
  line.setAttribute('points', points.join(' '))
  line.setAttribute('fill', 'none')
  line.setAttribute('stroke', '#6c8cff')
  line.setAttribute('stroke-width', '1.5')
  svg.append(line)
  return svg
}
function windowText(p) {
  const now = Date.now()
  const starts = p.sale_starts_at ? Date.parse(p.sale_starts_at) : null
  const ends = p.sale_ends_at ? Date.parse(p.sale_ends_at) : null
  if (starts && now < starts) return `opens in ${duration((starts - now) / 1000)}`
  if (ends && now >= ends) return 'ended'
  if (ends) return `open, ends in ${duration((ends - now) / 1000)}`
  return starts ? 'open' : 'always open'
}
function tile(label, value, cls = '') {
  return el(
    'div',
    { class: 'tile' },
    el('div', { class: 'label' }, label),
    el('div', { class: `value ${cls}` }, value),
  )
}
const SECTIONS = [
  ['drift', 'Needs attention: Redis and Postgres disagree'],
  ['selling', 'Selling now'],
  ['on_sale', 'On sale (ending soonest first)'],
  ['sold_out', 'Sold out'],
  ['low', 'Low stock'],
]
function card(p) {
  const pct = (n) => (p.total > 0 ? `${(n / p.total) * 100}%` : '0')
  return el(
    'article',
    { class: 'card', 'data-product': p.product_id },
    el(
      'h2',
      {},
      el('span', {}, `${p.name} · #${p.product_id}`),
      el('span', { class: `badge ${p.status}` }, p.status.replace('_', ' ')),
    ),
    el(
      'div',
      {
        class: 'bar',
        role: 'img',
        'aria-label': `${p.available} available, ${p.reserved} reserved, ${p.sold} sold`,
      },
      el('div', { class: 'available', style: `width:${pct(p.available)}` }),
      el('div', { class: 'reserved', style: `width:${pct(p.reserved)}` }),
      el('div', { class: 'sold', style: `width:${pct(p.sold)}` }),
    ),
    el(
      'dl',
      {},
      el('dt', {}, 'Available'),
      el('dd', { 'data-field': 'available' }, fmt.format(p.available)),
      el('dt', {}, 'Reserved'),
      el('dd', { 'data-field': 'reserved' }, fmt.format(p.reserved)),
      el('dt', {}, 'Sold'),
      el('dd', { 'data-field': 'sold' }, fmt.format(p.sold)),
      el('dt', {}, 'Sell-through · per second'),
      el('dd', {}, `${p.sell_through_pct}% · ${fmt.format(p.sold_per_s)}`),
      el('dt', {}, 'Sells out in'),
      el('dd', {}, p.available === 0 ? 'sold out' : duration(p.projected_sellout_s)),
      el('dt', {}, 'Buyers refused'),
      el(
        'dd',
        {},
        `${p.refused.share_pct}% (${fmt.format(p.refused.out_of_stock)} sold out, ${fmt.format(p.refused.limit_exceeded)} limit, ${fmt.format(p.refused.sale_closed)} window)`,
      ),
      el('dt', {}, 'Sale window'),
      el('dd', { 'data-window': '' }, windowText(p)),
      el('dt', {}, 'Restock'),
      el(
        'dd',
        { class: p.low_stock ? 'warn' : '' },
        p.low_stock ? `low: add ${fmt.format(p.restock_quantity)}` : 'enough',
      ),
    ),
    p.sold_per_s_series.length > 1 ? spark(p.sold_per_s_series) : '',
    p.reason ? el('p', { class: 'reason' }, p.reason) : '',
  )
}
function render(s) {
  const wb = s.shop.write_behind
  const t = s.shop.totals
  $('shop').replaceChildren(
    tile('Checkouts per second', fmt.format(s.shop.checkouts_per_s)),
    tile(
      'Products: in sync · pending · drift',
      `${fmt.format(t.in_sync)} · ${fmt.format(t.pending)} · ${fmt.format(t.drift)}`,
      t.drift > 0 ? 'bad' : '',
    ),
    tile(
      'Units: available · reserved · sold',
      `${fmt.format(t.units.available)} · ${fmt.format(t.units.reserved)} · ${fmt.format(t.units.sold)}`,
    ),
    tile('Sell-through', `${t.sell_through_pct}%`),
    tile('Low stock', fmt.format(t.low_stock), t.low_stock > 0 ? 'warn' : ''),
    tile('Write-behind backlog', fmt.format(wb.backlog), wb.backlog > 10000 ? 'warn' : ''),
    tile('Write-behind lag', duration(wb.lag_ms / 1000), wb.lag_ms > 30000 ? 'warn' : ''),
    tile(
      'Dead letters',
      fmt.format(wb.dead_letters + wb.dead_letters_dropped),
      wb.dead_letters + wb.dead_letters_dropped > 0 ? 'bad' : '',
    ),
    tile(
      'Redis',
      s.shop.rebuilding ? 'rebuilding' : s.shop.instance.redis ? 'up' : 'down',
      s.shop.rebuilding || !s.shop.instance.redis ? 'bad' : '',
    ),
    tile(
      'Postgres',
      s.shop.instance.postgres ? 'up' : 'down',
      s.shop.instance.postgres ? '' : 'bad',
    ),
    tile(
      'Buyers rate-limited',
      fmt.format(s.shop.rate_limited),
      s.shop.rate_limited > 0 ? 'warn' : '',
    ),
    tile(
      'Instance',
      `pid ${s.shop.instance.pid} · ${fmt.format(s.shop.instance.rss_mb)} MB · up ${duration(s.shop.instance.uptime_s)}`,
    ),
  )
  // Each product once, under the first reason it matters now.
  $('products').replaceChildren(
    ...SECTIONS.flatMap(([why, title]) => {
      const shown = s.products.filter((p) => p.why[0] === why)
      if (shown.length === 0) return []
      return [el('h2', { class: 'section' }, title), el('div', { class: 'grid' }, shown.map(card))]
    }),
  )
  if (s.products.length === 0) {
    $('products').replaceChildren(
      el(
        'p',
        { class: 'muted' },
        'Nothing needs watching right now: search for any product above.',
      ),
    )
  }
}
let searched = null
async function search() {
  const q = $('search').value.trim()
  if (!q) {
    searched = null
    $('results').replaceChildren()
    return
  }
  const res = await fetch(`/dashboard/search?q=${encodeURIComponent(q)}`, { cache: 'no-store' })
  if (!res.ok) return
  const { products, limit } = await res.json()
  searched = products
  $('results').replaceChildren(
    el(
      'h2',
      { class: 'section' },
      products.length === limit ? `First ${limit} matches` : `${products.length} matches`,
    ),
    el('div', { class: 'grid' }, products.map(card)),
  )
}
let searchTimer = null
$('search').addEventListener('input', () => {
  clearTimeout(searchTimer)
  searchTimer = setTimeout(search, 250)
})
function tick() {
  const stale = last && Date.now() - lastAt > last.stale_after_ms
  $('stale').hidden = !stale
  if (stale) $('stale-since').textContent = new Date(lastAt).toLocaleTimeString()
  if (last)
    for (const node of document.querySelectorAll('[data-window]')) {
      const id = Number(node.closest('[data-product]')?.getAttribute('data-product'))
      const p = [...last.products, ...(searched ?? [])].find((x) => x.product_id === id)
      if (p) node.textContent = windowText(p)
    }
}
function connect() {
  const source = new EventSource('/dashboard/events')
  source.addEventListener('snapshot', (event) => {
    last = JSON.parse(event.data)
    lastAt = Date.now()
    $('connection').textContent = 'live'
    $('connection').className = 'pill live'
    render(last)
    tick()
    // Search results follow the sale too, at most once every few seconds.
    if (searched && Date.now() - lastSearchAt > 5000) {
      lastSearchAt = Date.now()
      void search()
    }
  })
  source.addEventListener('error', async () => {
    $('connection').textContent = 'reconnecting…'
    $('connection').className = 'pill down'
    // A session that ended shows the sign-in form again; otherwise EventSource retries.
    const res = await fetch('/dashboard/snapshot', { cache: 'no-store' }).catch(() => null)
    if (res && res.status === 401) location.reload()
  })
}
setInterval(tick, 1000)
connect()
