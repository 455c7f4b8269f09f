import { type RedisCluster, startRedisCluster } from '../../scripts/lib/topology/redisCluster.js'

let cluster: RedisCluster | undefined

/**
 * The cluster suite's Redis: a private cluster of 3 masters and 3 replicas,
 * started once for the run and torn down after it. Every store a test file
 * makes (test/helpers/context.ts) is spread over TEST_PARTITIONS=16 on it.
 * Files that kill nodes start clusters of their own.
 */
export async function setup() {
  cluster = await startRedisCluster({ masters: 3 })
  process.env.TEST_REDIS_CLUSTER_NODES = cluster.nodes
  process.env.TEST_PARTITIONS ??= '16'
}

export async function teardown() {
  await cluster?.stop()
}
