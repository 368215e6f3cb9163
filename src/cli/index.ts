#!/usr/bin/env node
import { shouldSupervise, supervise } from './supervise.js';

const argv = process.argv.slice(2);
if (shouldSupervise(argv)) {
  // the work runs in a child process this one watches (supervise.ts); the engine is not even loaded here
  process.exitCode = await supervise(argv, process.argv[1]);
} else {
  const { main } = await import('./main.js');
  process.exitCode = await main(argv);
}
