import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { COORDINATOR_BUILD_FAILED, COORDINATOR_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';
import { linkSbf, type LinkOptions, type LinkResult } from './link-sbf.ts';

/**
 * The flags proven to give SBPF-v0-compatible code from stock clang-19: v2 ISA (no JMP32), no
 * builtins (memcpy/memset become errors instead of silent libcalls), and a 4 KiB frame limit, which
 * is what the SBF VM gives each call frame.
 */
export const SBF_CLANG_FLAGS: readonly string[] = [
  '-target', 'bpf', '-mcpu=v2', '-O2', '-fno-builtin', '-ffreestanding', '-fno-stack-protector',
  '-std=c11', '-Wall', '-Wextra', '-Werror', '-mllvm', '-bpf-stack-size=4096',
];

export interface BuildSbfOptions extends LinkOptions {
  readonly sources: readonly string[];
  readonly includeDirs?: readonly string[];
  readonly defines?: readonly string[];
  /** Compiler tools; Debian bookworm's clang-19 and llvm-19 by default. */
  readonly clang?: string;
  readonly llvmLink?: string;
}

function run(command: string, args: readonly string[]): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message?: string };
    const stderr = err.stderr?.toString() ?? err.message ?? String(e);
    throw new PsycheError(
      COORDINATOR_BUILD_FAILED,
      { command: `${command} ${args.join(' ')}`, stderr },
      `${command} failed: ${stderr.slice(0, 2000)}`,
    );
  }
}

/** True when the compiler the build needs is installed (the .so is committed, so tests can run without it). */
export function hasSbfToolchain(clang = 'clang-19', llvmLink = 'llvm-link-19'): boolean {
  try {
    execFileSync(clang, ['--version'], { stdio: 'ignore' });
    execFileSync(llvmLink, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Options from a JS caller can be anything: a symbol or {toString: null} in sources, includeDirs or
 * defines went into a template literal (`-I${d}`) or path.basename and threw a TypeError.
 */
function assertStrings(field: string, value: unknown, optional: boolean): void {
  if (optional && value === undefined) return;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new PsycheError(COORDINATOR_INVALID_CONFIG, { field, reason: `expected an array of strings, got ${describeValue(value)}` }, `${field}: expected an array of strings, got ${describeValue(value)}`);
  }
}

function assertTool(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new PsycheError(COORDINATOR_INVALID_CONFIG, { field, reason: `expected a command name, got ${describeValue(value)}` }, `${field}: expected a command name, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Compiles C sources to one SBPF v0 program: each file to LLVM bitcode, `llvm-link` into one module
 * (so the linker sees a single object), compiled to a BPF object, then {@link linkSbf}.
 */
export function buildSbfProgram(options: BuildSbfOptions): LinkResult {
  const clang = assertTool('clang', options.clang ?? 'clang-19');
  const llvmLink = assertTool('llvmLink', options.llvmLink ?? 'llvm-link-19');
  assertStrings('sources', options.sources, false);
  assertStrings('includeDirs', options.includeDirs, true);
  assertStrings('defines', options.defines, true);
  const dir = mkdtempSync(join(tmpdir(), 'sbf-build-'));
  try {
    const common = [
      ...SBF_CLANG_FLAGS,
      ...(options.includeDirs ?? []).map((d) => `-I${d}`),
      ...(options.defines ?? []).map((d) => `-D${d}`),
    ];
    const bitcode = options.sources.map((source, i) => {
      const out = join(dir, `${i}-${basename(source)}.bc`);
      run(clang, [...common, '-emit-llvm', '-c', source, '-o', out]);
      return out;
    });
    const merged = join(dir, 'merged.bc');
    run(llvmLink, [...bitcode, '-o', merged]);
    const object = join(dir, 'program.o');
    run(clang, [...SBF_CLANG_FLAGS, '-c', merged, '-o', object]);
    return linkSbf(readFileSync(object), options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
