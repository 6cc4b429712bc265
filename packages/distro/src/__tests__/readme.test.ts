import { describe, expect, it } from 'vitest';
import { readmeBlocks, runReadmeExamples } from '../../../../scripts/run-readme-examples.ts';
import * as api from '../index.ts';
import published from './exports.json' with { type: 'json' };

describe('@psyche/distro public surface', () => {
  it('the README example runs', () => {
    expect(readmeBlocks(`${import.meta.dirname}/../..`).length).toBe(1);
    const [out] = runReadmeExamples(`${import.meta.dirname}/../..`);
    expect(out).toMatch(/^\d+ bytes instead of 131072/);
  });
  it('still exports every name it ever published (additions are fine, removals are breaking)', () => {
    expect(Object.keys(api)).toEqual(expect.arrayContaining(published));
  });
});
