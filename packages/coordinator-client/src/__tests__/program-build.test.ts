import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COORDINATOR_PROGRAM_PATH, buildCoordinatorProgram } from '../index.ts';

// The .so is committed (so the package works without clang); CI installs clang-19
// (.ci/apt-packages.d/coordinator.txt) and this test proves the committed bytes are exactly what
// the sources build to, twice in a row.
describe('coordinator program build', () => {
  it('is reproducible and matches the committed program/psyche_coordinator.so', () => {
    const first = buildCoordinatorProgram();
    const second = buildCoordinatorProgram();
    expect(Buffer.from(first.elf).equals(Buffer.from(second.elf))).toBe(true);
    const committed = readFileSync(COORDINATOR_PROGRAM_PATH);
    expect(committed.equals(Buffer.from(first.elf)), 'stale .so: run npm run build:program -w @psyche/coordinator-client').toBe(true);
    expect(first.syscalls).toEqual(expect.arrayContaining(['sol_sha256', 'sol_get_clock_sysvar', 'sol_memcpy_']));
  });
});
