import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COORDINATOR_BUILD_FAILED,
  COORDINATOR_INVALID_CONFIG,
  COORDINATOR_LINKER_MALFORMED_OBJECT,
  COORDINATOR_LINKER_MISSING_ENTRYPOINT,
  COORDINATOR_LINKER_UNDEFINED_SYMBOL,
  COORDINATOR_LINKER_UNSUPPORTED_RELOCATION,
  COORDINATOR_LINKER_UNSUPPORTED_INSTRUCTION,
  COORDINATOR_LINKER_UNSUPPORTED_SECTION,
  isPsycheError,
} from '@psyche/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { R_BPF_64_32, SBF_CLANG_FLAGS, buildSbfProgram, linkSbf, parseElfObject } from '../index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sbf-linker-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PRELUDE = `typedef unsigned long u64;
extern void sol_log_(const char *, u64);
extern void sol_log_64_(u64, u64, u64, u64, u64);
`;

function compile(name: string, source: string, flags: readonly string[] = SBF_CLANG_FLAGS): Uint8Array {
  const c = join(dir, `${name}.c`);
  const o = join(dir, `${name}.o`);
  writeFileSync(c, PRELUDE + source);
  execFileSync('clang-19', [...flags, '-c', c, '-o', o], { stdio: 'pipe' });
  return readFileSync(o);
}

function expectCode(fn: () => unknown, code: number): void {
  try {
    fn();
  } catch (e) {
    if (!isPsycheError(e)) throw e;
    expect(e.code, e.message).toBe(code);
    return;
  }
  expect.fail(`expected error ${code}`);
}

const LINKER_CODES = [
  COORDINATOR_LINKER_MALFORMED_OBJECT,
  COORDINATOR_LINKER_UNSUPPORTED_SECTION,
  COORDINATOR_LINKER_UNSUPPORTED_RELOCATION,
  COORDINATOR_LINKER_UNSUPPORTED_INSTRUCTION,
  COORDINATOR_LINKER_UNDEFINED_SYMBOL,
  COORDINATOR_LINKER_MISSING_ENTRYPOINT,
];

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

const GOOD = `
static const char *const names[] = {"alpha", "beta"};
__attribute__((noinline)) static u64 scale(u64 a, u64 b) { return a * 3 + b; }
__attribute__((noinline)) u64 twice(u64 a) { return scale(a, a); }
u64 entrypoint(const unsigned char *input) {
  u64 n = *(const u64 *)input;
  sol_log_(names[n & 1], 4);
  sol_log_("hello", 5);
  sol_log_64_(twice(n), scale(n, 7), 0, 0, 0);
  return 0;
}`;

describe('linkSbf', () => {
  it('produces an SBPF v0 shared object with static data relocations and syscall relocations', () => {
    const { elf, syscalls, rodataSize } = linkSbf(compile('good', GOOD));
    const v = view(elf);
    expect(v.getUint16(16, true)).toBe(3); // ET_DYN
    expect(v.getUint16(18, true)).toBe(247); // EM_BPF
    expect(v.getUint32(48, true)).toBe(0); // e_flags: SBPF v0
    expect(syscalls).toEqual(['sol_log_', 'sol_log_64_']);
    expect(rodataSize).toBeGreaterThan(0);
    // The program-headers' file offsets equal their virtual addresses.
    for (let i = 0; i < 3; i++) expect(v.getBigUint64(64 + i * 56 + 8, true)).toBe(v.getBigUint64(64 + i * 56 + 16, true));
    // Every call either has imm = −1 and a .rel.dyn entry (syscall) or a pc-relative target inside text.
    const text = sectionByName(elf, '.text');
    const relDyn = sectionByName(elf, '.rel.dyn');
    const relocated = new Set<number>();
    for (let at = relDyn.offset; at < relDyn.offset + relDyn.size; at += 16) {
      expect(Number(v.getBigUint64(at + 8, true) & 0xffffffffn)).toBe(R_BPF_64_32);
      relocated.add(Number(v.getBigUint64(at, true)));
    }
    let calls = 0;
    for (let at = text.offset; at < text.offset + text.size; at += 8) {
      if (elf[at] === 0x18) {
        // lddw resolved to MM_PROGRAM_START + an address inside the image.
        const value = BigInt(v.getUint32(at + 4, true)) | (BigInt(v.getUint32(at + 12, true)) << 32n);
        expect(value >= 0x1_0000_0000n && value < 0x1_0000_0000n + BigInt(elf.length)).toBe(true);
        at += 8;
      }
      if (elf[at] !== 0x85) continue;
      calls++;
      const imm = v.getInt32(at + 4, true);
      if (relocated.has(at)) expect(imm).toBe(-1);
      else {
        const target = (at - text.offset) / 8 + imm + 1;
        expect(target >= 0 && target < text.size / 8).toBe(true);
      }
    }
    expect(calls).toBeGreaterThanOrEqual(5);
    expect(relocated.size).toBe(3);
  });

  it('is deterministic: the same object links to the same bytes', () => {
    const object = compile('good2', GOOD);
    expect(Buffer.from(linkSbf(object).elf).equals(Buffer.from(linkSbf(object).elf))).toBe(true);
  });

  it('resolves pointers stored in read-only data (R_BPF_64_ABS64) to program addresses', () => {
    const { elf } = linkSbf(compile('abs64', GOOD));
    const rodata = sectionByName(elf, '.rodata');
    const v = view(elf);
    const pointers: bigint[] = [];
    for (let at = rodata.offset; at + 8 <= rodata.offset + rodata.size; at += 8) {
      const value = v.getBigUint64(at, true);
      if (value >= 0x1_0000_0000n && value < 0x1_0000_0000n + BigInt(elf.length)) pointers.push(value);
    }
    const strings = pointers.map((p) => {
      const at = Number(p - 0x1_0000_0000n);
      return Buffer.from(elf.subarray(at, elf.indexOf(0, at))).toString();
    });
    expect(strings).toEqual(expect.arrayContaining(['alpha', 'beta']));
  });

  it('moves the callx register from dst to imm, where SBPF v0 reads it', () => {
    const object = compile('callx', 'u64 entrypoint(const unsigned char *input) { u64 (*f)(void) = (u64 (*)(void))(*(const u64 *)input); return f(); }');
    const rel = parseElfObject(object);
    const textIn = rel.sections.find((s) => s.name === '.text')!;
    const before = object.subarray(textIn.offset, textIn.offset + textIn.size);
    const callAt = [...Array(before.length / 8).keys()].map((i) => i * 8).find((at) => before[at] === 0x8d)!;
    const register = before[callAt + 1]! & 0x0f;
    expect(register).toBeGreaterThan(0);
    const { elf } = linkSbf(object);
    const text = sectionByName(elf, '.text');
    const at = text.offset + callAt;
    expect(elf[at]).toBe(0x8d);
    expect(elf[at + 1]).toBe(0);
    expect(view(elf).getInt32(at + 4, true)).toBe(register);
  });

  it('rejects writable globals (.data) and zero-initialised globals (.bss)', () => {
    expectCode(() => linkSbf(compile('data', 'u64 counter = 5; u64 entrypoint(const unsigned char *i) { counter += *i; return counter; }')), COORDINATOR_LINKER_UNSUPPORTED_SECTION);
    expectCode(() => linkSbf(compile('bss', 'u64 counter; u64 entrypoint(const unsigned char *i) { counter += *i; return counter; }')), COORDINATOR_LINKER_UNSUPPORTED_SECTION);
  });

  it('rejects JMP32 instructions (emitted by -mcpu=v3)', () => {
    const flags = SBF_CLANG_FLAGS.map((f) => (f === '-mcpu=v2' ? '-mcpu=v3' : f));
    const object = compile('jmp32', 'u64 entrypoint(const unsigned char *i) { unsigned int x = *(const unsigned int *)i; if (x > 7) sol_log_("big", 3); return 0; }', flags);
    expectCode(() => linkSbf(object), COORDINATOR_LINKER_UNSUPPORTED_INSTRUCTION);
  });

  it('rejects atomic instructions', () => {
    const object = compile('atomic', 'u64 entrypoint(unsigned char *i) { __sync_fetch_and_add((u64 *)i, 1); return 0; }');
    expectCode(() => linkSbf(object), COORDINATOR_LINKER_UNSUPPORTED_INSTRUCTION);
  });

  it('rejects calls to undefined names that are not syscalls, and a missing entrypoint', () => {
    const object = compile('undef', 'extern u64 memcpy_like(u64); u64 entrypoint(const unsigned char *i) { return memcpy_like(*i); }');
    expectCode(() => linkSbf(object), COORDINATOR_LINKER_UNDEFINED_SYMBOL);
    expectCode(() => linkSbf(compile('noentry', 'u64 main_fn(const unsigned char *i) { return *i; }')), COORDINATOR_LINKER_MISSING_ENTRYPOINT);
  });

  it('rejects malformed and truncated objects with a coded error, never a crash', () => {
    const object = compile('fuzz', GOOD);
    expectCode(() => linkSbf(new Uint8Array(10)), COORDINATOR_LINKER_MALFORMED_OBJECT);
    expectCode(() => linkSbf(object.subarray(0, object.length - 100)), COORDINATOR_LINKER_MALFORMED_OBJECT);
    // Section names hold non-UTF-8 bytes: the linker's code, not the core decoder's.
    const names = parseElfObject(object).sections.find((s) => s.name === '.strtab')!;
    const badName = object.slice();
    badName[names.offset + 1] = 0xff;
    expectCode(() => linkSbf(badName), COORDINATOR_LINKER_MALFORMED_OBJECT);
    // Most cuts end before the section headers (at the end of the file); `whole` keeps the length
    // so that corruptions of every field of a complete object are reached too.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: object.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: object.length }), fc.boolean(), (at, value, cut, whole) => {
        const corrupt = object.slice(0, whole ? object.length : Math.max(cut, 64));
        if (at < corrupt.length) corrupt[at] = value;
        try {
          const { elf } = linkSbf(corrupt);
          // A corruption the linker accepts must still give a shared BPF object.
          expect([view(elf).getUint16(16, true), view(elf).getUint16(18, true)]).toEqual([3, 247]);
        } catch (e) {
          if (!isPsycheError(e)) throw e;
          // Only the linker's own codes: a core code (say, bad UTF-8 in a name) means a check is missing.
          expect(LINKER_CODES, e.message).toContain(e.code);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });

  it('options of the wrong type from a JS caller are coded errors, not the TypeError a template literal or .length threw', () => {
    const object = compile('good-options', GOOD);
    const hostile = [{ toString: null }, Symbol('s')] as unknown[];
    for (const bad of hostile) {
      // An entry name that is not a string is missing, as any unknown name is.
      expectCode(() => linkSbf(object, { entrypoint: bad as string }), COORDINATOR_LINKER_MISSING_ENTRYPOINT);
      expectCode(() => linkSbf(object, { isSyscall: bad as (name: string) => boolean }), COORDINATOR_INVALID_CONFIG);
      expectCode(() => linkSbf({ length: bad } as unknown as Uint8Array), COORDINATOR_LINKER_MALFORMED_OBJECT);
      expectCode(() => buildSbfProgram({ sources: [bad as string] }), COORDINATOR_INVALID_CONFIG);
      expectCode(() => buildSbfProgram({ sources: bad as string[] }), COORDINATOR_INVALID_CONFIG);
      expectCode(() => buildSbfProgram({ sources: [], includeDirs: [bad as string] }), COORDINATOR_INVALID_CONFIG);
      expectCode(() => buildSbfProgram({ sources: [], defines: [bad as string] }), COORDINATOR_INVALID_CONFIG);
      expectCode(() => buildSbfProgram({ sources: [], clang: bad as string }), COORDINATOR_INVALID_CONFIG);
    }
  });

  it('reports compiler errors from the build driver with a coded error', () => {
    const c = join(dir, 'broken.c');
    writeFileSync(c, 'this is not C');
    expectCode(() => buildSbfProgram({ sources: [c] }), COORDINATOR_BUILD_FAILED);
  });
});

function sectionByName(elf: Uint8Array, name: string): { offset: number; size: number } {
  const v = view(elf);
  const shoff = Number(v.getBigUint64(40, true));
  const shnum = v.getUint16(60, true);
  const strtabAt = Number(v.getBigUint64(shoff + v.getUint16(62, true) * 64 + 24, true));
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * 64;
    const nameAt = strtabAt + v.getUint32(at, true);
    const found = Buffer.from(elf.subarray(nameAt, elf.indexOf(0, nameAt))).toString();
    if (found === name) return { offset: Number(v.getBigUint64(at + 24, true)), size: Number(v.getBigUint64(at + 32, true)) };
  }
  throw new Error(`no section ${name}`);
}
