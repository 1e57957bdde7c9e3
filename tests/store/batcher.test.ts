// The store's miss batching: misses arriving while every request slot is busy coalesce into one
// request; a read-ahead's ids never make a reader's read fail.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Batcher } from '../../lib/store/batcher.ts'

/** A fake fetch whose requests end when the test says so. */
function gated() {
  const calls: { oids: string[]; end: (err?: Error) => void }[] = []
  const fetch = (oids: string[]) =>
    new Promise<void>((resolve, reject) => calls.push({ oids, end: (err) => (err ? reject(err) : resolve()) }))
  return { calls, fetch }
}
const id = (n: number) => n.toString(16).padStart(40, '0')
const settled = (p: Promise<unknown>) => p.then(() => 'ok', (e: Error) => `failed: ${e.message}`)
const tick = () => new Promise((r) => setTimeout(r, 20))

test('64 misses while all slots are busy go out as one request', async () => {
  const { calls, fetch } = gated()
  const b = new Batcher(fetch, { parallel: 4 })
  // Readers may use two slots beyond `parallel`: six requests in flight.
  const first = Array.from({ length: 6 }, (_, i) => b.requestMany([id(i)]))
  assert.is(calls.length, 6)
  const many = Array.from({ length: 64 }, (_, i) => b.request(id(100 + i)))
  await tick()
  assert.is(calls.length, 6, 'nothing sent while no slot is free')
  calls[0].end()
  await tick()
  assert.is(calls.length, 7)
  assert.equal(calls[6].oids, Array.from({ length: 64 }, (_, i) => id(100 + i)))
  for (const c of calls.slice(1)) c.end()
  await Promise.all([...first, ...many])
})

test('read-ahead ids use `parallel` slots only; readers pass them', async () => {
  const { calls, fetch } = gated()
  const b = new Batcher(fetch, { parallel: 2 })
  const ahead = [b.requestMany([id(1)], { speculative: true }), b.requestMany([id(2)], { speculative: true }), b.requestMany([id(3)], { speculative: true })]
  assert.is(calls.length, 2)
  const reader = b.requestMany([id(4)])
  assert.is(calls.length, 3)
  assert.equal(calls[2].oids, [id(4)])
  for (const c of calls.slice()) c.end()
  await tick()
  assert.is(calls.length, 4)
  assert.equal(calls[3].oids, [id(3)])
  calls[3].end()
  await Promise.all([...ahead, reader])
})

test('a failed request with read-ahead ids in it: the reader is asked for again without them', async () => {
  const { calls, fetch } = gated()
  const b = new Batcher(fetch)
  const ahead = b.requestMany([id(1), id(2)], { speculative: true })
  const reader = b.request(id(3))
  // The reader joins the read-ahead already in flight for its id.
  const joined = b.request(id(2))
  await tick()
  assert.is(calls.length, 2)
  calls[0].end(new Error('server broke'))
  assert.is(await settled(ahead), 'failed: server broke')
  await tick()
  assert.is(calls.length, 3)
  assert.equal(calls[2].oids, [id(2)])
  calls[1].end()
  calls[2].end()
  assert.is(await settled(reader), 'ok')
  assert.is(await settled(joined), 'ok')
})

test('mixed batch fails: readers retried once alone, read-ahead ids dropped; a second failure reaches the reader', async () => {
  const { calls, fetch } = gated()
  const b = new Batcher(fetch)
  const reader = b.request(id(1))
  const ahead = b.request(id(2), { speculative: true })
  await tick()
  assert.is(calls.length, 1)
  assert.equal(calls[0].oids, [id(1), id(2)])
  calls[0].end(new Error('refused'))
  assert.is(await settled(ahead), 'failed: refused')
  await tick()
  assert.equal(calls[1].oids, [id(1)])
  calls[1].end(new Error('still down'))
  assert.is(await settled(reader), 'failed: still down')
})

test.run()
