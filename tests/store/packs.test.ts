// A git pack streamed into the store's PackWriter: deltas resolved by reading their bases back
// from the temp file (a tiny staging buffer forces that), every object readable after commit and
// equal to git cat-file; an aborted writer leaves nothing behind.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { streamPack } from '../../lib/git/pack_reader.ts'
import { DiskObjectDb } from '../../lib/store/disk.ts'
import { git, makeBareRepo, sampleFiles } from '../helpers/repos.ts'

async function* chunks(b: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size)
}

test('streamed pack with deltas into a PackWriter, read back after commit', async () => {
  const files = sampleFiles(40)
  const big = 'a line of text that repeats in every variant\n'.repeat(3000)
  for (let i = 0; i < 8; i++) files.push({ path: `big/v${i}.txt`, content: big + `variant ${i}\n`.repeat(i + 1) })
  const repo = await makeBareRepo({ files })
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-packs-'))
  try {
    const ids = [...new Set(git(repo.path, ['rev-list', '--objects', 'main']).split('\n').filter(Boolean).map((l) => l.slice(0, 40)))]
    const pack = execFileSync('git', ['--git-dir', repo.path, 'pack-objects', '--stdout', '-q', '--delta-base-offset'], { input: ids.join('\n') + '\n' })
    const db = new DiskObjectDb(dir)
    await db.init()
    const w = await db.packs.begin({ stageBytes: 4096 })
    const n = await streamPack(chunks(pack, 1000), w)
    assert.is(n, ids.length)
    assert.equal(readdirSync(join(dir, 'packs')).filter((f) => !f.startsWith('.')), [], 'nothing visible before commit')
    await w.commit()
    assert.is(readdirSync(join(dir, 'packs')).filter((f) => f.startsWith('.')).length, 0, 'no temp file left')
    const expected = new Map<string, { type: string; body: Buffer }>()
    for (const oid of ids) {
      const o = await db.read(oid)
      assert.ok(o, `object ${oid} readable`)
      const type = git(repo.path, ['cat-file', '-t', oid]).trim()
      assert.is(o!.type, type)
      const body = execFileSync('git', ['--git-dir', repo.path, 'cat-file', type, oid])
      assert.ok(Buffer.from(o!.body).equals(body), `body of ${oid}`)
      expected.set(oid, { type, body })
    }
    // Read often enough for the pack to be kept in memory: the same objects, each a copy of its own
    // (changing one changes nothing read later), first read from memory checked, later ones too.
    for (let i = 0; i < 400; i++) await db.read(ids[i % ids.length])
    await new Promise((r) => setTimeout(r, 50))
    const hot = db.packs.locate(ids[0])!
    assert.ok(hot.pack.hotView(hot.offset, hot.length), 'the pack is in memory now')
    // Abbreviated ids: every prefix of 2 to 6 digits of some ids (and a few absent ones) finds
    // exactly the stored ids that start with it, packed and loose alike.
    const loose = 'ab' + '0'.repeat(36) + '17'
    mkdirSync(join(dir, 'ab'), { recursive: true })
    writeFileSync(join(dir, 'ab', loose.slice(2)), 'not read by withPrefix')
    const all = [...ids, loose]
    for (const prefix of [...ids.slice(0, 20).flatMap((id) => [2, 3, 4, 6].map((k) => id.slice(0, k))), 'ab', 'ab00', '00', 'ff', 'fffff']) {
      assert.equal(await db.withPrefix(prefix), all.filter((id) => id.startsWith(prefix)).sort(), `prefix ${prefix}`)
    }
    for (let round = 0; round < 2; round++) {
      for (const oid of ids) {
        const o = (await db.read(oid))!
        assert.is(o.type, expected.get(oid)!.type)
        assert.ok(Buffer.from(o.body).equals(expected.get(oid)!.body), `body of ${oid} read again`)
        if (o.body.length) o.body[0] ^= 0xff
      }
    }
    await db.close()
  } finally {
    repo.cleanup()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the index is sorted and free of duplicates; the completeness lookup finds every id and no other', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-packs-'))
  try {
    const db = new DiskObjectDb(dir)
    await db.init()
    const w = await db.packs.begin({ stageBytes: 4096 })
    // Random ids, 100 of them sharing their first 16 bits (one big bucket of the sort), 30 sent twice.
    const ids: Buffer[] = []
    for (let i = 0; i < 3000; i++) {
      const id = randomBytes(20)
      if (i < 100) (id[0] = 0xab), (id[1] = 0xcd)
      if (i >= 100 && i < 140) (id[0] = 0x12), (id[1] = 0x34)
      if (i >= 140 && i < 160) (id[0] = 0x56), (id[1] = 0x78)
      ids.push(id)
    }
    // Duplicates in a long run (sorted n log n) and in a short one (placed one by one).
    const sent = [...ids, ...ids.slice(50, 80), ...ids.slice(140, 150).reverse()]
    for (const id of sent) {
      const hex = id.toString('hex')
      const rec = Buffer.from(`blob ${hex.length}\0${hex}`)
      await w.addRecord(hex, id, 3, rec, 0, rec.length - hex.length, rec.length)
    }
    let lookedUp = 0
    await w.commit((has) => {
      for (const id of ids) assert.ok(has(id, 0), `has ${id.toString('hex')}`)
      const other = Buffer.from(ids[7])
      other[19] ^= 1
      assert.is(has(other, 0), false)
      lookedUp++
    })
    assert.is(lookedUp, 1)
    const idxName = readdirSync(join(dir, 'packs')).find((f) => f.endsWith('.idx'))!
    const idx = readFileSync(join(dir, 'packs', idxName))
    const listed = Array.from({ length: (idx.length - 8) / 32 }, (_, i) => idx.toString('hex', 8 + i * 32, 8 + i * 32 + 20))
    assert.equal(listed, ids.map((b) => b.toString('hex')).sort())
    // (The ids are not the records' hashes, so look them up in the index, not through db.read.)
    for (const id of ids) {
      const loc = db.packs.locate(id.toString('hex'))!
      assert.ok(loc, `located ${id.toString('hex')}`)
      const rec = await loc.pack.read(loc.offset, loc.length)
      assert.is(rec.toString(), `blob 40\0${id.toString('hex')}`)
      assert.is(listed[loc.index], id.toString('hex'))
    }
    // Absent ids: next to present ones (last byte, first byte), in the crowded run, and outside.
    for (const id of [ids[7], ids[0], ids[120], ids[2999]]) {
      for (const at of [19, 0, 2]) {
        const other = Buffer.from(id)
        other[at] ^= 1
        if (listed.includes(other.toString('hex'))) continue
        assert.is(db.packs.locate(other.toString('hex')), null, `absent ${other.toString('hex')}`)
      }
    }
    assert.is(db.packs.locate('00'.repeat(20)), null)
    assert.is(db.packs.locate('ff'.repeat(20)), null)
    assert.is(db.packs.locate('not an id'), null)
    assert.ok(db.packs.locate(ids[5].toString('hex').toUpperCase()), 'upper-case hex is the same id')
    await db.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('an aborted PackWriter leaves no file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-packs-'))
  try {
    const db = new DiskObjectDb(dir)
    await db.init()
    const w = await db.packs.begin()
    await w.add('ce013625030ba8dba906f756967f9e9ca394464a', 'blob', new TextEncoder().encode('hello\n'))
    await w.abort()
    assert.equal(readdirSync(join(dir, 'packs')), [])
    assert.is(await db.read('ce013625030ba8dba906f756967f9e9ca394464a'), null)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('temp files of a dead writer are removed on open, those of a live one kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-packs-'))
  try {
    mkdirSync(join(dir, 'packs'), { recursive: true })
    mkdirSync(join(dir, 'tmp'), { recursive: true })
    // A pid far above pid_max (4194304) is never alive.
    const dead = 99999999
    const old = new Date(Date.now() - 3600_000)
    const files = {
      deadIncoming: join(dir, 'packs', `.incoming.${dead}.0a1b2c3d`),
      deadIdx: join(dir, 'packs', `.${'a'.repeat(40)}.idx.${dead}.0a1b2c3d`),
      deadLoose: join(dir, 'tmp', `${'b'.repeat(40)}.${dead}.0a1b2c3d`),
      liveIncoming: join(dir, 'packs', `.incoming.${process.ppid}.0a1b2c3d`),
      recentDead: join(dir, 'packs', `.incoming.${dead}.ffffffff`),
    }
    for (const [k, f] of Object.entries(files)) {
      writeFileSync(f, 'partial')
      if (k !== 'recentDead') utimesSync(f, old, old)
    }
    const db = new DiskObjectDb(dir)
    await db.init()
    assert.is(existsSync(files.deadIncoming), false)
    assert.is(existsSync(files.deadIdx), false)
    assert.is(existsSync(files.deadLoose), false)
    assert.is(existsSync(files.liveIncoming), true, 'a live process keeps its temp file')
    assert.is(existsSync(files.recentDead), true, 'a recent file is kept (maybe another pid namespace)')
    await db.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})


// Bun ends the process when a FileHandle is collected unclosed (seen: one of eight mounts died). Two
// rescans at once each opened a new pack and the second replaced the first, unclosed.
/** A blob of `text`, with its id. */
function blob(text: string): { oid: string; type: 'blob'; body: Buffer } {
  const body = Buffer.from(text)
  return { oid: createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex'), type: 'blob', body }
}

/** Two object databases over one new directory, as two processes of one cache; removed after `body`. */
async function withWriterAndReader(body: (writer: DiskObjectDb, reader: DiskObjectDb) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-packs-'))
  try {
    const writer = new DiskObjectDb(dir)
    await writer.init()
    const reader = new DiskObjectDb(dir)
    await reader.init()
    await body(writer, reader)
    await reader.close()
    await writer.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('rescans at once keep one PackFile per pack; a scan under way does not hide a newer pack', async () => {
  await withWriterAndReader(async (writer, reader) => {
    const objs = Array.from({ length: 20 }, (_, i) => blob(`pack ${i}\n`))
    for (const o of objs) await writer.packs.write([o])
    const seen = new Map<string, Set<unknown>>()
    const look = () => {
      for (const p of reader.packs.all()) {
        if (!seen.has(p.name)) seen.set(p.name, new Set())
        seen.get(p.name)!.add(p)
      }
    }
    const late = blob('pack 99\n')
    const scans = Array.from({ length: 6 }, () =>
      reader.packs.refresh().then((changed) => {
        look()
        return changed
      }),
    )
    // Written while the first scan is under way: a refresh asked for now must find it.
    const afterWrite = writer.packs.write([late]).then(() => reader.packs.refresh())
    const results = await Promise.all(scans)
    await afterWrite
    look()
    assert.ok(results[0], 'the first refresh saw the new packs')
    assert.ok(reader.packs.locate(late.oid), 'the pack written during a scan is found')
    for (const o of objs) assert.ok(reader.packs.locate(o.oid), `pack of ${o.oid} found`)
    assert.is(seen.size, 21)
    for (const [name, set] of seen) assert.is(set.size, 1, `one PackFile for ${name}`)
  })
})

test('a pack named by the cache\'s broker is taken in without listing the directory; a list asked "within" is not re-read', async () => {
  await withWriterAndReader(async (writer, reader) => {
    const [a, b] = [blob('adopted 1\n'), blob('adopted 2\n')]
    await writer.packs.write([a])
    await reader.packs.refresh()
    assert.ok(reader.packs.locate(a.oid))
    await writer.packs.write([b])
    // The list is recent enough for a caller that only saves a request by knowing.
    assert.is(await reader.packs.refresh({ within: 1e9 }), false)
    assert.is(reader.packs.locate(b.oid), null)
    assert.equal(await reader.hasMany([b.oid], { within: 1e9 }), [false])
    // Named, it is found with no listing; names that are no pack here are skipped.
    await reader.packs.adopt(['../../etc/passwd', '0'.repeat(40), writer.packs.locate(b.oid)!.pack.name])
    assert.ok(reader.packs.locate(b.oid))
    assert.equal(await reader.hasMany([a.oid, b.oid], { within: 1e9 }), [true, true])
    assert.is(reader.packs.all().length, 2)
    // A full refresh afterwards keeps one PackFile for the adopted pack.
    await reader.packs.refresh()
    assert.is(reader.packs.all().length, 2)
    assert.equal([...(await reader.read(b.oid))!.body], [...b.body])
  })
})

test('every object is found among a big pack and many small ones, and none that is not there; also after a pack goes', async () => {
  await withWriterAndReader(async (writer, reader) => {
    // One pack of more records than are looked up by their first bytes, and forty of a few each.
    const big = Array.from({ length: 5000 }, (_, i) => blob(`big ${i}\n`))
    await writer.packs.write(big)
    const small = Array.from({ length: 40 }, (_, k) => Array.from({ length: 8 }, (_, i) => blob(`small ${k} ${i}\n`)))
    for (const objs of small) await writer.packs.write(objs)
    await reader.packs.refresh()
    const all = [...big, ...small.flat()]
    for (const o of all) assert.ok(reader.packs.locate(o.oid), `${o.oid} found`)
    for (let i = 0; i < 200; i++) assert.is(reader.packs.locate(blob(`absent ${i}\n`).oid), null)
    const gone = reader.packs.locate(small[7][0].oid)!.pack.name
    await reader.packs.remove(gone)
    for (const o of small[7]) assert.is(reader.packs.locate(o.oid), null)
    for (const o of [...big, ...small.slice(8).flat()]) assert.ok(reader.packs.locate(o.oid), `${o.oid} still found`)
  })
})

test.run()
