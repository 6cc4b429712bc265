import type { TokenArray } from './token-dtype.ts';

/**
 * The WebAssembly module behind the fast token-range check, assembled here byte by byte so it needs
 * no toolchain. Its text form (wabt's `wat2wasm --enable-simd` gives exactly these bytes):
 *
 *   (module
 *     (memory (export "memory") 17)                       ;; 16 bytes of result + a 1 MiB block
 *     (func (export "maxU16") (param $ptr i32) (param $end i32)
 *       (local $acc v128)
 *       (block $done (loop $next
 *         (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
 *         (local.set $acc (i16x8.max_u (local.get $acc) (v128.load (local.get $ptr))))
 *         (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
 *         (br $next)))
 *       (v128.store (i32.const 0) (local.get $acc)))
 *     (func (export "maxU32") ...the same with i32x4.max_u...))
 *
 * Lane-wise unsigned max over [ptr, end) (a multiple of 16 bytes), stored at address 0; the caller
 * reduces the lanes. One v128 per iteration is ~0.04 ns/token here; copying the block in dominates.
 */
function maxFunctionBody(maxOpcode: readonly number[]): number[] {
  const code = [
    0x01, 0x01, 0x7b, // one local: v128 $acc (zero-initialised)
    0x02, 0x40, // block $done
    0x03, 0x40, // loop $next
    0x20, 0x00, 0x20, 0x01, 0x4f, 0x0d, 0x01, // br_if $done (i32.ge_u $ptr $end)
    0x20, 0x02, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, // $acc, v128.load align=16 offset=0 ($ptr)
    0xfd, ...maxOpcode, 0x21, 0x02, // max lane-wise, local.set $acc
    0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, // $ptr += 16
    0x0c, 0x00, // br $next
    0x0b, 0x0b, // end loop, end block
    0x41, 0x00, 0x20, 0x02, 0xfd, 0x0b, 0x04, 0x00, // v128.store (i32.const 0) $acc
    0x0b, // end function
  ];
  return [code.length, ...code];
}

function section(id: number, content: number[]): number[] {
  return [id, content.length, ...content];
}

const ascii = (text: string): number[] => [text.length, ...Array.from(text, (char) => char.charCodeAt(0))];

const I16X8_MAX_U = [0x99, 0x01];
const I32X4_MAX_U = [0xb9, 0x01];
/** Pages of 64 KiB: result slot + BLOCK_BYTES. */
const MEMORY_PAGES = 17;
const BLOCK_BYTES = 1 << 20;
const DATA_START = 16;

export function simdTokenScanModuleBytes(): Uint8Array {
  const u16Body = maxFunctionBody(I16X8_MAX_U);
  const u32Body = maxFunctionBody(I32X4_MAX_U);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
    ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x00]), // type 0: (i32, i32) -> ()
    ...section(3, [0x02, 0x00, 0x00]), // two functions of type 0
    ...section(5, [0x01, 0x00, MEMORY_PAGES]), // one memory, min 17 pages, no max
    ...section(7, [0x03, ...ascii('memory'), 0x02, 0x00, ...ascii('maxU16'), 0x00, 0x00, ...ascii('maxU32'), 0x00, 0x01]),
    ...section(10, [0x02, ...u16Body, ...u32Body]),
  ]);
}

interface Scanner {
  memoryBytes: Uint8Array;
  lanesU16: Uint16Array;
  lanesU32: Uint32Array;
  maxU16(ptr: number, end: number): void;
  maxU32(ptr: number, end: number): void;
}

/** The part of the WebAssembly JS API used here (the ES2023 lib this repo compiles against has no DOM/wasm types). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

export function webAssemblyApi(): WebAssemblyApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;
}

let scanner: Scanner | null | undefined;

/** The instantiated module, or null where WebAssembly SIMD is unavailable (the plain loop is used then). */
function loadScanner(): Scanner | null {
  if (scanner !== undefined) return scanner;
  try {
    const wasm = webAssemblyApi();
    if (wasm === undefined) throw new Error('no WebAssembly');
    const instance = new wasm.Instance(new wasm.Module(simdTokenScanModuleBytes()));
    const exports = instance.exports as unknown as { memory: { buffer: ArrayBuffer }; maxU16: Scanner['maxU16']; maxU32: Scanner['maxU32'] };
    // The memory never grows, so these views stay attached.
    scanner = {
      memoryBytes: new Uint8Array(exports.memory.buffer),
      lanesU16: new Uint16Array(exports.memory.buffer, 0, 8),
      lanesU32: new Uint32Array(exports.memory.buffer, 0, 4),
      maxU16: exports.maxU16,
      maxU32: exports.maxU32,
    };
  } catch {
    scanner = null;
  }
  return scanner;
}

export function simdTokenScanAvailable(): boolean {
  return loadScanner() !== null;
}

/**
 * The largest token of `tokens` (0 for none), computed 1 MiB at a time with WebAssembly SIMD, or
 * undefined where SIMD is unavailable. Synchronous, so one module instance serves the whole thread.
 */
export function maxTokenSimd(tokens: TokenArray): number | undefined {
  const simd = loadScanner();
  if (simd === null) return undefined;
  const wide = tokens instanceof Uint32Array;
  const bytes = new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);
  let max = 0;
  for (let start = 0; start < bytes.length; start += BLOCK_BYTES) {
    const length = Math.min(BLOCK_BYTES, bytes.length - start);
    const vectorBytes = length - (length % 16);
    simd.memoryBytes.set(bytes.subarray(start, start + vectorBytes), DATA_START);
    if (wide) {
      simd.maxU32(DATA_START, DATA_START + vectorBytes);
      for (const lane of simd.lanesU32) if (lane > max) max = lane;
    } else {
      simd.maxU16(DATA_START, DATA_START + vectorBytes);
      for (const lane of simd.lanesU16) if (lane > max) max = lane;
    }
    // The last < 16 bytes (a few tokens) in plain JavaScript.
    const width = wide ? 4 : 2;
    for (let i = (start + vectorBytes) / width; i < (start + length) / width; i++) if (tokens[i]! > max) max = tokens[i]!;
  }
  return max;
}
