#!/usr/bin/env node
// Thin launcher: the compiled CLI does the work. Kept tiny so `cordon run` starts fast.
performance.mark('cordon:bin');
const { main } = await import('../dist/src/cli/main.js');
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
