import { describe, expect, it } from 'vitest';
import { runReadmeExamples } from '../../../../scripts/run-readme-examples.ts';
import * as api from '../index.ts';

describe('@psyche/core public surface', () => {
  it('the README example runs and reports the truncation', () => {
    const [out] = runReadmeExamples(`${import.meta.dirname}/../..`);
    expect(out).toMatch(/truncated at 6\n/); // u32 (4 bytes) + u16 length (2), then the string is missing
  });
  it('exports snapshot (additions are fine, removals are breaking)', () => {
    expect(Object.keys(api).sort()).toMatchSnapshot();
  });
});
