import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSbfProgram, type LinkResult } from '@psyche/sbf-linker';

const here = dirname(fileURLToPath(import.meta.url));

/** programs/coordinator/src in the repository (the C sources of the on-chain program). */
export const COORDINATOR_PROGRAM_SOURCE_DIR = resolve(here, '../../../programs/coordinator/src');

/** The committed build output, shipped with this package. */
export const COORDINATOR_PROGRAM_PATH = resolve(here, '../program/psyche_coordinator.so');

/** Compiles programs/coordinator/src/*.c with clang-19 and links it with @psyche/sbf-linker. */
export function buildCoordinatorProgram(sourceDir = COORDINATOR_PROGRAM_SOURCE_DIR): LinkResult {
  const sources = readdirSync(sourceDir)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => join(sourceDir, f));
  return buildSbfProgram({ sources, includeDirs: [sourceDir] });
}
