/**
 * @packageDocumentation
 * An SBPF v0 linker and build driver: stock clang-19 (`-target bpf -mcpu=v2`) compiles C, this
 * package turns the relocatable object into a shared object the Solana runtime loads.
 */
export * from './elf-object.ts';
export * from './link-sbf.ts';
export * from './build-sbf-program.ts';
