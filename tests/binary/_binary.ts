// The single binary under test: dist/scorpio, rebuilt (npm run compile) when any source is newer.
export { BINARY, ensureBinary } from '../../scripts/_build.ts'
