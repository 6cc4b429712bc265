import {
  COORDINATOR_INVALID_CONFIG,
  COORDINATOR_LINKER_MALFORMED_OBJECT,
  COORDINATOR_LINKER_MISSING_ENTRYPOINT,
  COORDINATOR_LINKER_UNDEFINED_SYMBOL,
  COORDINATOR_LINKER_UNSUPPORTED_INSTRUCTION,
  COORDINATOR_LINKER_UNSUPPORTED_RELOCATION,
  COORDINATOR_LINKER_UNSUPPORTED_SECTION,
  PsycheError,
  describeValue,
  utf8Encode,
} from '@psyche/core';
import {
  EM_BPF,
  ET_DYN,
  R_BPF_64_32,
  R_BPF_64_64,
  R_BPF_64_ABS64,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHF_WRITE,
  SHN_UNDEF,
  SHT_DYNAMIC,
  SHT_DYNSYM,
  SHT_NOBITS,
  SHT_PROGBITS,
  SHT_REL,
  SHT_STRTAB,
  parseElfObject,
  type ElfObject,
  type ElfSection,
  type ElfSymbol,
} from './elf-object.ts';

/** Where the SBF virtual machine maps the program image (solana-sbpf `ebpf::MM_RODATA_START`). */
export const MM_PROGRAM_START = 0x1_0000_0000n;

export interface LinkOptions {
  /** Name of the entry function; the runtime calls it with the serialized input. */
  readonly entrypoint?: string;
  /** Undefined call targets accepted as syscalls (resolved by name hash at load time). */
  readonly isSyscall?: (name: string) => boolean;
}

export interface LinkResult {
  readonly elf: Uint8Array;
  /** Syscalls the program imports, in first-use order. */
  readonly syscalls: readonly string[];
  readonly textSize: number;
  readonly rodataSize: number;
}

const defaultIsSyscall = (name: string): boolean => /^sol_[a-z0-9_]+$/.test(name) || name === 'abort';

const INSN = 8;
const BPF_CLASS_JMP32 = 0x06;
const BPF_CLASS_STX = 0x03;
const BPF_MODE_ATOMIC = 0xc0;
const OPC_CALL_IMM = 0x85;
const OPC_CALL_REG = 0x8d;
const OPC_LDDW = 0x18;

function unsupportedInstruction(opcode: number, offset: number, reason: string): PsycheError {
  return new PsycheError(
    COORDINATOR_LINKER_UNSUPPORTED_INSTRUCTION,
    { opcode, offset, reason },
    `instruction 0x${opcode.toString(16)} at text offset ${offset}: ${reason}`,
  );
}

function align(value: number, to: number): number {
  return to <= 1 ? value : Math.ceil(value / to) * to;
}

/** Sorts the object's allocated sections into text and read-only data; rejects what SBPF v0 cannot hold. */
function classifySections(object: ElfObject): { text: ElfSection[]; rodata: ElfSection[] } {
  const text: ElfSection[] = [];
  const rodata: ElfSection[] = [];
  for (const section of object.sections) {
    if (!(section.flags & SHF_ALLOC)) continue;
    if (section.size === 0 && section.type !== SHT_NOBITS) continue;
    if (section.type === SHT_NOBITS || section.flags & SHF_WRITE) {
      throw new PsycheError(
        COORDINATOR_LINKER_UNSUPPORTED_SECTION,
        { section: section.name, reason: 'writable or zero-initialised global data' },
        `section ${section.name}: SBPF v0 has no writable globals (.data/.bss); keep state in accounts, the stack or the heap`,
      );
    }
    if (section.type !== SHT_PROGBITS) {
      throw new PsycheError(
        COORDINATOR_LINKER_UNSUPPORTED_SECTION,
        { section: section.name, reason: `section type ${section.type}` },
        `section ${section.name}: unsupported allocated section type ${section.type}`,
      );
    }
    (section.flags & SHF_EXECINSTR ? text : rodata).push(section);
  }
  return { text, rodata };
}

/** Rejects instructions the SBPF v0 verifier does not know, and moves callx's register where v0 reads it. */
function checkAndRewriteText(text: Uint8Array): void {
  for (let at = 0; at < text.length; at += INSN) {
    const opcode = text[at]!;
    const cls = opcode & 7;
    if (cls === BPF_CLASS_JMP32) throw unsupportedInstruction(opcode, at, 'JMP32 class (compile with -mcpu=v2)');
    if (cls === BPF_CLASS_STX && (opcode & 0xe0) === BPF_MODE_ATOMIC) {
      throw unsupportedInstruction(opcode, at, 'atomic operation (SBPF has no atomics)');
    }
    if (opcode === OPC_CALL_REG) {
      // LLVM encodes `callx rN` with N in dst; SBPF v0 takes the register number from imm.
      const register = text[at + 1]! & 0x0f;
      text[at + 1] = 0;
      new DataView(text.buffer, text.byteOffset + at + 4, 4).setInt32(0, register, true);
    }
    if (opcode === OPC_LDDW) at += INSN; // second half of lddw carries only immediate bits
  }
}

class StringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;
  private readonly offsets = new Map<string, number>();
  add(name: string): number {
    const known = this.offsets.get(name);
    if (known !== undefined) return known;
    const offset = this.size;
    const bytes = utf8Encode(name);
    this.parts.push(bytes, new Uint8Array(1));
    this.size += bytes.length + 1;
    this.offsets.set(name, offset);
    return offset;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/**
 * Links one relocatable BPF object (clang-19 `-target bpf -mcpu=v2`) into an SBPF v0 shared object:
 * file offset == virtual address, text and read-only data in one R-X segment, dynamic tables in an R
 * segment, data relocations resolved statically to MM_PROGRAM_START + address, calls to defined
 * functions made pc-relative, calls to undefined names emitted as syscall relocations (R_BPF_64_32
 * against an undefined dynamic symbol) that the loader resolves by name. Deterministic: the same
 * object always gives the same bytes.
 */
export function linkSbf(objectBytes: Uint8Array, options: LinkOptions = {}): LinkResult {
  const entryName = options.entrypoint ?? 'entrypoint';
  const isSyscall = options.isSyscall ?? defaultIsSyscall;
  // Types first, from a JS caller: an entry name that is a symbol or {toString: null} in the message's
  // template literal, or a non-function isSyscall, threw a TypeError instead of a coded error.
  if (typeof entryName !== 'string') {
    throw new PsycheError(COORDINATOR_LINKER_MISSING_ENTRYPOINT, { symbol: describeValue(entryName) }, `entry function ${describeValue(entryName)} is not a name`);
  }
  if (typeof isSyscall !== 'function') {
    throw new PsycheError(COORDINATOR_INVALID_CONFIG, { field: 'isSyscall', reason: `expected a function, got ${describeValue(isSyscall)}` }, `isSyscall: expected a function, got ${describeValue(isSyscall)}`);
  }
  const object = parseElfObject(objectBytes);
  const { text, rodata } = classifySections(object);
  if (text.length === 0) {
    throw new PsycheError(COORDINATOR_LINKER_MISSING_ENTRYPOINT, { symbol: entryName }, 'object has no executable code');
  }

  // Layout: ELF header, 3 program headers, then text, rodata, dynamic tables, names, section headers.
  const PHDRS = 3;
  const textStart = align(64 + PHDRS * 56, 8);
  const placed = new Map<number, number>(); // input section index → output address
  let cursor = textStart;
  for (const section of text) {
    cursor = align(cursor, Math.max(8, section.addralign));
    placed.set(section.index, cursor);
    cursor += section.size;
  }
  const textEnd = align(cursor, 8);
  cursor = textEnd;
  for (const section of rodata) {
    cursor = align(cursor, Math.max(1, section.addralign));
    placed.set(section.index, cursor);
    cursor += section.size;
  }
  const rodataEnd = cursor;

  const image = new Uint8Array(rodataEnd);
  for (const section of [...text, ...rodata]) {
    image.set(object.bytes.subarray(section.offset, section.offset + section.size), placed.get(section.index)!);
  }
  const view = new DataView(image.buffer);

  const addressOf = (symbol: ElfSymbol): number => {
    const base = placed.get(symbol.sectionIndex);
    if (base === undefined) {
      throw new PsycheError(COORDINATOR_LINKER_UNDEFINED_SYMBOL, { symbol: symbol.name }, `symbol ${symbol.name || '(section)'} is not in text or rodata`);
    }
    return base + symbol.value;
  };
  const isText = (symbol: ElfSymbol): boolean => text.some((s) => s.index === symbol.sectionIndex);

  const syscalls: string[] = [];
  const syscallRelocations: { offset: number; name: string }[] = [];
  for (const [sectionIndex, relocations] of object.relocations) {
    const base = placed.get(sectionIndex);
    const target = object.sections[sectionIndex]!;
    if (base === undefined) continue; // debug info, BTF: not loaded
    for (const relocation of relocations) {
      const symbol = object.symbols[relocation.symbolIndex]!;
      const at = base + relocation.offset;
      const fail = (): never => {
        throw new PsycheError(
          COORDINATOR_LINKER_UNSUPPORTED_RELOCATION,
          { section: target.name, type: relocation.type, offset: relocation.offset },
          `${target.name}+${relocation.offset}: unsupported relocation type ${relocation.type} against ${symbol.name || '(section)'}`,
        );
      };
      if (relocation.offset + (relocation.type === R_BPF_64_64 ? 16 : 8) > target.size) fail();
      const undefinedSymbol = symbol.sectionIndex === SHN_UNDEF;
      if (undefinedSymbol && !(relocation.type === R_BPF_64_32 && isSyscall(symbol.name))) {
        throw new PsycheError(
          COORDINATOR_LINKER_UNDEFINED_SYMBOL,
          { symbol: symbol.name },
          `undefined symbol ${symbol.name}${relocation.type === R_BPF_64_32 ? ' (not a known syscall; memcpy/memset need -fno-builtin and sol_memcpy_)' : ''}`,
        );
      }
      if (relocation.type === R_BPF_64_64) {
        if (placed.get(sectionIndex) === undefined || !text.includes(target)) fail();
        if (isText(symbol)) {
          throw new PsycheError(
            COORDINATOR_LINKER_UNSUPPORTED_RELOCATION,
            { section: target.name, type: relocation.type, offset: relocation.offset },
            `${target.name}+${relocation.offset}: function pointer to ${symbol.name || '(text)'} is not supported`,
          );
        }
        // lddw: 64-bit value split over the imm fields of two instruction slots; REL keeps the addend there.
        const addend = view.getUint32(at + 4, true);
        const value = MM_PROGRAM_START + BigInt(addressOf(symbol) + addend);
        view.setUint32(at + 4, Number(value & 0xffffffffn), true);
        view.setUint32(at + 12, Number(value >> 32n), true);
      } else if (relocation.type === R_BPF_64_ABS64) {
        if (text.includes(target)) fail();
        if (isText(symbol)) fail();
        const addend = view.getBigUint64(at, true);
        view.setBigUint64(at, MM_PROGRAM_START + BigInt(addressOf(symbol)) + addend, true);
      } else if (relocation.type === R_BPF_64_32) {
        if (!text.includes(target) || image[at] !== OPC_CALL_IMM) fail();
        if (undefinedSymbol) {
          view.setInt32(at + 4, -1, true);
          image[at + 1] = 0;
          if (!syscalls.includes(symbol.name)) syscalls.push(symbol.name);
          syscallRelocations.push({ offset: at, name: symbol.name });
        } else {
          if (!isText(symbol)) fail();
          // For a section symbol the implicit addend in imm is (offset/8 − 1); for a function symbol it is −1.
          const targetPc = (addressOf(symbol) - textStart) / INSN + view.getInt32(at + 4, true) + 1;
          const pc = (at - textStart) / INSN;
          if (!Number.isInteger(targetPc) || targetPc < 0 || targetPc >= (textEnd - textStart) / INSN) fail();
          view.setInt32(at + 4, targetPc - pc - 1, true);
          image[at + 1] = (image[at + 1]! & 0x0f) | 0x10; // src=1: pc-relative call (not a syscall)
        }
      } else {
        fail();
      }
    }
  }
  checkAndRewriteText(image.subarray(textStart, textEnd));

  const entry = object.symbols.find((s) => s.name === entryName && s.sectionIndex !== SHN_UNDEF);
  if (!entry || !isText(entry)) {
    throw new PsycheError(COORDINATOR_LINKER_MISSING_ENTRYPOINT, { symbol: entryName }, `entry function ${entryName} not defined in text`);
  }

  // Dynamic tables.
  const dynstr = new StringTable();
  const dynsymBytes = new Uint8Array(24 * (1 + syscalls.length));
  const dynsymView = new DataView(dynsymBytes.buffer);
  syscalls.forEach((name, i) => {
    dynsymView.setUint32(24 * (i + 1), dynstr.add(name), true);
    dynsymBytes[24 * (i + 1) + 4] = 0x12; // STB_GLOBAL, STT_FUNC, undefined
  });
  const dynstrBytes = dynstr.bytes();
  const relBytes = new Uint8Array(16 * syscallRelocations.length);
  const relView = new DataView(relBytes.buffer);
  syscallRelocations.forEach(({ offset, name }, i) => {
    relView.setBigUint64(16 * i, BigInt(offset), true);
    relView.setBigUint64(16 * i + 8, (BigInt(syscalls.indexOf(name) + 1) << 32n) | BigInt(R_BPF_64_32), true);
  });

  const dynamicStart = align(rodataEnd, 8);
  const DYN_ENTRIES = relBytes.length > 0 ? 10 : 7;
  const dynsymStart = dynamicStart + DYN_ENTRIES * 16;
  const dynstrStart = dynsymStart + dynsymBytes.length;
  const relStart = align(dynstrStart + dynstrBytes.length, 8);
  const dynEnd = relStart + relBytes.length;
  const dynamic: [number, number][] = [
    [30, 4], // DT_FLAGS = DF_TEXTREL
    ...(relBytes.length > 0
      ? ([
          [17, relStart], // DT_REL
          [18, relBytes.length], // DT_RELSZ
          [19, 16], // DT_RELENT
        ] as [number, number][])
      : []),
    [6, dynsymStart], // DT_SYMTAB
    [11, 24], // DT_SYMENT
    [5, dynstrStart], // DT_STRTAB
    [10, dynstrBytes.length], // DT_STRSZ
    [22, 0], // DT_TEXTREL
    [0, 0], // DT_NULL
  ];
  if (dynamic.length !== DYN_ENTRIES) throw new PsycheError(COORDINATOR_LINKER_MALFORMED_OBJECT, { reason: 'dynamic table' }, 'internal: dynamic table size');

  const shstr = new StringTable();
  const shstrtabStart = dynEnd;
  const names = ['.text', '.rodata', '.dynamic', '.dynsym', '.dynstr', '.rel.dyn', '.shstrtab'].map((n) => shstr.add(n));
  const shstrBytes = shstr.bytes();
  const shoff = align(shstrtabStart + shstrBytes.length, 8);
  const hasRodata = rodataEnd > textEnd;
  type OutSection = [name: number, type: number, flags: number, addr: number, size: number, link: number, info: number, align: number, entsize: number];
  const outSections: OutSection[] = [[0, 0, 0, 0, 0, 0, 0, 0, 0], [names[0]!, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, textStart, textEnd - textStart, 0, 0, 8, 0]];
  if (hasRodata) outSections.push([names[1]!, SHT_PROGBITS, SHF_ALLOC, textEnd, rodataEnd - textEnd, 0, 0, 8, 0]);
  const dynstrIndex = outSections.length + 2;
  const dynsymIndex = outSections.length + 1;
  outSections.push(
    [names[2]!, SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, dynamicStart, DYN_ENTRIES * 16, dynstrIndex, 0, 8, 16],
    [names[3]!, SHT_DYNSYM, SHF_ALLOC, dynsymStart, dynsymBytes.length, dynstrIndex, 1, 8, 24],
    [names[4]!, SHT_STRTAB, SHF_ALLOC, dynstrStart, dynstrBytes.length, 0, 0, 1, 0],
  );
  if (relBytes.length > 0) outSections.push([names[5]!, SHT_REL, SHF_ALLOC, relStart, relBytes.length, dynsymIndex, 0, 8, 16]);
  outSections.push([names[6]!, SHT_STRTAB, 0, 0, shstrBytes.length, 0, 0, 1, 0]);

  const out = new Uint8Array(shoff + outSections.length * 64);
  const o = new DataView(out.buffer);
  out.set(image, 0);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // ELFCLASS64, LSB, EV_CURRENT, ELFOSABI_NONE
  o.setUint16(16, ET_DYN, true);
  o.setUint16(18, EM_BPF, true);
  o.setUint32(20, 1, true);
  o.setBigUint64(24, BigInt(addressOf(entry)), true);
  o.setBigUint64(32, 64n, true);
  o.setBigUint64(40, BigInt(shoff), true);
  o.setUint32(48, 0, true); // e_flags 0: SBPF v0
  o.setUint16(52, 64, true);
  o.setUint16(54, 56, true);
  o.setUint16(56, PHDRS, true);
  o.setUint16(58, 64, true);
  o.setUint16(60, outSections.length, true);
  o.setUint16(62, outSections.length - 1, true);
  const phdr = (i: number, type: number, flags: number, start: number, size: number, alignment: number): void => {
    const at = 64 + i * 56;
    o.setUint32(at, type, true);
    o.setUint32(at + 4, flags, true);
    o.setBigUint64(at + 8, BigInt(start), true);
    o.setBigUint64(at + 16, BigInt(start), true);
    o.setBigUint64(at + 24, BigInt(start), true);
    o.setBigUint64(at + 32, BigInt(size), true);
    o.setBigUint64(at + 40, BigInt(size), true);
    o.setBigUint64(at + 48, BigInt(alignment), true);
  };
  phdr(0, 1, 5, textStart, rodataEnd - textStart, 0x1000); // PT_LOAD R-X
  phdr(1, 1, 4, dynamicStart, dynEnd - dynamicStart, 0x1000); // PT_LOAD R
  phdr(2, 2, 6, dynamicStart, DYN_ENTRIES * 16, 8); // PT_DYNAMIC
  dynamic.forEach(([tag, value], i) => {
    o.setBigUint64(dynamicStart + i * 16, BigInt(tag), true);
    o.setBigUint64(dynamicStart + i * 16 + 8, BigInt(value), true);
  });
  out.set(dynsymBytes, dynsymStart);
  out.set(dynstrBytes, dynstrStart);
  out.set(relBytes, relStart);
  out.set(shstrBytes, shstrtabStart);
  outSections.forEach(([name, type, flags, addr, size, link, info, alignment, entsize], i) => {
    const at = shoff + i * 64;
    const fileOffset = type === SHT_STRTAB && flags === 0 ? shstrtabStart : addr;
    o.setUint32(at, name, true);
    o.setUint32(at + 4, type, true);
    o.setBigUint64(at + 8, BigInt(flags), true);
    o.setBigUint64(at + 16, BigInt(addr), true);
    o.setBigUint64(at + 24, BigInt(fileOffset), true);
    o.setBigUint64(at + 32, BigInt(size), true);
    o.setUint32(at + 40, link, true);
    o.setUint32(at + 44, info, true);
    o.setBigUint64(at + 48, BigInt(alignment), true);
    o.setBigUint64(at + 56, BigInt(entsize), true);
  });
  return { elf: out, syscalls, textSize: textEnd - textStart, rodataSize: rodataEnd - textEnd };
}
