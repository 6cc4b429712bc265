#!/usr/bin/env -S node --conditions=@psyche/source --import tsx
// The reference node:  psyche-node run --config run.toml --run <address> --rpc http://127.0.0.1:8899 [options]
//                      psyche-node create-run --config run.toml --rpc <url>   (prints the run address)
import { runNodeCli } from '../node-cli.ts';

process.exitCode = await runNodeCli(process.argv.slice(2));
