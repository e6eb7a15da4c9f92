#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `berth` command: the compiled CLI lives in dist/ (run `npm run build`).
// --max-semi-space-size=2 caps V8's young generation at 2 MiB per semi-space (default 16):
// a registry makes short-lived garbage fast, and the default let the main thread hold about
// 30-45 MiB more RSS under small-request load for no gain in req/s (native-bench). The
// flag works only on the command line; `npm start`, the Dockerfile and the benchmark pass it.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
