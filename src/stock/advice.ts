/**
 * How much to add, from daily sales over a window (the standard reorder-point form):
 *
 *   safety stock     = max daily sales × most_lead_time − avg daily sales × lead_time
 *   reorder point    = avg daily sales × lead_time + safety stock
 *   restock quantity = max(0, reorder point − available)
 *
 * Days without sales count as zero, so avg = units sold in the window / window days.
 * Units are whole: safety stock and reorder point round up.
 */
export interface RestockAdvice {
  avg_daily_sales: number
  max_daily_sales: number
  safety_stock: number
  reorder_point: number
  restock_quantity: number
}

export function restockAdvice(input: {
  dailySales: readonly number[]
  windowDays: number
  leadTime: number
  mostLeadTime: number
  available: number
}): RestockAdvice {
  const sold = input.dailySales.reduce((sum, units) => sum + units, 0)
  const avg = sold / input.windowDays
  const max = input.dailySales.reduce((m, units) => Math.max(m, units), 0)
  const safety = Math.max(0, Math.ceil(max * input.mostLeadTime - avg * input.leadTime - 1e-9))
  const reorderPoint = Math.ceil(avg * input.leadTime - 1e-9) + safety
  return {
    avg_daily_sales: Math.round(avg * 100) / 100,
    max_daily_sales: max,
    safety_stock: safety,
    reorder_point: reorderPoint,
    restock_quantity: Math.max(0, reorderPoint - input.available),
  }
}
