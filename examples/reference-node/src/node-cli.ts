import { parseArgs } from 'node:util';
import { isPsycheError } from '@psyche/core';
import { CoordinatorClient } from '@psyche/coordinator-client';
import { generateKeyPairSigner, lamports, address } from '@solana/kit';
import { readRunFile, runIdOf } from './node-config.ts';
import { createNodeLog, type LogFormat } from './node-log.ts';
import { PsycheNode } from './psyche-node.ts';

const USAGE = `usage:
  psyche-node run --config <run.toml> --run <run address> --rpc <url> [--ws <url>] [--key <file>] [--data-dir <dir>]
                  [--peers-dir <dir>] [--bootstrap <multiaddr>]... [--metrics-port <n>] [--log json|human]
                  [--threads <n>] [--airdrop] [--fault garbage|flip|reject]
  psyche-node create-run --config <run.toml> --rpc <url> [--min-clients <n>]   prints the run account address`;

/** The CLI; returns the exit code. SIGINT/SIGTERM leave the run cleanly (withdraw, stop p2p). */
export async function runNodeCli(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
      run: { type: 'string' },
      rpc: { type: 'string' },
      ws: { type: 'string' },
      key: { type: 'string', default: '.psyche/node-key.json' },
      'data-dir': { type: 'string', default: '.psyche/node' },
      'peers-dir': { type: 'string' },
      bootstrap: { type: 'string', multiple: true },
      'metrics-port': { type: 'string' },
      log: { type: 'string', default: 'human' },
      threads: { type: 'string', default: '1' },
      airdrop: { type: 'boolean', default: false },
      fault: { type: 'string' },
      'min-clients': { type: 'string' },
    },
  });
  if (!values.config || !values.rpc || (command !== 'run' && command !== 'create-run')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    const runFile = readRunFile(values.config);
    if (command === 'create-run') {
      const payer = await generateKeyPairSigner();
      const client = new CoordinatorClient({ rpcUrl: values.rpc, ...(values.ws ? { wsUrl: values.ws } : {}), payer });
      await client.rpc.requestAirdrop(payer.address, lamports(10_000_000_000n)).send();
      const n = values['min-clients'] ? Number(values['min-clients']) : runFile.run.initMinClients;
      const run = await client.createRun({ authority: payer, config: { ...runFile.run, initMinClients: n }, runId: runIdOf(runFile.name) });
      process.stdout.write(`${run}\n`);
      return 0;
    }
    if (!values.run) throw new Error('--run is required');
    if (values.fault !== undefined && values.fault !== 'garbage' && values.fault !== 'flip' && values.fault !== 'reject') throw new Error(`--fault: expected garbage, flip or reject, got ${values.fault}`);
    const format = values.log as LogFormat;
    const node = new PsycheNode({
      runFile,
      runAddress: address(values.run),
      rpcUrl: values.rpc,
      ...(values.ws ? { wsUrl: values.ws } : {}),
      keyPath: values.key,
      dataDir: values['data-dir'],
      ...(values['peers-dir'] ? { peersDir: values['peers-dir'] } : {}),
      bootstrap: values.bootstrap ?? [],
      ...(values['metrics-port'] !== undefined ? { metricsPort: Number(values['metrics-port']) } : {}),
      threads: Number(values.threads),
      airdrop: values.airdrop,
      ...(values.fault !== undefined ? { fault: values.fault as 'garbage' | 'flip' | 'reject' } : {}),
      log: createNodeLog('node', format === 'json' ? 'json' : 'human'),
    });
    const leave = (signal: string) => void node.stop(signal).then(() => process.exit(0));
    process.once('SIGINT', () => leave('SIGINT'));
    process.once('SIGTERM', () => leave('SIGTERM'));
    await node.run();
    await node.stop('finished');
    return 0;
  } catch (e) {
    process.stderr.write(`psyche-node: ${isPsycheError(e) ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
