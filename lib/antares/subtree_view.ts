// A job that asks for `path: "/a/b"` sees that directory of the shared lower layer as its root.
// The view delegates to the shared one, so every job shares its listings, sizes and store.
import { UsageError } from '../errors.ts'
import type { LowerEntry, LowerView } from '../lower/mod.ts'

export class SubtreeView implements LowerView {
  private constructor(
    private readonly base: LowerView,
    private readonly prefix: string,
    readonly root: LowerEntry,
  ) {}

  /** `path` as normalised by the service (`/` or `/a/b`). */
  static async open(base: LowerView, path: string): Promise<LowerView> {
    const prefix = path.replace(/^\/+|\/+$/g, '')
    // Even at the top: the job reads as itself (its own read-ahead over the shared view).
    if (prefix === '') return new SubtreeView(base, prefix, base.root)
    const root = await base.lookupPath(prefix)
    if (!root || root.kind !== 'dir') {
      throw new UsageError(`path "/${prefix}" is not a directory in commit ${base.commit.slice(0, 12)}; send a directory of the repository`)
    }
    return new SubtreeView(base, prefix, root)
  }

  get commit() {
    return this.base.commit
  }

  get mtimeMs() {
    return this.base.mtimeMs
  }

  list(dir: LowerEntry) {
    return this.base.list(dir)
  }

  listCached(dir: LowerEntry) {
    return this.base.listCached?.(dir)
  }

  knownSize(entry: LowerEntry) {
    return this.base.knownSize?.(entry)
  }

  lookupPath(path: string) {
    const rel = path.replace(/^\/+/, '')
    return this.base.lookupPath(rel === '' || this.prefix === '' ? this.prefix + rel : `${this.prefix}/${rel}`)
  }

  size(entry: LowerEntry) {
    return this.base.size(entry)
  }

  read(entry: LowerEntry, reader?: object) {
    return this.base.read(entry, reader ?? this)
  }

  isLocal(entry: LowerEntry) {
    return this.base.isLocal(entry)
  }

  fromGit(mode: string, oid: string) {
    return this.base.fromGit(mode, oid)
  }
}
