import { parseArgs } from 'node:util';
import { NODE_INVALID_ARGUMENT, PsycheError, isPsycheError } from '@psyche/core';
import { CoordinatorClient } from '@psyche/coordinator-client';
import { generateKeyPairSigner, lamports, address } from '@solana/kit';
import { readRunFile, runIdOf } from './node-config.ts';
import { createNodeLog, type LogFormat } from './node-log.ts';
import { PsycheNode } from './psyche-node.ts';

const USAGE = `usage:
  psyche-node run --config <run.toml> --run <run address> --rpc <url> [--ws <url>] [--key <file>] [--data-dir <dir>]
                  [--peers-dir <dir>] [--bootstrap <multiaddr>]... [--metrics-port <n>] [--log json|human]
                  [--threads <n>] [--airdrop] [--fault garbage|flip|reject|slow-verify]
  psyche-node create-run --config <run.toml> --rpc <url> [--min-clients <n>]   prints the run account address`;

/** An integer option in [min, max]; anything else (`--threads abc` gave NaN threads) is NODE_INVALID_ARGUMENT. */
function integerOption(name: string, text: string, min: number, max: number): number {
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new PsycheError(NODE_INVALID_ARGUMENT, { what: `--${name}`, reason: `expected an integer in [${min}, ${max}], got ${JSON.stringify(text)}` }, `--${name}: expected an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return value;
}

/** The CLI; returns the exit code. SIGINT/SIGTERM leave the run cleanly (withdraw, stop p2p). */
export async function runNodeCli(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
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
  } catch (e) {
    // Unknown options and missing values: a usage error, not a crash with a stack trace.
    process.stderr.write(`psyche-node: ${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
    return 2;
  }
  const { values } = parsed;
  if (!values.config || !values.rpc || (command !== 'run' && command !== 'create-run')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    if (values.log !== 'json' && values.log !== 'human') {
      throw new PsycheError(NODE_INVALID_ARGUMENT, { what: '--log', reason: `expected json or human, got ${JSON.stringify(values.log)}` }, `--log: expected json or human, got ${JSON.stringify(values.log)}`);
    }
    const threads = integerOption('threads', values.threads, 1, 1024);
    const metricsPort = values['metrics-port'] === undefined ? undefined : integerOption('metrics-port', values['metrics-port'], 0, 65_535);
    const minClients = values['min-clients'] === undefined ? undefined : integerOption('min-clients', values['min-clients'], 1, 256);
    const runFile = readRunFile(values.config);
    if (command === 'create-run') {
      const payer = await generateKeyPairSigner();
      const client = new CoordinatorClient({ rpcUrl: values.rpc, ...(values.ws ? { wsUrl: values.ws } : {}), payer });
      await client.rpc.requestAirdrop(payer.address, lamports(10_000_000_000n)).send();
      const n = minClients ?? runFile.run.initMinClients;
      const run = await client.createRun({ authority: payer, config: { ...runFile.run, initMinClients: n }, runId: runIdOf(runFile.name) });
      process.stdout.write(`${run}\n`);
      return 0;
    }
    if (!values.run) throw new Error('--run is required');
    const faults = ['garbage', 'flip', 'reject', 'slow-verify'] as const;
    if (values.fault !== undefined && !(faults as readonly string[]).includes(values.fault)) {
      const reason = `expected ${faults.join(', ')}, got ${JSON.stringify(values.fault)}`;
      throw new PsycheError(NODE_INVALID_ARGUMENT, { what: '--fault', reason }, `--fault: ${reason}`);
    }
    const format: LogFormat = values.log;
    const node = new PsycheNode({
      runFile,
      runAddress: address(values.run),
      rpcUrl: values.rpc,
      ...(values.ws ? { wsUrl: values.ws } : {}),
      keyPath: values.key,
      dataDir: values['data-dir'],
      ...(values['peers-dir'] ? { peersDir: values['peers-dir'] } : {}),
      bootstrap: values.bootstrap ?? [],
      ...(metricsPort !== undefined ? { metricsPort } : {}),
      threads,
      airdrop: values.airdrop,
      ...(values.fault !== undefined ? { fault: values.fault as (typeof faults)[number] } : {}),
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
