// gitignore-style patterns for `scorpio prefetch`: `*` and `?` stay within one path segment, `**`
// crosses segments, a pattern without a slash matches at any depth, one with a slash is anchored
// to the directory it is relative to. A matching directory matches everything beneath it.

export function hasGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern)
}

function segmentToRegex(glob: string): string {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/'
        const atEnd = i + 2 === glob.length || glob[i + 2] === '/'
        if (atStart && atEnd) {
          if (i + 2 === glob.length) out += '.*'
          else {
            out += '(?:.*/)?'
            i++ // skip the slash after **
          }
          i++
          continue
        }
      }
      out += '[^/]*'
    } else if (c === '?') out += '[^/]'
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2)
      if (end < 0) out += '\\['
      else {
        let cls = glob.slice(i + 1, end).replace(/\\/g, '\\\\')
        if (cls.startsWith('!')) cls = '^' + cls.slice(1)
        out += `[${cls}]`
        i = end
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      out += glob[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return out
}

/** Compiles one pattern (relative to the directory it was given in) into a path predicate. */
export function compileGlob(pattern: string): (path: string) => boolean {
  let p = pattern.replace(/^\.\//, '').replace(/\/+$/, '')
  const anchored = p.includes('/')
  p = p.replace(/^\//, '')
  const body = segmentToRegex(p)
  const re = new RegExp(anchored ? `^${body}(?:/.*)?$` : `^(?:.*/)?${body}(?:/.*)?$`)
  return (path) => re.test(path)
}
