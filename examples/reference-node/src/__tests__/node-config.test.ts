import { readFileSync } from 'node:fs';
import { NODE_INVALID_CONFIG, isPsycheError } from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRunFile } from '../node-config.ts';

const text = readFileSync(new URL('../../configs/local.toml', import.meta.url), 'utf8');

describe('parseRunFile', () => {
  it('fuzz: any TOML value for any key of the local run file gives a run or NODE_INVALID_CONFIG, never another error', () => {
    const lines = text.split('\n');
    const keyLines = lines.flatMap((line, i) => (/^\w+ = /.test(line) ? [i] : []));
    const float = fc.double().map((d) => (Number.isNaN(d) ? 'nan' : d === Infinity ? 'inf' : d === -Infinity ? '-inf' : Object.is(d, -0) ? '-0.0' : Number.isInteger(d) && Math.abs(d) < 1e21 ? `${d}.0` : String(d)));
    // TOML's own surprises: values past 2^53 and 2^63, hex, dates, inline tables with Object.prototype's
    // names as keys, and arrays nested deeper than a recursive parser survives.
    const hostile = fc.constantFrom(
      '9007199254740993', '9223372036854775807', '-9223372036854775808', '0x7fffffffffffffff', '1e400', '-0', '-0.0', 'nan', '+inf',
      '1979-05-27T07:32:00Z', '07:32:00', '"__proto__"', '{ toString = 1 }', '{ valueOf = 1, toString = 2 }', '{ __proto__ = { x = 1 } }',
      '[]', '[[1]]', `${'['.repeat(6000)}${']'.repeat(6000)}`, '"x"', 'true', '""',
    );
    const value = fc.oneof(fc.integer().map(String), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), float, hostile);
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...keyLines), value), { minLength: 1, maxLength: 4 }), (edits) => {
        const edited = [...lines];
        for (const [i, v] of edits) edited[i] = `${lines[i]!.split(' = ')[0]!} = ${v}`;
        try {
          const run = parseRunFile(edited.join('\n'));
          expect(run.run.seqLen).toBeLessThanOrEqual(run.model.max_position_embeddings);
          accepted++;
        } catch (e) {
          expect(isPsycheError(e, NODE_INVALID_CONFIG), String(e)).toBe(true);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000) },
    );
    // Some edits (a new name, a float where a float goes) still make a run: the fuzz reaches the accepting path.
    expect(accepted).toBeGreaterThan(0);
    console.log(`run file fuzz: ${accepted} accepted`);
  });
});
