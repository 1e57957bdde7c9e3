// Helpers of the inode table's typed arrays: hashes and open-addressing indexes that hold record
// slot + 1 (0 = empty), with linear probing and deletion by backward shift (no tombstones).

export function nameHash(parent: number, name: string): number {
  let h = Math.imul(parent ^ 0x5bd1e995, 0x9e3779b1)
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  return (h ^ (h >>> 13)) >>> 0
}

export function inoHash(ino: number): number {
  const h = Math.imul((ino >>> 0) ^ Math.imul((ino / 0x1_0000_0000) | 0, 0x9e3779b1), 0x85ebca6b)
  return (h ^ (h >>> 15)) >>> 0
}

export function grown<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap)
  b.set(a)
  return b
}

export function insert(tab: Int32Array, s: number, hash: number): void {
  const mask = tab.length - 1
  let i = hash & mask
  while (tab[i] !== 0) i = (i + 1) & mask
  tab[i] = s + 1
}

export function remove(tab: Int32Array, s: number, hash: number, hashOf: (s: number) => number): void {
  const mask = tab.length - 1
  let i = hash & mask
  while (tab[i] !== s + 1) {
    if (tab[i] === 0) return
    i = (i + 1) & mask
  }
  // Backward shift: move later members of the run into the hole when their home allows it.
  for (let j = (i + 1) & mask; tab[j] !== 0; j = (j + 1) & mask) {
    const home = hashOf(tab[j] - 1) & mask
    const between = i <= j ? i < home && home <= j : i < home || home <= j
    if (between) continue
    tab[i] = tab[j]
    i = j
  }
  tab[i] = 0
}
