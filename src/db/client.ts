import postgres from 'postgres'

export function createSql(url: string, options: postgres.Options<Record<string, never>> = {}) {
  return postgres(url, {
    max: 10,
    onnotice: () => {},
    connect_timeout: 5,
    // bigint (int8) as a JS number: every id and counter stays below 2^53
    // (MAX_ID, MAX_TOTAL_STOCK), and sums of them too.
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (n: number) => String(n),
        parse: (s: string) => Number(s),
      },
    },
    ...options,
  })
}

export type Sql = ReturnType<typeof createSql>
