#!/usr/bin/env node
// Entry point of the `berth` command: the compiled CLI lives in dist/ (run `npm run build`).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
