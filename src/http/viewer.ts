/** Who a storefront request acts for. */
export type Viewer = { kind: 'admin' } | { kind: 'customer'; id: string } | { kind: 'anonymous' }

export const ANONYMOUS: Viewer = { kind: 'anonymous' }
