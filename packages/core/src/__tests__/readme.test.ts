import { describe, expect, it } from 'vitest';
import { runReadmeExamples } from '../../../../scripts/run-readme-examples.ts';
import * as api from '../index.ts';
import published from './exports.json' with { type: 'json' };

describe('@psyche/core public surface', () => {
  it('the README example runs and reports the truncation', () => {
    const [out] = runReadmeExamples(`${import.meta.dirname}/../..`);
    expect(out).toMatch(/truncated at 6\n/); // u32 (4 bytes) + u16 length (2), then the string is missing
  });
  it('still exports every name it ever published (additions are fine, removals are breaking)', () => {
    expect(Object.keys(api)).toEqual(expect.arrayContaining(published));
  });
});
