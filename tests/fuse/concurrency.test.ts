// Many requests in flight at once, no head-of-line blocking, and a crashing handler does not take
// the mount down. Run on Node, Deno and Bun (npm run test:deno / test:bun).
import { test } from 'uvu'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import * as assert from 'uvu/assert'
import { FuseError } from '../../lib/fuse/errors.ts'
import type * as R from '../../lib/fuse/raw_fs.ts'
import { MemFs } from '../helpers/mem_fs.ts'
import { sh, withMount } from '../helpers/mounts.ts'

const PARALLEL = 16

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => { resolve = r })
  return { promise, resolve }
}

/** MemFs whose reads of files named slow* wait at a barrier until PARALLEL of them are in flight. */
class BarrierFs extends MemFs {
  waiting = 0
  maxInFlight = 0
  readonly barrier = deferred()

  override async read(ctx: R.RequestContext, i: R.ReadIn): Promise<Uint8Array> {
    const name = this.nameOf(i.ino)
    if (name?.startsWith('slow')) {
      this.waiting++
      this.maxInFlight = Math.max(this.maxInFlight, this.waiting)
      if (process.env.DEBUG_BARRIER) console.error('read', name, this.waiting)
      if (this.waiting >= PARALLEL) this.barrier.resolve()
      // a timer-based wait per request on top of the barrier, like a network round trip
      await Promise.race([this.barrier.promise, new Promise((r) => setTimeout(r, 15_000))])
      await new Promise((r) => setTimeout(r, 20))
      this.waiting--
    }
    return super.read(ctx, i)
  }

  private nameOf(ino: number): string | undefined {
    for (const [name, child] of this.node(1).children!) if (child === ino) return name
    return undefined
  }
}

test(`${PARALLEL} reads wait in their handlers at the same time; a fast read passes them`, async () => {
  const fs = new BarrierFs({ timeout: 60 })
  await withMount(fs, async (mnt) => {
    await sh(`for i in $(seq 1 ${PARALLEL}); do printf "content $i" > slow$i; done; printf fast > fast`, { cwd: mnt })
    await sh('echo 3 > /proc/sys/vm/drop_caches')
    const slow = sh(`for i in $(seq 1 ${PARALLEL}); do cat slow$i > /dev/null & done; wait; echo done`, { cwd: mnt })
    // While reads are parked in their handlers, other requests still get answers.
    const fast = await sh('cat fast', { cwd: mnt })
    assert.is(fast, 'fast')
    assert.is(await slow, 'done\n')
    assert.is(fs.maxInFlight, PARALLEL, `all ${PARALLEL} slow reads were in their handlers together`)
    assert.is(await sh('cat slow7', { cwd: mnt }), 'content 7')
  })
})

test('a handler that throws answers EIO, logs one line, and the mount keeps serving', async () => {
  const lines: string[] = []
  class Flaky extends MemFs {
    override async getattr(ctx: R.RequestContext, i: R.GetattrIn): Promise<R.AttrOut> {
      if (this.node(i.ino).xattrs.has('user.explode')) throw new TypeError('handler bug')
      return super.getattr(ctx, i)
    }
    override async lookup(ctx: R.RequestContext, i: R.LookupIn): Promise<R.EntryOut> {
      if (i.name === 'denied') throw new FuseError('EACCES')
      if (i.name === 'sync-throw') (null as unknown as { x: number }).x = 1
      const e = await super.lookup(ctx, i)
      // Not stable: GETATTR may answer differently from the entry's attributes (it explodes).
      return { ...e, attrValid: 0, stable: false }
    }
  }
  const fs = new Flaky({ timeout: 0 })
  await withMount(fs, async (mnt) => {
    await sh('echo hi > bad && setfattr -n user.explode -v 1 bad && echo ok > good', { cwd: mnt })
    const err = await sh('stat bad', { cwd: mnt }).then(() => '', (e: Error) => e.message)
    assert.match(err, /Input\/output error/)
    const denied = await sh('stat denied', { cwd: mnt }).then(() => '', (e: Error) => e.message)
    assert.match(denied, /Permission denied/)
    const sync = await sh('stat sync-throw', { cwd: mnt }).then(() => '', (e: Error) => e.message)
    assert.match(sync, /Input\/output error/)
    for (let k = 0; k < 3; k++) assert.is(await sh('cat good', { cwd: mnt }), 'ok\n')
  }, { log: (l) => lines.push(l) })
  assert.ok(lines.some((l) => /GETATTR.*EIO.*handler bug/.test(l)), lines.join('\n'))
  assert.ok(lines.some((l) => /LOOKUP.*EIO/.test(l)), lines.join('\n'))
  assert.not.ok(lines.some((l) => /EACCES/.test(l)), 'expected errors are not logged')
})

test('plain READDIR (no readdirplus) lists a directory that needs several reply buffers', async () => {
  const fs = new MemFs()
  ;(fs as { readdirplus?: unknown }).readdirplus = undefined
  await withMount(fs, async (mnt) => {
    await sh('mkdir d && cd d && for i in $(seq 1 400); do : > "file-with-a-longish-name-$i"; done', { cwd: mnt })
    assert.is((await sh('ls d | wc -l', { cwd: mnt })).trim(), '400')
    assert.is((await sh('ls d | sort -t- -k6 -n | tail -1', { cwd: mnt })).trim(), 'file-with-a-longish-name-400')
  })
  assert.ok((fs.calls.get('readdir') ?? 0) >= 2, `readdir called ${fs.calls.get('readdir')} times`)
  assert.is(fs.calls.get('readdirplus'), undefined)
})

test('notifyInvalInode and notifyInvalEntry make the kernel re-ask', async () => {
  const fs = new MemFs({ timeout: 3600, keepCache: true })
  await withMount(fs, async (mnt, mount) => {
    await sh('echo one > f', { cwd: mnt })
    assert.is(await sh('cat f', { cwd: mnt }), 'one\n')
    const ino = fs.node(1).children!.get('f')!
    // change behind the kernel's back: same size so only the page cache hides it
    fs.node(ino).data.set(new TextEncoder().encode('two\n'))
    assert.is(await sh('cat f', { cwd: mnt }), 'one\n', 'page cache still holds the old bytes')
    await mount.notifyInvalInode(ino, 0, 0)
    assert.is(await sh('cat f', { cwd: mnt }), 'two\n')
    // rename behind its back: the cached dentry survives until invalidated
    const root = fs.node(1).children!
    root.set('g', ino)
    root.delete('f')
    assert.is(await sh('cat f', { cwd: mnt }), 'two\n', 'dentry cached for an hour')
    await mount.notifyInvalEntry(1, 'f')
    const gone = await sh('cat f', { cwd: mnt }).then(() => '', (e: Error) => e.message)
    assert.match(gone, /No such file/)
    await mount.notifyDelete(1, ino, 'g') // not cached as 'g': harmless
    assert.is(await sh('cat g', { cwd: mnt }), 'two\n')
  })
})

test('a notification sent while a request in the same directory waits for an answer does not deadlock', async () => {
  // The kernel holds the parent's lock (shared) during this LOOKUP and takes it (exclusive) for
  // the entry invalidation: written from the thread that must answer the LOOKUP, both would wait forever.
  let mount: { notifyInvalEntry(parent: number, name: string): Promise<void> } | undefined
  let sent: Promise<void> | undefined
  class NotifyingFs extends MemFs {
    override async lookup(ctx: R.RequestContext, i: R.LookupIn): Promise<R.EntryOut> {
      if (i.name === 'trigger') sent = mount!.notifyInvalEntry(1, 'other')
      return super.lookup(ctx, i)
    }
  }
  const fs = new NotifyingFs({ timeout: 3600 })
  await withMount(fs, async (mnt, m) => {
    mount = m
    await sh('echo x > other && cat other > /dev/null', { cwd: mnt })
    // Should it deadlock, this process cannot act any more: a separate watchdog aborts the
    // connection after 20 s, which frees both sides, and the stat then fails.
    const minor = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mnt)!.split(' ')[2].split(':')[1]
    const watchdog = spawn('bash', ['-c', `sleep 20; echo 1 > /sys/fs/fuse/connections/${minor}/abort`], { stdio: 'ignore', detached: true })
    try {
      const out = await sh('stat -c %n trigger 2>&1; echo rc=$?', { cwd: mnt })
      assert.match(out, /No such file[\s\S]*rc=1/, `stat answered (${out.trim()})`)
      assert.ok(sent, 'the notification was sent during the LOOKUP')
      await sent
    } finally {
      try { process.kill(-watchdog.pid!, 'SIGKILL') } catch {} // already fired
    }
  })
})

test.run()
