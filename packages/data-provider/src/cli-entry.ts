// Entry of the `psyche-data` command (bin/psyche-data.js loads the built copy of cli.ts).
import { runCli } from './cli.ts';

process.exitCode = await runCli(process.argv.slice(2));
