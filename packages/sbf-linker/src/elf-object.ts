import { COORDINATOR_LINKER_MALFORMED_OBJECT, PsycheError, describeValue, utf8Decode } from '@psyche/core';

/** ELF constants used by the linker (System V gABI, "ELF-64 Object File Format"). */
export const EM_BPF = 247;
export const ET_REL = 1;
export const ET_DYN = 3;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNAMIC = 6;
export const SHT_DYNSYM = 11;
export const SHF_WRITE = 1;
export const SHF_ALLOC = 2;
export const SHF_EXECINSTR = 4;
export const SHN_UNDEF = 0;
/** BPF relocation types (LLVM `BPFELFObjectWriter`, kernel Documentation/bpf/llvm_reloc.rst). */
export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_ABS64 = 2;
export const R_BPF_64_ABS32 = 3;
export const R_BPF_64_NODYLD32 = 4;
export const R_BPF_64_32 = 10;

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

export interface ElfSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** STB_* (st_info >> 4). */
  readonly bind: number;
  /** STT_* (st_info & 15). */
  readonly type: number;
  readonly sectionIndex: number;
}

export interface ElfRelocation {
  readonly offset: number;
  readonly type: number;
  readonly symbolIndex: number;
}

export interface ElfObject {
  readonly bytes: Uint8Array;
  readonly sections: readonly ElfSection[];
  readonly symbols: readonly ElfSymbol[];
  /** Relocations keyed by the index of the section they patch. */
  readonly relocations: ReadonlyMap<number, readonly ElfRelocation[]>;
}

function malformed(reason: string): PsycheError {
  return new PsycheError(COORDINATOR_LINKER_MALFORMED_OBJECT, { reason }, `malformed BPF object: ${reason}`);
}

/** Reads a 64-bit little-endian field that must fit in a JS number (object files here are small). */
function u64(view: DataView, offset: number): number {
  const value = view.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`64-bit field at ${offset} is too large`);
  return Number(value);
}

function cString(bytes: Uint8Array, table: ElfSection | undefined, offset: number): string {
  if (!table) throw malformed('string table missing');
  if (offset >= table.size) throw malformed(`string offset ${offset} outside its table`);
  const start = table.offset + offset;
  let end = start;
  const limit = table.offset + table.size;
  while (end < limit && bytes[end] !== 0) end++;
  if (end === limit) throw malformed('unterminated string');
  try {
    return utf8Decode(bytes.subarray(start, end));
  } catch {
    throw malformed(`name at string offset ${offset} is not UTF-8`);
  }
}

/**
 * Parses a relocatable 64-bit little-endian BPF ELF object (what `clang -target bpf -c` writes).
 * Every offset and size is bounds-checked; hostile input yields COORDINATOR_LINKER_MALFORMED_OBJECT.
 */
export function parseElfObject(bytes: Uint8Array): ElfObject {
  // instanceof first: `bytes.length < 64` on a JS caller's {length: {toString: null}} threw a TypeError.
  if (!(bytes instanceof Uint8Array)) throw malformed(`expected Uint8Array, got ${describeValue(bytes)}`);
  if (bytes.length < 64) throw malformed(`file of ${bytes.length} bytes is shorter than an ELF header`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw malformed('bad ELF magic');
  if (bytes[4] !== 2 || bytes[5] !== 1) throw malformed('expected ELFCLASS64, little endian');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(16, true) !== ET_REL) throw malformed('expected a relocatable object (ET_REL)');
  if (view.getUint16(18, true) !== EM_BPF) throw malformed(`expected e_machine EM_BPF (247), got ${view.getUint16(18, true)}`);
  const shoff = u64(view, 40);
  const shentsize = view.getUint16(58, true);
  const shnum = view.getUint16(60, true);
  const shstrndx = view.getUint16(62, true);
  if (shentsize !== 64) throw malformed(`section header size ${shentsize}, expected 64`);
  if (shoff + shnum * 64 > bytes.length) throw malformed('section headers run past the end of the file');
  if (shstrndx >= shnum) throw malformed('section name table index out of range');

  const raw = Array.from({ length: shnum }, (_, index) => {
    const at = shoff + index * 64;
    const section = {
      index,
      nameOffset: view.getUint32(at, true),
      type: view.getUint32(at + 4, true),
      flags: u64(view, at + 8),
      offset: u64(view, at + 24),
      size: u64(view, at + 32),
      link: view.getUint32(at + 40, true),
      info: view.getUint32(at + 44, true),
      addralign: u64(view, at + 48),
      entsize: u64(view, at + 56),
    };
    if (section.type !== SHT_NOBITS && section.offset + section.size > bytes.length) {
      throw malformed(`section ${index} runs past the end of the file`);
    }
    return section;
  });
  const names = raw[shstrndx] as ElfSection | undefined;
  const sections: ElfSection[] = raw.map(({ nameOffset, ...rest }) => ({
    ...rest,
    name: index0(rest.index) ? '' : cString(bytes, names, nameOffset),
  }));

  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  const symbols: ElfSymbol[] = [];
  if (symtab) {
    if (symtab.entsize !== 24 || symtab.size % 24 !== 0) throw malformed('symbol table entries must be 24 bytes');
    const strtab = sections[symtab.link];
    for (let at = symtab.offset; at < symtab.offset + symtab.size; at += 24) {
      const info = bytes[at + 4]!;
      const sectionIndex = view.getUint16(at + 6, true);
      symbols.push({
        name: cString(bytes, strtab, view.getUint32(at, true)),
        bind: info >> 4,
        type: info & 15,
        sectionIndex,
        value: u64(view, at + 8),
        size: u64(view, at + 16),
      });
    }
  }

  const relocations = new Map<number, ElfRelocation[]>();
  for (const section of sections) {
    if (section.type === 4) throw malformed(`RELA section ${section.name} (BPF objects use REL)`);
    if (section.type !== SHT_REL) continue;
    if (section.entsize !== 16 || section.size % 16 !== 0) throw malformed(`${section.name}: entries must be 16 bytes`);
    if (section.info >= sections.length) throw malformed(`${section.name}: target section out of range`);
    const list: ElfRelocation[] = [];
    for (let at = section.offset; at < section.offset + section.size; at += 16) {
      const info = view.getBigUint64(at + 8, true);
      const symbolIndex = Number(info >> 32n);
      if (symbolIndex >= symbols.length) throw malformed(`${section.name}: symbol index ${symbolIndex} out of range`);
      list.push({ offset: u64(view, at), type: Number(info & 0xffffffffn), symbolIndex });
    }
    relocations.set(section.info, list);
  }
  return { bytes, sections, symbols, relocations };
}

function index0(index: number): boolean {
  return index === 0;
}
