// lib/vfs: the overlay served to the kernel (inode table, lookup counts, handles, invalidation).
export { createVfs, type Vfs, type VfsOptions } from './vfs.ts'
export { InodeTable, pathIno, ROOT_INO } from './inodes.ts'
