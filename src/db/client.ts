import postgres from 'postgres'

export function createSql(url: string, options: postgres.Options<Record<string, never>> = {}) {
  return postgres(url, {
    max: 10,
    onnotice: () => {},
    connect_timeout: 5,
    ...options,
  })
}

export type Sql = ReturnType<typeof createSql>
