import { SignJWT } from 'jose'

export const CUSTOMER_SECRET = 'test-customer-secret-0123456789abcdef'

/** A customer token as a shop's identity provider would issue it (HS256 by default). */
export async function customerToken(
  sub: string,
  options: { secret?: string; expiresIn?: string | number; claims?: Record<string, unknown> } = {},
) {
  const jwt = new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
  if (options.expiresIn !== undefined) jwt.setExpirationTime(options.expiresIn)
  else jwt.setExpirationTime('10m')
  return jwt.sign(new TextEncoder().encode(options.secret ?? CUSTOMER_SECRET))
}

export const bearer = (token: string) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
})
