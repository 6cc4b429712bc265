// Entry of the `psyche-data` command (bin/psyche-data.js loads the built copy of cli.ts).
import { cliErrorLine, runCli } from './cli.ts';

try {
  process.exitCode = await runCli(process.argv.slice(2));
} catch (error) {
  // runCli prints its own errors; this only catches a failure to do so, still as one line without a stack.
  process.stderr.write(`${cliErrorLine(process.argv[2], error)}\n`);
  process.exitCode = 1;
}
