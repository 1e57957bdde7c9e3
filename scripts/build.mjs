// Bundles the CLI into one ESM file so `scorpio` starts without compiling TypeScript per call.
import { build } from 'esbuild'
import { chmodSync, readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
await build({
  entryPoints: { scorpio: 'cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  define: { SCORPIO_VERSION: JSON.stringify(pkg.version) },
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __scorpioRequire } from 'node:module';\nconst require = __scorpioRequire(import.meta.url);",
  },
  logLevel: 'warning',
})
chmodSync('dist/scorpio.mjs', 0o755)
