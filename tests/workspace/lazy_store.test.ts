// LazyStore reads what the object DB holds — loose files and packs — without opening the remote.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { LazyStore } from '../../lib/workspace/lazy_store.ts'
import { makeEnv } from './_env.ts'

test('trees and commits of a loaded commit come from the pack, and the remote is never opened', async () => {
  const env = await makeEnv()
  try {
    const dir = env.store.db.dir
    assert.ok(readdirSync(join(dir, 'packs')).some((n) => n.endsWith('.idx')), 'the tree fetch wrote a pack')
    let opened = 0
    const lazy = new LazyStore(dir, async () => {
      opened++
      throw new Error('the remote must not be needed')
    })
    try {
      const info = await lazy.loadCommit(env.head)
      assert.is(info.tree, (await env.store.readCommit(env.head)).tree)
      const stack = [info.tree]
      let trees = 0
      while (stack.length) {
        const oid = stack.pop()!
        const ours = await lazy.readTree(oid)
        assert.equal(ours, await env.store.readTree(oid))
        trees++
        for (const e of ours) if (e.mode === '40000') stack.push(e.oid)
      }
      assert.ok(trees > 5, `walked ${trees} trees`)
      assert.ok(await lazy.has(info.tree))
      assert.is(opened, 0)
    } finally {
      await lazy.close()
    }
  } finally {
    await env.close()
  }
})

test.run()
