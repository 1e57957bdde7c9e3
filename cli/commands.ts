// Every subcommand, one file each; a file exports `register(program)`.
import type { Command } from 'commander'

import { register as antares } from './antares.ts'
import { register as list } from './list.ts'
import { register as mount } from './mount.ts'
import { register as prefetch } from './prefetch.ts'
import { register as umount } from './umount.ts'
import { register as wait } from './wait.ts'
import { register as status } from './status.ts'
import { register as diff } from './diff.ts'
import { register as commit } from './commit.ts'
import { register as push } from './push.ts'
import { register as checkout } from './checkout.ts'
import { register as reset } from './reset.ts'
import { register as restore } from './restore.ts'
import { register as log } from './log.ts'

type Register = (program: Command) => void

const registrations: Register[] = [mount, list, umount, wait, prefetch, antares, status, diff, commit, push, checkout, reset, restore, log]

export function registerCommands(program: Command): void {
  for (const register of registrations) register(program)
}
