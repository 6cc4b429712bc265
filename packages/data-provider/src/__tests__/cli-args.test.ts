import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_INVALID_ARGUMENT, isPsycheError } from '@psyche/core';
import { parseCliArgs, runCli } from '../cli.ts';
import { MAX_SEQ_LEN } from '../dataset-manifest.ts';
import { captureStream as capture, makeTempDir } from './helpers.ts';

const temp = makeTempDir('cli-args');
afterAll(() => temp.remove());

function codeOf(argv: readonly string[]): number | undefined {
  try {
    parseCliArgs(argv);
  } catch (error) {
    return isPsycheError(error) ? error.code : -1;
  }
  return undefined;
}

// Each is refused before any file is read or written; a missing input file keeps the previous CLI
// (which accepted several of these) from doing real work.
const missing = join(temp.dir, 'missing.txt');
const out = join(temp.dir, 'out');
const refused: string[][] = [
  ['tokenize', '--out', out, '--bogus', missing],
  ['tokenize', '--out', out, '--seq-len'],
  ['tokenize', '--out', out, '--seq-len', 'abc', missing],
  ['tokenize', '--out', out, '--seq-len', '1.5', missing],
  ['tokenize', '--out', out, '--seq-len', '0', missing],
  ['tokenize', '--out', out, '--seq-len', '', missing],
  ['tokenize', '--out', out, '--seq-len', '0x10', missing],
  ['tokenize', '--out', out, '--seq-len', '1e3', missing],
  ['tokenize', '--out', out, '--seq-len', ' 12', missing],
  ['tokenize', '--out', out, '--seq-len', String(MAX_SEQ_LEN + 1), missing],
  ['tokenize', '--out', out, '--seq-len', 'Infinity', missing],
  ['tokenize', '--out', out, '--validation', '1', missing],
  ['tokenize', '--out', out, '--validation', 'NaN', missing],
  ['tokenize', '--out', out, '--validation', '-0.1', missing],
  ['tokenize', '--out', out, '--shard-mb', '0', missing],
  ['tokenize', '--out', out, '--shard-mb', '1e400', missing],
  ['tokenize', '--out', out, '--tokenizer', 'gpt3', missing],
  ['tokenize', '--out', '', missing],
  ['tokenize', '--out', out],
  ['tokenize', missing],
  ['example', '--out', out, '--tokenizer', '../../elsewhere'],
  ['example', '--out', out, '--force=yes'],
  ['example', '--out', out, 'extra'],
  ['example'],
  ['verify'],
  ['verify', missing, missing],
  ['verify', '--seq-len', '5', missing],
  ['info', ''],
  ['serve-http', missing, '--port', '70000'],
  ['serve-http', missing, '--port', '1.5'],
  ['serve-http', missing, '--port', '-1'],
  ['serve-http', missing, '--host', ''],
];

describe('psyche-data argument errors', () => {
  it('every malformed invocation is DATA_INVALID_ARGUMENT, printed as one line with the code, exit 1', async () => {
    for (const argv of refused) {
      const stdout = capture();
      const stderr = capture();
      expect(await runCli(argv, stdout.stream, stderr.stream), argv.join(' ')).toBe(1);
      expect(stderr.text(), argv.join(' ')).toMatch(new RegExp(`^psyche-data ${argv[0]}: [^\\n]*\\(code ${DATA_INVALID_ARGUMENT}\\)\\n$`));
      expect(codeOf(argv), argv.join(' ')).toBe(DATA_INVALID_ARGUMENT);
    }
  });

  it('a value with a line break still gives one line', async () => {
    const stderr = capture();
    expect(await runCli(['verify', '--x\ny', 'dir'], capture().stream, stderr.stream)).toBe(1);
    expect(stderr.text().split('\n')).toHaveLength(2);
    expect(stderr.text()).toContain(`(code ${DATA_INVALID_ARGUMENT})`);
  });

  it('well-formed invocations parse to checked values (defaults included)', () => {
    expect(parseCliArgs(['tokenize', '--out', 'o', '--seq-len', '16', '--validation', '.3', '--shard-mb', '0.5', '--seed', '', 'a', 'b'])).toEqual({
      command: 'tokenize', out: 'o', tokenizer: 'byte', seqLen: 16, validationFraction: 0.3, seed: '', maxShardBytes: 512 * 1024, files: ['a', 'b'],
    });
    expect(parseCliArgs(['example', '--out', 'o', '--tokenizer', 'gpt2', '--force'])).toEqual({ command: 'example', out: 'o', tokenizer: 'gpt2', seqLen: 256, force: true });
    expect(parseCliArgs(['serve-http', 'd'])).toEqual({ command: 'serve-http', dir: 'd', host: '127.0.0.1', port: 8080 });
    expect(parseCliArgs(['serve-http', 'd', '--port', '0'])).toMatchObject({ port: 0 });
    expect(parseCliArgs(['info', '--', '-dir'])).toEqual({ command: 'info', dir: '-dir' });
    expect(parseCliArgs([])).toEqual({ command: 'usage', exitCode: 0 });
    expect(parseCliArgs(['frobnicate', '--anything'])).toEqual({ command: 'usage', exitCode: 2 });
  });

  it('random argv arrays either parse to checked values or throw DATA_INVALID_ARGUMENT, nothing else (fuzz)', () => {
    const word = fc.oneof(
      fc.constantFrom('--out', '--tokenizer', '--seq-len', '--validation', '--seed', '--shard-mb', '--force', '--host', '--port', '--force=1', '--port=80', '--', '-', '-x', '--constructor', '--__proto__', '--toString', '--hasOwnProperty'),
      fc.constantFrom('byte', 'gpt2', '0', '1', '-1', '1.5', '.5', '1.', 'NaN', 'Infinity', '-Infinity', '1e3', '0x10', ' 7', '', '65535', '65536', '16777216', '16777217', '9007199254740993', 'dir'),
      fc.double().map(String),
      fc.integer().map(String),
      fc.string({ maxLength: 8 }),
    );
    const command = fc.constantFrom('tokenize', 'example', 'verify', 'info', 'serve-http', 'help', '--help', 'frobnicate', 'constructor', '__proto__', 'hasOwnProperty');
    fc.assert(
      fc.property(command, fc.array(word, { maxLength: 12 }), (name, rest) => {
        let parsed;
        try {
          parsed = parseCliArgs([name, ...rest]);
        } catch (error) {
          expect(isPsycheError(error, DATA_INVALID_ARGUMENT)).toBe(true);
          expect((error as Error).message).not.toMatch(/[\n\r]/);
          return;
        }
        if (parsed.command === 'usage') {
          expect([0, 2]).toContain(parsed.exitCode);
          return;
        }
        if (parsed.command === 'tokenize') {
          expect(parsed.files.length).toBeGreaterThan(0);
          expect(Number.isSafeInteger(parsed.maxShardBytes ?? 1) && (parsed.maxShardBytes ?? 1) >= 1).toBe(true);
          expect(parsed.validationFraction >= 0 && parsed.validationFraction < 1).toBe(true);
        }
        if (parsed.command === 'tokenize' || parsed.command === 'example') {
          expect(parsed.out).not.toBe('');
          expect(['byte', 'gpt2']).toContain(parsed.tokenizer);
          expect(Number.isInteger(parsed.seqLen) && parsed.seqLen >= 1 && parsed.seqLen <= MAX_SEQ_LEN).toBe(true);
        } else {
          expect(parsed.dir).not.toBe('');
        }
        if (parsed.command === 'serve-http') {
          expect(Number.isInteger(parsed.port) && parsed.port >= 0 && parsed.port <= 65_535).toBe(true);
          expect(parsed.host).not.toBe('');
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });

  it('the psyche-data entry prints one line with the code, no stack trace, and exits non-zero', async () => {
    const root = join(import.meta.dirname, '..', '..', '..', '..');
    const run = promisify(execFile);
    const result = await run(join(root, 'node_modules', '.bin', 'tsx'), ['--conditions=@psyche/source', join(root, 'packages', 'data-provider', 'src', 'cli-entry.ts'), 'tokenize', '--out', out, '--seq-len', 'nope', missing], { timeout: 30_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`psyche-data tokenize: [${DATA_INVALID_ARGUMENT}] --seq-len: expected an integer in [1, ${MAX_SEQ_LEN}], got "nope" (code ${DATA_INVALID_ARGUMENT})\n`);
  }, 40_000);
});
