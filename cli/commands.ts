// Every subcommand, one file each; a file exports `register(program)`.
import type { Command } from 'commander'

import { register as antares } from './antares.ts'
import { register as list } from './list.ts'
import { register as mount } from './mount.ts'
import { register as prefetch } from './prefetch.ts'
import { register as umount } from './umount.ts'
import { register as wait } from './wait.ts'

type Register = (program: Command) => void

const registrations: Register[] = [mount, list, umount, wait, prefetch, antares]

export function registerCommands(program: Command): void {
  for (const register of registrations) register(program)
}
