// Rebuilds program/psyche_coordinator.so from programs/coordinator/src (clang-19 + @psyche/sbf-linker).
// `--check` fails instead of writing when the committed .so differs from a fresh build.
import { readFileSync, writeFileSync } from 'node:fs';
import { COORDINATOR_PROGRAM_PATH, buildCoordinatorProgram } from '../src/program-build.ts';

const { elf, syscalls, textSize, rodataSize } = buildCoordinatorProgram();
if (process.argv.includes('--check')) {
  const committed = readFileSync(COORDINATOR_PROGRAM_PATH);
  if (!committed.equals(Buffer.from(elf))) {
    console.error(`${COORDINATOR_PROGRAM_PATH} is stale: rebuild with npm run build:program -w @psyche/coordinator-client`);
    process.exit(1);
  }
  console.log('program up to date');
} else {
  writeFileSync(COORDINATOR_PROGRAM_PATH, elf);
  console.log(`wrote ${COORDINATOR_PROGRAM_PATH}: ${elf.length} bytes (text ${textSize}, rodata ${rodataSize}), syscalls ${syscalls.join(', ')}`);
}
