// lib/workspace: a workspace's state dir and its version control (status, diff, commit, push, checkout).
export * from './state.ts'
