import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendTransactionMessageInstruction,
  createTransactionMessage,
  generateKeyPairSigner,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  signTransactionMessageWithSigners,
} from '@solana/kit';
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
import { afterAll, describe, expect, it } from 'vitest';
import { SBF_CLANG_FLAGS, linkSbf } from '../index.ts';

// The linked object must not only look right: the Agave loader inside LiteSVM must accept it and
// its relocations must hold at run time (rodata pointers, lddw addresses, internal calls, syscalls).
const dir = mkdtempSync(join(tmpdir(), 'sbf-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SOURCE = `typedef unsigned long u64;
extern void sol_log_(const char *, u64);
extern void sol_log_64_(u64, u64, u64, u64, u64);
static const char *const names[] = {"alpha", "bravo", "charlie"};
static const u64 table[4] = {11, 22, 33, 44};
__attribute__((noinline)) static u64 fib(u64 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
__attribute__((noinline)) u64 pick(u64 n) { return table[n & 3]; }
u64 entrypoint(const unsigned char *input) {
  u64 accounts = *(const u64 *)input;
  sol_log_(names[accounts % 3], 5);
  sol_log_64_(fib(10), pick(2), accounts, 0, 0);
  return accounts == 0 ? 0 : 7001;
}`;

describe('linked programs run in the SVM', () => {
  it('loads in LiteSVM and executes relocated data, calls and syscalls', async () => {
    const c = join(dir, 'p.c');
    const o = join(dir, 'p.o');
    writeFileSync(c, SOURCE);
    execFileSync('clang-19', [...SBF_CLANG_FLAGS, '-c', c, '-o', o]);
    const { elf } = linkSbf(readFileSync(o));
    const svm = new LiteSVM();
    const program = (await generateKeyPairSigner()).address;
    svm.addProgram(program, elf);
    const payer = await generateKeyPairSigner();
    svm.airdrop(payer.address, lamports(1_000_000_000n));
    const send = async (accounts: number) => {
      const extra = await Promise.all(Array.from({ length: accounts }, () => generateKeyPairSigner()));
      const message = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(payer, m),
        (m) => svm.setTransactionMessageLifetimeUsingLatestBlockhash(m),
        (m) => appendTransactionMessageInstruction({ programAddress: program, accounts: extra.map((e) => ({ address: e.address, role: 0 })), data: new Uint8Array() }, m),
      );
      const result = svm.sendTransaction(await signTransactionMessageWithSigners(message));
      svm.expireBlockhash();
      return result;
    };
    const ok = await send(0);
    expect(ok).not.toBeInstanceOf(FailedTransactionMetadata);
    const logs = (ok as { logs(): string[] }).logs().join('\n');
    expect(logs).toContain('Program log: alpha');
    expect(logs).toContain('Program log: 0x37, 0x21, 0x0, 0x0, 0x0'); // fib(10)=55, table[2]=33
    const failed = await send(1);
    expect(failed).toBeInstanceOf(FailedTransactionMetadata);
    expect((failed as FailedTransactionMetadata).meta().logs().join('\n')).toContain('Program log: bravo');
    expect((failed as FailedTransactionMetadata).err().toString()).toContain('7001');
  });
});
