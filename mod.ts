// Scorpio's public library surface: everything a program embedding Scorpio may import.
export * from './lib/errors.ts'
export type * from './lib/store/types.ts'
