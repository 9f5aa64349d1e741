#!/usr/bin/env node
// Thin launcher: the compiled CLI does the work. Kept tiny so `cordon run` starts fast.
import { main } from '../dist/src/cli/main.js';
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
