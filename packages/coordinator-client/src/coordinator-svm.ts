import { readFileSync } from 'node:fs';
import { getCreateAccountInstruction } from '@solana-program/system';
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  generateKeyPairSigner,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  signTransactionMessageWithSigners,
  type Address,
  type Instruction,
  type KeyPairSigner,
} from '@solana/kit';
import { Clock, FailedTransactionMetadata, LiteSVM } from 'litesvm';
import { COORDINATOR_PROGRAM_PATH } from './program-build.ts';
import { COORDINATOR_PROGRAM_ADDRESS } from './program-address.ts';
import { RUN_ACCOUNT_SIZE } from './run-account.ts';

/** Outcome of one transaction in LiteSVM. */
export interface SvmSendResult {
  readonly ok: boolean;
  /** Custom program error code of the failing instruction, when there is one. */
  readonly code?: number;
  /** Text of any failure. */
  readonly error?: string;
  readonly logs: readonly string[];
  readonly computeUnits: bigint;
  readonly returnData: Uint8Array;
}

/** Pulls the Custom(n) code out of LiteSVM's error objects. */
export function customCodeOf(failure: FailedTransactionMetadata): number | undefined {
  const err = failure.err() as unknown as { err?: () => unknown };
  if (typeof err?.err !== 'function') return undefined;
  const inner = err.err() as { code?: unknown };
  return typeof inner === 'object' && inner !== null && typeof inner.code === 'number' ? inner.code : undefined;
}

/**
 * LiteSVM with the coordinator program loaded: the real SVM (Agave's runtime) executing the real
 * .so, in-process. The localnet serves this over JSON-RPC; tests and benchmarks use it directly.
 */
export class CoordinatorSvm {
  readonly svm: LiteSVM;
  readonly programAddress: Address;
  readonly payer: KeyPairSigner;

  private constructor(svm: LiteSVM, programAddress: Address, payer: KeyPairSigner) {
    this.svm = svm;
    this.programAddress = programAddress;
    this.payer = payer;
  }

  static async create(options: { programPath?: string; programAddress?: Address; svm?: LiteSVM } = {}): Promise<CoordinatorSvm> {
    const programAddress = options.programAddress ?? COORDINATOR_PROGRAM_ADDRESS;
    const svm = options.svm ?? new LiteSVM();
    if (!options.svm) svm.addProgram(programAddress, readFileSync(options.programPath ?? COORDINATOR_PROGRAM_PATH));
    const payer = await generateKeyPairSigner();
    svm.airdrop(payer.address, lamports(1_000_000_000_000n));
    return new CoordinatorSvm(svm, programAddress, payer);
  }

  /** Sets the clock sysvar's unix_timestamp (and advances the slot so time never runs backwards for slots). */
  setUnixTime(unixTimestamp: bigint): void {
    const clock = this.svm.getClock();
    this.svm.setClock(new Clock(clock.slot + 1n, clock.epochStartTimestamp, clock.epoch, clock.leaderScheduleEpoch, unixTimestamp));
  }

  get unixTime(): bigint {
    return this.svm.getClock().unixTimestamp;
  }

  async airdrop(address: Address, amount = 10_000_000_000n): Promise<void> {
    this.svm.airdrop(address, lamports(amount));
  }

  /** Signs with the payer and every signer embedded in the instructions' account metas, then executes. */
  async send(instructions: readonly Instruction[]): Promise<SvmSendResult> {
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(this.payer, m),
      (m) => this.svm.setTransactionMessageLifetimeUsingLatestBlockhash(m),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
    const transaction = await signTransactionMessageWithSigners(message);
    const outcome = this.svm.sendTransaction(transaction);
    // A fresh blockhash per transaction: identical instructions must not collide as duplicates.
    this.svm.expireBlockhash();
    if (outcome instanceof FailedTransactionMetadata) {
      const meta = outcome.meta();
      const code = customCodeOf(outcome);
      return {
        ok: false,
        ...(code === undefined ? {} : { code }),
        error: outcome.err().toString(),
        logs: meta.logs(),
        computeUnits: meta.computeUnitsConsumed(),
        returnData: meta.returnData().data(),
      };
    }
    return { ok: true, logs: outcome.logs(), computeUnits: outcome.computeUnitsConsumed(), returnData: outcome.returnData().data() };
  }

  /** Creates a program-owned, zeroed run account (System createAccount), ready for InitializeRun. */
  async createRunAccount(space = RUN_ACCOUNT_SIZE): Promise<KeyPairSigner> {
    const run = await generateKeyPairSigner();
    const result = await this.send([
      getCreateAccountInstruction({
        payer: this.payer,
        newAccount: run,
        lamports: lamports(this.svm.minimumBalanceForRentExemption(BigInt(space))),
        space,
        programAddress: this.programAddress,
      }),
    ]);
    if (!result.ok) throw new Error(`createAccount failed: ${result.error}`);
    return run;
  }

  accountData(address: Address): Uint8Array | undefined {
    const account = this.svm.getAccount(address);
    return account.exists ? new Uint8Array(account.data) : undefined;
  }
}
