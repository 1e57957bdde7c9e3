// The compact size table: exact sizes back for every id through growth, sizes past 32 bits, and a
// fresh start at the entry limit.
import { createHash } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SizeTable } from '../../lib/store/size_table.ts'

const id = (i: number) => createHash('sha1').update(String(i)).digest('hex')

test('sizes come back exactly for 50,000 ids; unknown ids are undefined', () => {
  const t = new SizeTable()
  for (let i = 0; i < 50_000; i++) t.set(id(i), i * 7)
  assert.is(t.size, 50_000)
  for (let i = 0; i < 50_000; i++) assert.is(t.get(id(i)), i * 7)
  assert.is(t.get(id(50_001)), undefined)
  t.set(id(3), 5) // a second set of the same id replaces, never adds
  assert.is(t.get(id(3)), 5)
  assert.is(t.size, 50_000)
})

test('ids differing in one word only, zero and huge sizes', () => {
  const t = new SizeTable()
  const a = '0'.repeat(40)
  const b = '0'.repeat(39) + '1'
  const c = '1' + '0'.repeat(39)
  t.set(a, 0)
  t.set(b, 2 ** 32 + 5)
  t.set(c, 2 ** 32 - 2)
  assert.is(t.get(a), 0)
  assert.is(t.get(b), 2 ** 32 + 5)
  assert.is(t.get(c), 2 ** 32 - 2)
  assert.is(t.get('0'.repeat(20) + '1' + '0'.repeat(19)), undefined)
})

test('not an id: neither kept nor answered', () => {
  const t = new SizeTable()
  t.set('g'.repeat(40), 1)
  t.set('ABCDEF'.repeat(6) + 'ABCD', 1)
  t.set('abc', 1)
  t.set('\u0161'.repeat(40), 1) // 'š': its low byte is that of 'a'
  assert.is(t.size, 0)
  assert.is(t.get('g'.repeat(40)), undefined)
})

test('at the limit the table starts afresh', () => {
  const t = new SizeTable(1000)
  for (let i = 0; i < 1000; i++) t.set(id(i), i)
  assert.is(t.size, 1000)
  t.set(id(1000), 1000)
  assert.is(t.size, 1)
  assert.is(t.get(id(1000)), 1000)
  assert.is(t.get(id(0)), undefined)
})

test.run()
