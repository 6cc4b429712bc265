import {
  COORDINATOR_PROGRAM_ERROR,
  COORDINATOR_INVALID_CONFIG,
  COORDINATOR_RPC_ERROR,
  COORDINATOR_TRANSACTION_FAILED,
  PsycheError,
  bytesEqual,
  type PsycheErrorCode,
  describeValue,
} from '@psyche/core';
import { getCreateAccountInstruction } from '@solana-program/system';
import {
  SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM,
  appendTransactionMessageInstructions,
  createDefaultRpcTransport,
  createSolanaRpcFromTransport,
  isJsonRpcPayload,
  createTransactionMessage,
  generateKeyPairSigner,
  getAddressEncoder,
  getBase64EncodedWireTransaction,
  isSolanaError,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
  type Instruction,
  type Rpc,
  type RpcSubscriptions,
  type RpcTransport,
  type SolanaRpcApi,
  type SolanaRpcSubscriptionsApi,
  type TransactionSigner,
} from '@solana/kit';
import { HashChain } from './hash-chain.ts';
import {
  AUTHORITY_INDEX,
  getCheckpointInstruction,
  getInitializeRunInstruction,
  getJoinRunInstruction,
  getKickInstruction,
  getPauseInstruction,
  getResumeInstruction,
  getTickInstruction,
  getUpdateConfigInstruction,
  getWarmupWitnessInstruction,
  getWithdrawInstruction,
  getWitnessInstruction,
  instructionName,
} from './instructions.ts';
import { COORDINATOR_PROGRAM_ADDRESS } from './program-address.ts';
import { ClientState, RUN_ACCOUNT_SIZE, RunState, currentRound, decodeRunAccount, type RunAccount } from './run-account.ts';
import { LOCATION_LEN, validateRunConfig, type RunConfig } from './run-config.ts';
import { dataAssignment, isWitness, type DataInterval } from './selection.ts';
import { createBoundedSolanaRpcSubscriptions } from './subscriptions-channel-internal.ts';
import { participantBloom } from './witness-bloom.ts';

/**
 * Default bound on one incoming WebSocket message. A run account notification is the base64 of
 * RUN_ACCOUNT_SIZE (45 080) bytes, about 60 KB of JSON; 1 MiB leaves 17x headroom while bounding
 * what a broken or hostile endpoint can make the client buffer.
 */
export const DEFAULT_MAX_SUBSCRIPTION_MESSAGE_BYTES = 1 << 20;
/** ws keeps its limit in an int32: a larger value would silently mean "no limit". */
const MAX_SUBSCRIPTION_MESSAGE_BYTES_CEILING = 2 ** 31 - 1;

export interface CoordinatorClientOptions {
  /** JSON-RPC endpoint (the localnet's `url`, solana-test-validator, devnet...). */
  readonly rpcUrl: string;
  /** WebSocket endpoint; derived from rpcUrl (http→ws) when absent. */
  readonly wsUrl?: string;
  /** Pays fees and rent. */
  readonly payer: TransactionSigner;
  readonly programAddress?: Address;
  /** How long to wait for a transaction to be confirmed. */
  readonly confirmTimeoutMs?: number;
  /** Deadline of each JSON-RPC request: a server that accepts and never answers is COORDINATOR_RPC_ERROR (default 30 000). */
  readonly requestTimeoutMs?: number;
  /**
   * Largest WebSocket message accepted from wsUrl (default DEFAULT_MAX_SUBSCRIPTION_MESSAGE_BYTES,
   * 1 MiB). A larger one is refused by the length its frame declares, before it is buffered: the
   * subscriptions on that connection fail with COORDINATOR_RPC_MESSAGE_TOO_LARGE and it is closed.
   */
  readonly maxSubscriptionMessageBytes?: number;
}

/** A client's place in the current round, computed locally with the program's own rules. */
export interface RoundRole {
  readonly step: bigint;
  readonly clientIndex: number;
  readonly isWitness: boolean;
  readonly data: DataInterval;
}

/** Wraps a transport so every request has a deadline (kit's default fetch waits as long as the server holds it). */
/** Node's timers hold at most 2^31 - 1 ms; a longer deadline would fire at once. */
const MAX_REQUEST_TIMEOUT_MS = 2 ** 31 - 1;

function transportWithDeadline(transport: RpcTransport, timeoutMs: number): RpcTransport {
  return (async <TResponse>(config: Parameters<RpcTransport>[0]) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = config.signal ? AbortSignal.any([config.signal, deadline]) : deadline;
    try {
      return await transport<TResponse>({ ...config, signal });
    } catch (e) {
      if (!deadline.aborted || config.signal?.aborted) throw e;
      const method = isJsonRpcPayload(config.payload) ? config.payload.method : 'batch';
      throw new PsycheError(COORDINATOR_RPC_ERROR, { method, reason: 'timeout' }, `${method}: no answer within ${timeoutMs} ms`, { cause: e });
    }
  }) as RpcTransport;
}

const keyOf = (a: Address): Uint8Array => new Uint8Array(getAddressEncoder().encode(a));
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** The program code a failed send carries, when the failure came from the coordinator. */
function programCodeOf(error: unknown): { code?: number; logs: readonly string[] } {
  let logs: readonly string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (isSolanaError(current)) {
      const ctx = current.context as { logs?: unknown };
      if (Array.isArray(ctx.logs)) logs = ctx.logs as string[];
      if (isSolanaError(current, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM)) return { code: Number(current.context.code), logs };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return { logs };
}

/**
 * The coordinator over any Solana JSON-RPC endpoint: run creation, membership, ticks, witness
 * submissions, checkpoints, and a subscription to the run account. Every call builds the same
 * instructions as the builders in instructions.ts; failures become PsycheErrors whose code is the
 * program's (COORDINATOR_PROGRAM_*, 8100-8199) when the program rejected the instruction.
 */
export class CoordinatorClient {
  readonly rpc: Rpc<SolanaRpcApi>;
  readonly rpcSubscriptions: RpcSubscriptions<SolanaRpcSubscriptionsApi>;
  readonly programAddress: Address;
  readonly payer: TransactionSigner;
  private readonly confirmTimeoutMs: number;

  constructor(options: CoordinatorClientOptions) {
    // Checked before use: a non-string URL threw a TypeError in replace, and a NaN timeout a RangeError from AbortSignal.timeout at every request.
    if (typeof options.rpcUrl !== 'string' || !/^https?:\/\//i.test(options.rpcUrl)) throw new PsycheError(COORDINATOR_INVALID_CONFIG, { field: 'rpcUrl', reason: 'not an http:// or https:// URL' }, `rpcUrl must be an http:// or https:// URL, got ${describeValue(options.rpcUrl)}`);
    const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs < 1 || requestTimeoutMs > MAX_REQUEST_TIMEOUT_MS) {
      throw new PsycheError(COORDINATOR_INVALID_CONFIG, { field: 'requestTimeoutMs', reason: `must be an integer in [1, ${MAX_REQUEST_TIMEOUT_MS}]` }, `requestTimeoutMs must be an integer in [1, ${MAX_REQUEST_TIMEOUT_MS}], got ${describeValue(requestTimeoutMs)}`);
    }
    this.rpc = createSolanaRpcFromTransport(transportWithDeadline(createDefaultRpcTransport({ url: options.rpcUrl }), requestTimeoutMs)) as Rpc<SolanaRpcApi>;
    const wsUrl = options.wsUrl ?? options.rpcUrl.replace(/^http/, 'ws');
    if (typeof wsUrl !== 'string' || !/^wss?:\/\//i.test(wsUrl)) throw new PsycheError(COORDINATOR_INVALID_CONFIG, { field: 'wsUrl', reason: 'not a ws:// or wss:// URL' }, `wsUrl must be a ws:// or wss:// URL, got ${describeValue(wsUrl)}`);
    const maxMessageBytes = options.maxSubscriptionMessageBytes ?? DEFAULT_MAX_SUBSCRIPTION_MESSAGE_BYTES;
    if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 1 || maxMessageBytes > MAX_SUBSCRIPTION_MESSAGE_BYTES_CEILING) {
      throw new PsycheError(COORDINATOR_INVALID_CONFIG, { field: 'maxSubscriptionMessageBytes', reason: `must be an integer in [1, ${MAX_SUBSCRIPTION_MESSAGE_BYTES_CEILING}]` }, `maxSubscriptionMessageBytes must be an integer in [1, ${MAX_SUBSCRIPTION_MESSAGE_BYTES_CEILING}], got ${describeValue(maxMessageBytes)}`);
    }
    this.rpcSubscriptions = createBoundedSolanaRpcSubscriptions(wsUrl, maxMessageBytes);
    this.programAddress = options.programAddress ?? COORDINATOR_PROGRAM_ADDRESS;
    this.payer = options.payer;
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? 30_000;
  }

  /** Signs (payer + every signer in the account metas), sends, waits for confirmation; returns the signature. */
  async send(instructions: readonly Instruction[]): Promise<string> {
    const label = instructions.map((i) => (i.programAddress === this.programAddress ? instructionName(i.data?.[0] ?? -1) : 'system')).join('+');
    const { value: blockhash } = await this.rpc.getLatestBlockhash().send();
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(this.payer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
    const transaction = await signTransactionMessageWithSigners(message);
    let signature: string;
    try {
      signature = await this.rpc.sendTransaction(getBase64EncodedWireTransaction(transaction), { encoding: 'base64', preflightCommitment: 'confirmed' }).send();
    } catch (e) {
      const { code, logs } = programCodeOf(e);
      if (code !== undefined && code >= 8100 && code <= 8199) {
        throw new PsycheError(code as PsycheErrorCode, { instruction: label, logs } as never, `${label}: program error ${code}: ${logs.filter((l) => l.startsWith('Program log:')).join(' ')}`, { cause: e });
      }
      if (code !== undefined) {
        throw new PsycheError(COORDINATOR_PROGRAM_ERROR, { programCode: code, instruction: label, logs }, `${label}: custom program error ${code}`, { cause: e });
      }
      throw new PsycheError(COORDINATOR_TRANSACTION_FAILED, { instruction: label, error: String(e), logs }, `${label} failed: ${String(e)}`, { cause: e });
    }
    await this.confirm(signature, label);
    return signature;
  }

  private async confirm(signature: string, label: string): Promise<void> {
    const deadline = Date.now() + this.confirmTimeoutMs;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const { value } = await this.rpc.getSignatureStatuses([signature as never]).send();
      const status = value[0];
      if (status?.err) throw new PsycheError(COORDINATOR_TRANSACTION_FAILED, { instruction: label, error: JSON.stringify(status.err, (_, v) => (typeof v === 'bigint' ? String(v) : v)), logs: [] }, `${label} failed on chain`);
      if (status && (status.confirmationStatus === 'confirmed' || status.confirmationStatus === 'finalized')) return;
      await sleep(Math.min(1000, 50 * 2 ** attempt));
    }
    throw new PsycheError(COORDINATOR_TRANSACTION_FAILED, { instruction: label, error: 'not confirmed in time', logs: [] }, `${label}: not confirmed within ${this.confirmTimeoutMs} ms`);
  }

  /** Creates the run account (program-owned, rent-exempt) and initializes it, in one transaction. */
  async createRun(options: { authority: TransactionSigner; config: RunConfig; runId: Uint8Array; runAccount?: TransactionSigner }): Promise<Address> {
    validateRunConfig(options.config);
    const runAccount = options.runAccount ?? (await generateKeyPairSigner());
    const rent = await this.rpc.getMinimumBalanceForRentExemption(BigInt(RUN_ACCOUNT_SIZE)).send();
    await this.send([
      getCreateAccountInstruction({ payer: this.payer, newAccount: runAccount, lamports: rent, space: RUN_ACCOUNT_SIZE, programAddress: this.programAddress }),
      getInitializeRunInstruction({ programAddress: this.programAddress, run: runAccount.address, authority: options.authority, runId: options.runId, config: options.config }),
    ]);
    return runAccount.address;
  }

  async fetchRun(run: Address): Promise<RunAccount> {
    const { value } = await this.rpc.getAccountInfo(run, { encoding: 'base64', commitment: 'confirmed' }).send();
    if (!value) throw new PsycheError(COORDINATOR_RPC_ERROR, { method: 'getAccountInfo', reason: `no account ${run}` }, `run account ${run} does not exist`);
    return decodeRunAccount(new Uint8Array(Buffer.from(value.data[0], 'base64')));
  }

  /** Joins (pending until the next warmup or round start); permissioned runs need the authority's co-signature. */
  joinRun(run: Address, client: TransactionSigner, chain: HashChain, authority?: TransactionSigner): Promise<string> {
    return this.send([getJoinRunInstruction({ programAddress: this.programAddress, run, client, commitment: chain.commitment, ...(authority ? { authority } : {}) })]);
  }
  withdraw(run: Address, client: TransactionSigner): Promise<string> {
    return this.send([getWithdrawInstruction({ programAddress: this.programAddress, run, client })]);
  }
  kick(run: Address, authority: TransactionSigner, client: Address): Promise<string> {
    return this.send([getKickInstruction({ programAddress: this.programAddress, run, authority, client })]);
  }
  pause(run: Address, authority: TransactionSigner): Promise<string> {
    return this.send([getPauseInstruction({ programAddress: this.programAddress, run, authority })]);
  }
  resume(run: Address, authority: TransactionSigner): Promise<string> {
    return this.send([getResumeInstruction({ programAddress: this.programAddress, run, authority })]);
  }
  updateConfig(run: Address, authority: TransactionSigner, config: RunConfig): Promise<string> {
    validateRunConfig(config);
    return this.send([getUpdateConfigInstruction({ programAddress: this.programAddress, run, authority, config })]);
  }
  /** Advances the state machine if its clock or submissions allow (anyone may tick). */
  tick(run: Address): Promise<string> {
    return this.send([getTickInstruction({ programAddress: this.programAddress, run })]);
  }

  /** Index of `client` in the run's current member list, or −1. */
  static clientIndex(account: RunAccount, client: Address): number {
    const key = keyOf(client);
    for (let i = 0; i < account.numClients; i++) if (bytesEqual(account.clients[i]!.key, key)) return i;
    return -1;
  }

  /** The client's index, witness duty and data interval in the current round (undefined outside rounds or membership). */
  static roundRole(account: RunAccount, client: Address): RoundRole | undefined {
    if (account.state !== RunState.RoundTrain && account.state !== RunState.RoundWitness) return undefined;
    const round = currentRound(account);
    const clientIndex = CoordinatorClient.clientIndex(account, client);
    if (clientIndex < 0 || clientIndex >= round.numClients || account.clients[clientIndex]!.state !== ClientState.Healthy) return undefined;
    return { step: round.step, clientIndex, isWitness: isWitness(clientIndex, round.numClients, round.witnessExpected, round.seed), data: dataAssignment(round, clientIndex) };
  }

  /** True when `client` is a warmup witness of the account's warmup. */
  static isWarmupWitness(account: RunAccount, client: Address): boolean {
    const index = CoordinatorClient.clientIndex(account, client);
    return account.state === RunState.Warmup && index >= 0 && isWitness(index, account.numClients, account.warmupWitnessExpected, account.seed);
  }

  /** Warmup witness: reveals the next link of the client's hash chain. */
  async submitWarmupWitness(run: Address, client: TransactionSigner, chain: HashChain, account?: RunAccount): Promise<string> {
    const state = account ?? (await this.fetchRun(run));
    const clientIndex = CoordinatorClient.clientIndex(state, client.address);
    const reveal = clientIndex >= 0 ? chain.revealFor(state.clients[clientIndex]!.chain) : undefined;
    return this.send([getWarmupWitnessInstruction({ programAddress: this.programAddress, run, client, clientIndex: Math.max(clientIndex, 0), reveal: reveal ?? new Uint8Array(32) })]);
  }

  /**
   * Round witness: the participants whose results it checked, and its vote (Merkle root of accepted
   * commitments). The participant Bloom filter the program checks is built from `account` unless given.
   */
  async submitWitness(
    run: Address,
    client: TransactionSigner,
    chain: HashChain,
    report: { participants: Iterable<number> | Uint8Array; resultRoot: Uint8Array; participantBloom?: Uint8Array },
    account?: RunAccount,
  ): Promise<string> {
    const state = account ?? (await this.fetchRun(run));
    const clientIndex = CoordinatorClient.clientIndex(state, client.address);
    const reveal = clientIndex >= 0 ? chain.revealFor(state.clients[clientIndex]!.chain) : undefined;
    // Read twice (bitmap and filter): a one-shot iterator must not run dry.
    const participants = report.participants instanceof Uint8Array ? report.participants : [...report.participants];
    return this.send([
      getWitnessInstruction({
        programAddress: this.programAddress,
        run,
        client,
        submission: {
          step: currentRound(state).step,
          clientIndex: Math.max(clientIndex, 0),
          reveal: reveal ?? new Uint8Array(32),
          participants,
          resultRoot: report.resultRoot,
          participantBloom: report.participantBloom ?? participantBloom(state, participants),
        },
      }),
    ]);
  }

  /** Records the epoch's checkpoint (in cooldown) by the authority or a member. */
  async submitCheckpoint(run: Address, signer: TransactionSigner, checkpoint: { hash: Uint8Array; location: string; asAuthority?: boolean }): Promise<string> {
    const location = new Uint8Array(LOCATION_LEN);
    location.set(new TextEncoder().encode(checkpoint.location).subarray(0, LOCATION_LEN));
    const clientIndex = checkpoint.asAuthority ? AUTHORITY_INDEX : CoordinatorClient.clientIndex(await this.fetchRun(run), signer.address);
    return this.send([getCheckpointInstruction({ programAddress: this.programAddress, run, signer, clientIndex: clientIndex < 0 ? AUTHORITY_INDEX : clientIndex, hash: checkpoint.hash, location })]);
  }

  /**
   * Calls `onChange` with the decoded run account now and on every change, until `signal` aborts.
   * Uses accountSubscribe (WebSocket); resolves when the subscription ends.
   */
  async subscribe(run: Address, onChange: (account: RunAccount) => void, options: { signal: AbortSignal }): Promise<void> {
    const notifications = await this.rpcSubscriptions.accountNotifications(run, { encoding: 'base64', commitment: 'confirmed' }).subscribe({ abortSignal: options.signal });
    onChange(await this.fetchRun(run));
    try {
      for await (const notification of notifications) {
        onChange(decodeRunAccount(new Uint8Array(Buffer.from(notification.value.data[0], 'base64'))));
      }
    } catch (e) {
      if (!options.signal.aborted) throw e;
    }
  }

  /** Resolves with the first run state satisfying `predicate` (checked now and on every change). */
  async waitFor(run: Address, predicate: (account: RunAccount) => boolean, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<RunAccount> {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), options.timeoutMs ?? 30_000);
    // Removed when done: a long-lived signal would otherwise gather one listener per call.
    const onAbort = (): void => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let found: RunAccount | undefined;
    try {
      await this.subscribe(run, (account) => {
        if (!found && predicate(account)) {
          found = account;
          controller.abort();
        }
      }, { signal: controller.signal });
    } finally {
      clearTimeout(timeout);
      options.signal?.removeEventListener('abort', onAbort);
    }
    if (!found) throw new PsycheError(COORDINATOR_RPC_ERROR, { method: 'accountSubscribe', reason: 'timeout' }, 'run state not reached in time');
    return found;
  }
}

