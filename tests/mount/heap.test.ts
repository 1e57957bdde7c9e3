// Start-up flags for the serving process a `mount --background` starts: Node gets small young
// generation semi-spaces unless the user chose a size; they go to the runtime, before the script.
// Bun gets JavaScriptCore's heap growth through BUN_JSC_ variables, checked against the real Bun.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks'
import { collectDeadBuffersEarly, jscOptionsRejected, SEMI_SPACE_MB, servingProcessEnv, servingProcessFlags } from '../../lib/mount/heap.ts'
import { selfCommand } from '../../lib/mount/background.ts'
import { droppedBytes, hasYoungCollector, RECLAIM_EVERY, setYoungCollector } from '../../lib/reclaim.ts'

function withEnv<T>(vars: Record<string, string | undefined>, run: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(vars)) v === undefined ? delete process.env[k] : (process.env[k] = v)
  try {
    return run()
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v)
  }
}

test('node: semi-spaces of SEMI_SPACE_MB; 0 or the user\'s own size keeps V8\'s', () => {
  withEnv({ SCORPIO_SEMI_SPACE_MB: undefined, NODE_OPTIONS: '--import tsx' }, () => {
    assert.equal(servingProcessFlags(), [`--max-semi-space-size=${SEMI_SPACE_MB}`])
  })
  withEnv({ SCORPIO_SEMI_SPACE_MB: '8' }, () => assert.equal(servingProcessFlags(), ['--max-semi-space-size=8']))
  withEnv({ SCORPIO_SEMI_SPACE_MB: '0' }, () => assert.equal(servingProcessFlags(), []))
  withEnv({ SCORPIO_SEMI_SPACE_MB: undefined, NODE_OPTIONS: '--max-semi-space-size=32' }, () => assert.equal(servingProcessFlags(), []))
})

test('the flags go to the runtime, before the script', () => {
  const { command, args } = selfCommand(['--max-semi-space-size=4'])
  assert.is(command, process.execPath)
  const at = args.indexOf('--max-semi-space-size=4')
  assert.ok(at >= 0 && at < args.indexOf(process.argv[1]), args.join(' '))
})

test('glibc gets a fixed mmap threshold and at most 2 arenas unless the environment sets them', () => {
  assert.is(servingProcessEnv({ PATH: '/bin' }).MALLOC_MMAP_THRESHOLD_, '131072')
  assert.is(servingProcessEnv({ PATH: '/bin' }).MALLOC_ARENA_MAX, '2')
  assert.is(servingProcessEnv({ PATH: '/bin' }).PATH, '/bin')
  assert.is(servingProcessEnv({ MALLOC_MMAP_THRESHOLD_: '65536' }).MALLOC_MMAP_THRESHOLD_, '65536')
  assert.is(servingProcessEnv({ MALLOC_MMAP_THRESHOLD_: '65536' }).MALLOC_ARENA_MAX, '2')
  assert.is(servingProcessEnv({ MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX, '8')
})

test('bun: JavaScriptCore heap growth of 1 + percent, unless 0, the environment, or jsc: false', () => {
  const env = servingProcessEnv({ PATH: '/bin' }, { bun: true })
  assert.is(env.BUN_JSC_heapGrowthMaxIncrease, '0.4')
  assert.is(env.BUN_JSC_smallHeapGrowthFactor, '1.4')
  assert.is(env.MALLOC_ARENA_MAX, '2')
  assert.is(servingProcessEnv({ SCORPIO_HEAP_GROWING_PERCENT: '25' }, { bun: true }).BUN_JSC_heapGrowthMaxIncrease, '0.25')
  assert.is(servingProcessEnv({ SCORPIO_HEAP_GROWING_PERCENT: '0' }, { bun: true }).BUN_JSC_heapGrowthMaxIncrease, undefined)
  assert.is(servingProcessEnv({ BUN_JSC_heapGrowthMaxIncrease: '1' }, { bun: true }).BUN_JSC_heapGrowthMaxIncrease, '1')
  assert.is(servingProcessEnv({ PATH: '/bin' }, { bun: true, jsc: false }).BUN_JSC_smallHeapGrowthFactor, undefined)
  assert.is(servingProcessEnv({ PATH: '/bin' }, { bun: false }).BUN_JSC_heapGrowthMaxIncrease, undefined)
})

const bun = join(process.cwd(), 'node_modules', '.bin', 'bun')
const runBun = (env: NodeJS.ProcessEnv) => spawnSync(bun, ['-e', 'console.log("started")'], { env, encoding: 'utf8' })

test('the Bun this project compiles with knows both options and starts with them', () => {
  const r = runBun(servingProcessEnv({ PATH: process.env.PATH }, { bun: true }))
  assert.is(r.status, 0, r.stderr)
  assert.is(r.stdout.trim(), 'started')
  assert.not.ok(jscOptionsRejected(r.stdout + r.stderr))
})

test('an option Bun does not know stops it, and its output is recognised (the mount retries without)', () => {
  const r = runBun({ PATH: process.env.PATH, BUN_JSC_scorpioNoSuchOption: '1' })
  assert.is.not(r.status, 0)
  assert.ok(jscOptionsRejected(r.stdout + r.stderr), r.stdout + r.stderr)
})

test('reclaim: the collector runs after every RECLAIM_EVERY bytes dropped, never without one', () => {
  let runs = 0
  setYoungCollector(() => runs++)
  droppedBytes(RECLAIM_EVERY - 1)
  assert.is(runs, 0)
  droppedBytes(1)
  assert.is(runs, 1)
  droppedBytes(3 * RECLAIM_EVERY)
  assert.is(runs, 2)
  setYoungCollector(null)
  droppedBytes(10 * RECLAIM_EVERY)
  assert.is(runs, 2)
})

/** Young-generation collections seen while `run` runs (V8's own, if any, included). */
async function minorCollections(run: () => void): Promise<number> {
  let n = 0
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) n++
  })
  obs.observe({ entryTypes: ['gc'] })
  try {
    run()
    await new Promise((r) => setTimeout(r, 50))
  } finally {
    obs.disconnect()
  }
  return n
}

// V8 may collect on its own at any moment, so only what the collector forces is asserted: with
// SCORPIO_RECLAIM=0 none is installed; otherwise dropped bytes force at least one minor collection.
test('node: collectDeadBuffersEarly makes dropped bytes collect the young generation; SCORPIO_RECLAIM=0 installs nothing', async () => {
  try {
    setYoungCollector(null)
    withEnv({ SCORPIO_RECLAIM: '0' }, () => collectDeadBuffersEarly())
    assert.not.ok(hasYoungCollector())
    withEnv({ SCORPIO_RECLAIM: undefined }, () => collectDeadBuffersEarly())
    assert.ok(hasYoungCollector())
    assert.ok((await minorCollections(() => droppedBytes(RECLAIM_EVERY))) >= 1)
  } finally {
    setYoungCollector(null)
  }
})

test.run()
