// Untracked files that Git would not add: anything inside a `.git` directory (a repository made
// inside the mount) and paths matched by `.gitignore` files of the workspace (the effective ones:
// an upper .gitignore wins over the lower one). Tracked files are never ignored.
import { compileGlob } from '../mount/glob.ts'
import type { Oid } from '../store/types.ts'
import { effChildren, upperBytes, type Eff } from './effective.ts'
import type { TreeReader } from './trees.ts'

interface Rule {
  match: (path: string) => boolean
  negate: boolean
  dirOnly: boolean
}

function parseRules(text: string): Rule[] {
  const rules: Rule[] = []
  for (let line of text.split('\n')) {
    line = line.replace(/\r$/, '')
    if (!line.trim() || line.startsWith('#')) continue
    line = line.replace(/(?<!\\)\s+$/, '')
    let negate = false
    if (line.startsWith('!')) {
      negate = true
      line = line.slice(1)
    } else if (line.startsWith('\\!') || line.startsWith('\\#')) line = line.slice(1)
    const dirOnly = line.endsWith('/')
    if (!line.replace(/\/+$/, '')) continue
    rules.push({ match: compileGlob(line), negate, dirOnly })
  }
  return rules
}

function isGitDirName(name: string): boolean {
  return name.toLowerCase() === '.git'
}

export class IgnoreRules {
  private cache = new Map<string, Promise<Rule[]>>()

  constructor(
    private readonly reader: TreeReader,
    private readonly root: Eff,
  ) {}

  private dirs = new Map<string, Promise<Map<string, Eff> | undefined>>()

  /** Children of the effective directory at `dir` (memoized, each built from its parent's). */
  private kids(dir: string): Promise<Map<string, Eff> | undefined> {
    let p = this.dirs.get(dir)
    if (!p) {
      p = (async () => {
        if (dir === '') return effChildren(this.reader, this.root)
        const cut = dir.lastIndexOf('/')
        const parent = await this.kids(cut < 0 ? '' : dir.slice(0, cut))
        const e = parent?.get(dir.slice(cut + 1))
        return e && (e.kind === 'dir' || (e.kind === 'git' && e.entry.mode === '40000')) ? effChildren(this.reader, e) : undefined
      })()
      this.dirs.set(dir, p)
    }
    return p
  }

  private rulesOf(dir: string): Promise<Rule[]> {
    let p = this.cache.get(dir)
    if (!p) {
      p = (async () => {
        const f = (await this.kids(dir))?.get('.gitignore')
        if (!f || f.kind === 'dir') return []
        let bytes: Uint8Array
        if (f.kind === 'git') {
          if (f.entry.mode === '40000' || f.entry.mode === '160000') return []
          bytes = await this.reader.store.readBlob(f.entry.oid)
        } else if (f.node.kind === 'file' && f.node.origin) bytes = await this.reader.store.readBlob(f.node.origin.oid as Oid)
        else bytes = await upperBytes(f.node)
        return parseRules(new TextDecoder().decode(bytes))
      })()
      this.cache.set(dir, p)
    }
    return p
  }

  /** True when the untracked file `path` is one Git would leave out. */
  async ignored(path: string): Promise<boolean> {
    const parts = path.split('/')
    if (parts.some(isGitDirName)) return true
    let ignored = false
    // Deeper .gitignore files take precedence: apply from the root down, last match wins.
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/')
      const rel = parts.slice(i).join('/')
      const rules = await this.rulesOf(dir)
      for (const r of rules) {
        // A directory-only rule (`build/`) matches when one of the file's directories matches.
        const target = r.dirOnly ? rel.slice(0, Math.max(0, rel.lastIndexOf('/'))) : rel
        if (target && r.match(target)) ignored = !r.negate
      }
    }
    return ignored
  }
}
