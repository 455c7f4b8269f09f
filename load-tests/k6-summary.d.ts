// k6's own text summary, from its jslib (k6 fetches remote modules itself).
declare module 'https://jslib.k6.io/k6-summary/0.1.0/index.js' {
  export function textSummary(
    data: unknown,
    options?: { indent?: string; enableColors?: boolean },
  ): string
}
