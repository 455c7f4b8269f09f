import type { TestContext } from './context.js'
import { adminHeaders, jsonHeaders } from './context.js'

type Json = Record<string, unknown>

/** Small helpers over `app.request()`, so tests read like the API calls they make. */
export function api(ctx: Pick<TestContext, 'app'>) {
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = jsonHeaders,
  ) => {
    const res = await ctx.app.request(path, {
      method,
      headers,
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
    const text = await res.text()
    const json = text ? (JSON.parse(text) as Json) : {}
    return {
      status: res.status,
      // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely
      body: json as any,
      headers: res.headers,
    }
  }
  return {
    call,
    addProduct: (body: Json) => call('POST', '/api/v1/products', body, adminHeaders),
    restock: (id: number, quantity: unknown) =>
      call('POST', `/api/v1/products/${id}/restock`, { quantity }, adminHeaders),
    listProducts: (query = '') => call('GET', `/api/v1/products${query}`),
    createOrder: (body: Json, headers?: Record<string, string>) =>
      call('POST', '/api/v1/create-order', body, { ...jsonHeaders, ...headers }),
    getOrder: (id: string) => call('GET', `/api/v1/order/${id}`),
    checkout: (orderId: string, headers?: Record<string, string>) =>
      call('POST', '/api/v1/checkout-order', { order_id: orderId }, { ...jsonHeaders, ...headers }),
    pay: (orderId: string, headers?: Record<string, string>) =>
      call('POST', '/api/v1/payment-order', { order_id: orderId }, { ...jsonHeaders, ...headers }),
    cancel: (orderId: string, headers?: Record<string, string>) =>
      call('POST', '/api/v1/cancel-order', { order_id: orderId }, { ...jsonHeaders, ...headers }),
    confirm: (paymentId: string, headers: Record<string, string> = adminHeaders) =>
      call('PUT', `/api/v1/confirm-payment-order/${paymentId}`, undefined, headers),
    reject: (paymentId: string, headers: Record<string, string> = adminHeaders) =>
      call('PUT', `/api/v1/reject-payment-order/${paymentId}`, undefined, headers),
    getPayment: (paymentId: string) => call('GET', `/api/v1/payment-order/${paymentId}`),
  }
}

export type Api = ReturnType<typeof api>

/** The same helpers against a real listening server, through fetch. */
export function httpApi(baseUrl: string, headers: Record<string, string> = {}) {
  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${baseUrl}${path}`, {
      ...init,
      headers: { ...headers, ...(init.headers as Record<string, string>) },
    })
  return api({ app: { request } as unknown as TestContext['app'] })
}
