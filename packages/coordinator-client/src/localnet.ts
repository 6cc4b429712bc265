import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { COORDINATOR_MALFORMED_SNAPSHOT, COORDINATOR_RPC_ERROR, PsycheError, describeValue } from '@psyche/core';
import {
  getBase58Decoder,
  getBase58Encoder,
  getTransactionDecoder,
  isAddress,
  lamports as toLamports,
  type Address,
  type Transaction,
} from '@solana/kit';
import { Clock, FailedTransactionMetadata, LiteSVM, type TransactionMetadata } from 'litesvm';
import { WebSocketServer, type WebSocket } from 'ws';
import { customCodeOf } from './coordinator-svm.ts';
import { COORDINATOR_PROGRAM_PATH } from './program-build.ts';
import { COORDINATOR_PROGRAM_ADDRESS } from './program-address.ts';

/** Milliseconds per slot, as on mainnet. */
export const SLOT_MS = 400;
const MAX_BODY = 4 << 20;
/** Subscriptions one WebSocket may hold; a node needs a handful, a hostile client could ask for millions. */
export const LOCALNET_MAX_SUBSCRIPTIONS_PER_SOCKET = 1024;
/** Unsent bytes one WebSocket may queue; past it the client is not reading and is disconnected. */
export const LOCALNET_MAX_QUEUED_BYTES_PER_SOCKET = 4 << 20;
/** Connections (HTTP and WebSocket) open at once; more are closed as they arrive. */
export const LOCALNET_MAX_CONNECTIONS = 256;
/** Requests in one JSON-RPC batch. */
export const LOCALNET_MAX_BATCH = 256;
/** JSON-RPC server-error code for a subscription past that limit. */
const TOO_MANY_SUBSCRIPTIONS = -32005;
/**
 * Account data bytes that getAccountInfo, getMultipleAccounts and getProgramAccounts may return for
 * one HTTP body (the calls of a batch share it; the JSON is about 4/3 of it): anyone can create
 * program-owned accounts of any size, so "every matching account", or 256 calls of 256 addresses
 * each, has no bound of its own. 10 MiB is Solana's largest account (MAX_PERMITTED_DATA_LENGTH), so
 * any one account can still be read, and some 230 run accounts.
 */
export const LOCALNET_MAX_ACCOUNT_DATA_BYTES = 10 << 20;
/** What a validator answers when a scan's results pass its byte limit (kit: SOLANA_ERROR__JSON_RPC__SCAN_ERROR). */
const SCAN_ERROR = -32012;

export interface LocalnetOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Snapshot file: restored at start when present, rewritten after every change. */
  readonly statePath?: string;
  readonly programPath?: string;
  readonly programAddress?: Address;
  /** Milliseconds since the Unix epoch; wall time by default (tests inject their own). */
  readonly now?: () => number;
}

export interface Localnet {
  readonly url: string;
  readonly wsUrl: string;
  readonly svm: LiteSVM;
  readonly programAddress: Address;
  /** Writes the snapshot now (it is also written after every change and on stop). */
  save(): void;
  stop(): Promise<void>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface SignatureRecord {
  slot: number;
  err: Json;
}

interface Subscription {
  socket: WebSocket;
  kind: 'account' | 'signature' | 'slot';
  key: string;
  last?: string;
}

/** What one HTTP body may still cost; the calls of a batch draw on the same budget. */
interface AnswerBudget {
  accountBytes: number;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const base58 = (bytes: Uint8Array): string => getBase58Decoder().decode(bytes);

function rpcError(code: number, message: string, data?: Json): { code: number; message: string; data?: Json } {
  return data === undefined ? { code, message } : { code, message, data };
}

/** A base58 account address from a request's params; anything else is "invalid params", as on a validator. */
function addressParam(value: Json | undefined): Address {
  if (typeof value !== 'string' || !isAddress(value)) throw rpcError(-32602, `invalid address ${describeValue(value)}`);
  return value;
}

/** Most entries one list parameter may hold (a validator's getMultipleAccounts allows 100, getSignatureStatuses 256). */
const MAX_LIST_PARAM = 256;

/** A 64-byte signature in base58: 64 to 88 characters. */
const BASE58_SIGNATURE = /^[1-9A-HJ-NP-Za-km-z]{64,88}$/;

/**
 * A request's id, echoed in the answer. JSON-RPC 2.0 allows a string, a number or null (as a
 * validator's parser does); anything else is refused, since echoing it made the answer's
 * JSON.stringify throw (arrays nested a few thousand deep overflow the stack) outside any handler,
 * which ended the process.
 */
function isRequestId(value: unknown): value is string | number | null {
  return value === null || typeof value === 'string' || typeof value === 'number';
}

/** An account size in bytes, 0 when absent; up to Solana's largest account (10 MiB). */
function accountSizeParam(value: Json | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > LOCALNET_MAX_ACCOUNT_DATA_BYTES) {
    throw rpcError(-32602, `expected an account size in [0, ${LOCALNET_MAX_ACCOUNT_DATA_BYTES}] bytes, got ${describeValue(value)}`);
  }
  return value;
}

/** A validator's limits on getProgramAccounts filters: at most 4, memcmp bytes at most 128. */
const MAX_PROGRAM_ACCOUNTS_FILTERS = 4;
const MAX_MEMCMP_BYTES = 128;
const MAX_MEMCMP_TEXT = 175;

/**
 * The filters of getProgramAccounts' config (`{ filters: [{ dataSize } | { memcmp: { offset, bytes, encoding? } }] }`),
 * all of which an account must pass, as on a validator. A config of another shape is "invalid
 * params" (a non-array `filters` used to reach `.find` and answer as an internal error, and a
 * memcmp filter was ignored, so the answer held accounts it excluded).
 */
function programAccountsFilter(config: Json | undefined): (data: ArrayLike<number>) => boolean {
  if (config === undefined || config === null) return () => true;
  if (typeof config !== 'object' || Array.isArray(config)) throw rpcError(-32602, `getProgramAccounts config must be an object, got ${describeValue(config)}`);
  const filters = (config as { filters?: Json }).filters;
  if (filters === undefined) return () => true;
  if (!Array.isArray(filters) || filters.length > MAX_PROGRAM_ACCOUNTS_FILTERS) throw rpcError(-32602, `getProgramAccounts filters must be an array of at most ${MAX_PROGRAM_ACCOUNTS_FILTERS} filters`);
  const tests = filters.map((filter): ((data: ArrayLike<number>) => boolean) => {
    if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw rpcError(-32602, `a getProgramAccounts filter must be an object, got ${describeValue(filter)}`);
    const { dataSize, memcmp } = filter as { dataSize?: Json; memcmp?: Json };
    if (dataSize !== undefined && memcmp === undefined) {
      if (typeof dataSize !== 'number' || !Number.isSafeInteger(dataSize) || dataSize < 0) throw rpcError(-32602, `dataSize must be a whole number of bytes, got ${describeValue(dataSize)}`);
      return (data) => data.length === dataSize;
    }
    if (memcmp !== undefined && dataSize === undefined) {
      const bytes = memcmpBytes(memcmp);
      const { offset } = memcmp as { offset: number };
      return (data) => offset + bytes.length <= data.length && bytes.every((b, i) => data[offset + i] === b);
    }
    throw rpcError(-32602, 'a getProgramAccounts filter must be { dataSize } or { memcmp }');
  });
  return (data) => tests.every((test) => test(data));
}

/** The bytes of a memcmp filter (`{ offset, bytes, encoding: 'base58' (default) | 'base64' }`), checked. */
function memcmpBytes(memcmp: Json): Uint8Array {
  if (typeof memcmp !== 'object' || memcmp === null || Array.isArray(memcmp)) throw rpcError(-32602, `memcmp must be an object, got ${describeValue(memcmp)}`);
  const { offset, bytes, encoding = 'base58' } = memcmp as { offset?: Json; bytes?: Json; encoding?: Json };
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw rpcError(-32602, `memcmp offset must be a whole number of bytes, got ${describeValue(offset)}`);
  if (typeof bytes !== 'string' || (encoding !== 'base58' && encoding !== 'base64')) throw rpcError(-32602, 'memcmp bytes must be a base58 or base64 string');
  // Checked before decoding: 128 bytes are at most 175 characters of base58 (172 of base64).
  if (bytes.length > MAX_MEMCMP_TEXT) throw rpcError(-32602, `memcmp bytes longer than ${MAX_MEMCMP_BYTES} bytes`);
  let decoded: Uint8Array;
  try {
    decoded = encoding === 'base64' ? strictBase64(bytes) : new Uint8Array(getBase58Encoder().encode(bytes));
  } catch {
    throw rpcError(-32602, `memcmp bytes are not ${encoding}`);
  }
  if (decoded.length > MAX_MEMCMP_BYTES) throw rpcError(-32602, `memcmp bytes longer than ${MAX_MEMCMP_BYTES} bytes`);
  return decoded;
}

/** Base64 that refuses what Buffer would skip (other characters) instead of decoding around it. */
function strictBase64(text: string): Uint8Array {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) throw new Error('not base64');
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function listParam(value: Json | undefined): Json[] {
  if (!Array.isArray(value) || value.length > MAX_LIST_PARAM) throw rpcError(-32602, `expected an array of at most ${MAX_LIST_PARAM} entries`);
  return value;
}

/** The JSON a validator reports for a failed transaction (`{"InstructionError":[0,{"Custom":8113}]}`). */
function errorJson(failure: FailedTransactionMetadata): Json {
  const code = customCodeOf(failure);
  const err = failure.err() as unknown as { index?: number; toString(): string };
  if (code !== undefined) return { InstructionError: [err.index ?? 0, { Custom: code }] };
  return err.toString();
}

/**
 * The embedded localnet: LiteSVM with the coordinator program loaded, served on loopback as the
 * subset of Solana's JSON-RPC and WebSocket API that @solana/kit's RPC, transaction sending and
 * account subscriptions use. The clock sysvar follows `now()` (wall time by default); the whole
 * bank is snapshotted to `statePath` after every change and restored on start.
 */
export async function startLocalnet(options: LocalnetOptions = {}): Promise<Localnet> {
  const now = options.now ?? Date.now;
  const programAddress = options.programAddress ?? COORDINATOR_PROGRAM_ADDRESS;
  const statePath = options.statePath;
  let svm: LiteSVM;
  const signatures = new Map<string, SignatureRecord>();
  if (statePath && existsSync(statePath)) {
    try {
      svm = LiteSVM.fromBytes(readFileSync(statePath));
    } catch (e) {
      throw new PsycheError(COORDINATOR_MALFORMED_SNAPSHOT, { path: statePath, reason: String(e) }, `cannot restore localnet state from ${statePath}: ${String(e)}`, { cause: e });
    }
  } else {
    svm = new LiteSVM();
  }
  // Old blockhashes stay valid (a fresh one per transaction prevents duplicate signatures).
  svm = svm.withBlockhashCheck(false);
  // Always (re)load the program: the snapshot keeps accounts, the binary follows this package.
  svm.addProgram(programAddress, readFileSync(options.programPath ?? COORDINATOR_PROGRAM_PATH));

  const start = svm.getClock();
  const baseSlot = start.slot;
  const baseMs = now();
  let slot = Number(baseSlot);
  const subscriptions = new Map<number, Subscription>();
  let nextSubscription = 1;
  const heldBySocket = new Map<WebSocket, number>();
  const dropSubscription = (id: number): boolean => {
    const sub = subscriptions.get(id);
    if (!sub) return false;
    subscriptions.delete(id);
    heldBySocket.set(sub.socket, (heldBySocket.get(sub.socket) ?? 1) - 1);
    return true;
  };
  let saveTimer: NodeJS.Timeout | undefined;

  function save(): void {
    if (!statePath) return;
    mkdirSync(dirname(statePath), { recursive: true });
    const tmp = `${statePath}.tmp`;
    writeFileSync(tmp, svm.toBytes());
    renameSync(tmp, statePath);
  }
  function scheduleSave(): void {
    if (!statePath || saveTimer) return;
    saveTimer = setTimeout(() => {
      saveTimer = undefined;
      save();
    }, 50);
  }

  /** Moves the clock sysvar to now: one slot per 400 ms, unix_timestamp in seconds. */
  function syncClock(): void {
    const ms = now();
    const targetSlot = Math.max(slot, Number(baseSlot) + Math.floor((ms - baseMs) / SLOT_MS));
    const clock = svm.getClock();
    const unix = BigInt(Math.floor(ms / 1000));
    if (targetSlot !== slot || clock.unixTimestamp !== unix) {
      const changedSlot = targetSlot !== slot;
      slot = targetSlot;
      svm.setClock(new Clock(BigInt(slot), clock.epochStartTimestamp, clock.epoch, clock.leaderScheduleEpoch, unix));
      if (changedSlot) notifySlot();
    }
  }

  function accountJson(key: Address): Json {
    return encodedAccountJson(svm.getAccount(key));
  }

  function encodedAccountJson(account: ReturnType<LiteSVM['getAccount']>): Json {
    if (!account.exists) return null;
    return {
      data: [b64(account.data), 'base64'],
      executable: account.executable,
      lamports: Number(account.lamports),
      owner: account.programAddress,
      rentEpoch: 0,
      space: account.data.length,
    };
  }

  function send(socket: WebSocket, message: Json): void {
    if (socket.readyState !== socket.OPEN) return;
    // A client that sends requests (or holds subscriptions) and never reads would grow this queue without end.
    if (socket.bufferedAmount > LOCALNET_MAX_QUEUED_BYTES_PER_SOCKET) {
      socket.terminate();
      return;
    }
    socket.send(JSON.stringify(message));
  }

  function notifyAccounts(): void {
    for (const [id, sub] of subscriptions) {
      if (sub.kind !== 'account') continue;
      const value = accountJson(sub.key as Address); // checked by accountSubscribe
      const fingerprint = JSON.stringify(value);
      if (fingerprint === sub.last) continue;
      sub.last = fingerprint;
      send(sub.socket, { jsonrpc: '2.0', method: 'accountNotification', params: { result: { context: { slot }, value }, subscription: id } });
    }
  }

  function notifySignature(signature: string, record: SignatureRecord): void {
    for (const [id, sub] of subscriptions) {
      if (sub.kind !== 'signature' || sub.key !== signature) continue;
      send(sub.socket, { jsonrpc: '2.0', method: 'signatureNotification', params: { result: { context: { slot: record.slot }, value: { err: record.err } }, subscription: id } });
      dropSubscription(id);
    }
  }

  function notifySlot(): void {
    for (const [id, sub] of subscriptions) {
      if (sub.kind !== 'slot') continue;
      send(sub.socket, { jsonrpc: '2.0', method: 'slotNotification', params: { result: { parent: Math.max(0, slot - 1), root: slot, slot }, subscription: id } });
    }
  }

  function afterChange(signature: string, record: SignatureRecord): void {
    signatures.set(signature, record);
    notifySignature(signature, record);
    notifyAccounts();
    scheduleSave();
  }

  function decodeTransaction(encoded: unknown, encoding: unknown): { transaction: Transaction; signature: string } {
    if (typeof encoded !== 'string') throw rpcError(-32602, 'transaction must be a string');
    let transaction: Transaction;
    try {
      // Validators default to base58 when no encoding is given.
      const bytes = encoding === 'base64' ? new Uint8Array(Buffer.from(encoded, 'base64')) : new Uint8Array(getBase58Encoder().encode(encoded));
      transaction = getTransactionDecoder().decode(bytes);
    } catch (e) {
      throw rpcError(-32602, `failed to decode transaction: ${String(e)}`);
    }
    const first = Object.values(transaction.signatures)[0];
    return { transaction, signature: first ? base58(first) : '' };
  }

  function simulationValue(meta: TransactionMetadata, err: Json): Json {
    const returnData = meta.returnData();
    const data = returnData.data();
    return {
      err,
      logs: meta.logs(),
      accounts: null,
      unitsConsumed: Number(meta.computeUnitsConsumed()),
      returnData: data.length ? { programId: base58(returnData.programId()), data: [b64(data), 'base64'] } : null,
    };
  }

  const context = (): Json => ({ slot, apiVersion: '2.2.0' });

  function handle(method: string, params: Json[], budget: AnswerBudget): Json {
    syncClock();
    switch (method) {
      case 'getHealth':
        return 'ok';
      case 'getVersion':
        return { 'solana-core': '2.2.0', 'feature-set': 0 };
      case 'getGenesisHash':
        return '11111111111111111111111111111111';
      case 'getSlot':
      case 'getBlockHeight':
        return slot;
      case 'getEpochInfo':
        return { absoluteSlot: slot, blockHeight: slot, epoch: 0, slotIndex: slot, slotsInEpoch: 432000, transactionCount: signatures.size };
      case 'getLatestBlockhash':
        return { context: context(), value: { blockhash: svm.latestBlockhash(), lastValidBlockHeight: slot + 150 } };
      case 'isBlockhashValid':
        return { context: context(), value: true };
      case 'getMinimumBalanceForRentExemption':
        return Number(svm.minimumBalanceForRentExemption(BigInt(accountSizeParam(params[0]))));
      case 'getBalance':
        return { context: context(), value: Number(svm.getBalance(addressParam(params[0])) ?? 0n) };
      case 'getAccountInfo':
      case 'getMultipleAccounts': {
        const keys = method === 'getAccountInfo' ? [addressParam(params[0])] : listParam(params[0]).map(addressParam);
        // Counted account by account before any JSON is built, stopping at the first past the budget:
        // at most the budget plus one account is ever held for an answer that is refused.
        const accounts: ReturnType<LiteSVM['getAccount']>[] = [];
        let bytes = 0;
        for (const key of keys) {
          const account = svm.getAccount(key);
          bytes += account.exists ? account.data.length : 0;
          if (bytes > budget.accountBytes) {
            throw rpcError(
              SCAN_ERROR,
              `${method}: the first ${accounts.length + 1} of the ${keys.length} accounts asked for hold ${bytes} bytes, more than the ${budget.accountBytes} left of LOCALNET_MAX_ACCOUNT_DATA_BYTES (${LOCALNET_MAX_ACCOUNT_DATA_BYTES}) for this request; ask for fewer accounts per request`,
            );
          }
          accounts.push(account);
        }
        budget.accountBytes -= bytes;
        const value = accounts.map(encodedAccountJson);
        return { context: context(), value: method === 'getAccountInfo' ? (value[0] ?? null) : value };
      }
      case 'getProgramAccounts': {
        const passes = programAccountsFilter(params[1]);
        const matching = svm.getProgramAccounts(addressParam(params[0])).filter((a) => passes(a.data));
        // Counted before any JSON is built: the answer, not the bank, is what must stay bounded.
        const bytes = matching.reduce((sum, a) => sum + a.data.length, 0);
        if (bytes > budget.accountBytes) {
          throw rpcError(
            SCAN_ERROR,
            `getProgramAccounts: the ${matching.length} matching accounts hold ${bytes} bytes, more than the ${budget.accountBytes} left of LOCALNET_MAX_ACCOUNT_DATA_BYTES (${LOCALNET_MAX_ACCOUNT_DATA_BYTES}) for this request; narrow it with a dataSize or memcmp filter`,
          );
        }
        budget.accountBytes -= bytes;
        return matching.map((a) => ({ pubkey: a.address, account: accountJson(a.address) }));
      }
      case 'requestAirdrop': {
        const amount = params[1];
        if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) throw rpcError(-32602, 'airdrop amount must be a whole number of lamports');
        const outcome = svm.airdrop(addressParam(params[0]), toLamports(BigInt(amount)));
        if (!outcome || outcome instanceof FailedTransactionMetadata) throw rpcError(-32603, 'airdrop failed');
        const signature = base58(outcome.signature());
        svm.expireBlockhash();
        afterChange(signature, { slot, err: null });
        return signature;
      }
      case 'sendTransaction': {
        const { transaction, signature } = decodeTransaction(params[0], (params[1] as { encoding?: string } | undefined)?.encoding);
        const outcome = svm.sendTransaction(transaction);
        svm.expireBlockhash();
        if (outcome instanceof FailedTransactionMetadata) {
          const err = errorJson(outcome);
          // What a validator's preflight answers: the simulation's error, logs and units.
          throw rpcError(-32002, `Transaction simulation failed: ${JSON.stringify(err)}`, simulationValue(outcome.meta(), err));
        }
        afterChange(signature, { slot, err: null });
        return signature;
      }
      case 'simulateTransaction': {
        const { transaction } = decodeTransaction(params[0], (params[1] as { encoding?: string } | undefined)?.encoding);
        const outcome = svm.simulateTransaction(transaction);
        if (outcome instanceof FailedTransactionMetadata) return { context: context(), value: simulationValue(outcome.meta(), errorJson(outcome)) };
        return { context: context(), value: simulationValue(outcome.meta(), null) };
      }
      case 'getSignatureStatuses':
        return {
          context: context(),
          value: listParam(params[0]).map((s) => {
            if (typeof s !== 'string') throw rpcError(-32602, `invalid signature ${describeValue(s)}`);
            const record = signatures.get(s);
            if (!record) return null;
            return { slot: record.slot, confirmations: null, err: record.err, confirmationStatus: 'finalized', status: record.err === null ? { Ok: null } : { Err: record.err } };
          }),
        };
      default:
        throw rpcError(-32601, `method ${method.slice(0, 64)} is not served by the localnet`);
    }
  }

  function answer(request: unknown, budget: AnswerBudget): Json {
    const { id = null, method, params = [] } = (request ?? {}) as { id?: unknown; method?: unknown; params?: Json[] };
    if (!isRequestId(id)) return { jsonrpc: '2.0', id: null, error: rpcError(-32600, 'invalid request: id must be a string, a number or null') };
    if (typeof method !== 'string') return { jsonrpc: '2.0', id, error: rpcError(-32600, 'invalid request') };
    try {
      return { jsonrpc: '2.0', id, result: handle(method, Array.isArray(params) ? params : [], budget) };
    } catch (e) {
      if (typeof e === 'object' && e !== null && 'code' in e && 'message' in e) return { jsonrpc: '2.0', id, error: e as Json };
      return { jsonrpc: '2.0', id, error: rpcError(-32603, String(e)) };
    }
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: rpcError(-32700, 'parse error') }));
        return;
      }
      // Each call of a batch may answer with every account of the program: the batch is bounded so one body cannot ask for gigabytes.
      if (Array.isArray(body) && body.length > LOCALNET_MAX_BATCH) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: rpcError(-32600, `a batch holds at most ${LOCALNET_MAX_BATCH} requests`) }));
        return;
      }
      const budget: AnswerBudget = { accountBytes: LOCALNET_MAX_ACCOUNT_DATA_BYTES };
      const result = Array.isArray(body) ? body.map((request) => answer(request, budget)) : answer(body, budget);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    });
  });

  // HTTP and WebSocket clients together: each holds a socket (and a WebSocket its subscriptions).
  server.maxConnections = LOCALNET_MAX_CONNECTIONS;
  const wss = new WebSocketServer({ server, maxPayload: MAX_BODY });
  wss.on('connection', (socket) => {
    socket.on('message', (raw) => {
      let request: unknown;
      try {
        request = JSON.parse(raw.toString());
      } catch {
        send(socket, { jsonrpc: '2.0', id: null, error: rpcError(-32700, 'parse error') });
        return;
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) {
        send(socket, { jsonrpc: '2.0', id: null, error: rpcError(-32600, 'invalid request') });
        return;
      }
      const { id = null, method, params: rawParams = [] } = request as { id?: unknown; method?: unknown; params?: Json };
      if (!isRequestId(id)) {
        send(socket, { jsonrpc: '2.0', id: null, error: rpcError(-32600, 'invalid request: id must be a string, a number or null') });
        return;
      }
      const params = Array.isArray(rawParams) ? rawParams : [];
      // A throw here would escape the socket's event handler and end the whole process.
      try {
        subscriptionRequest(socket, id, method, params);
      } catch (e) {
        const error = typeof e === 'object' && e !== null && 'code' in e && 'message' in e ? (e as Json) : rpcError(-32603, String(e));
        send(socket, { jsonrpc: '2.0', id, error });
      }
    });
    socket.on('close', () => {
      for (const [id, sub] of subscriptions) if (sub.socket === socket) subscriptions.delete(id);
      heldBySocket.delete(socket);
    });
  });

  function subscriptionRequest(socket: WebSocket, id: Json, method: unknown, params: Json[]): void {
    syncClock();
    const subscribe = (kind: Subscription['kind'], key: string): number => {
      const held = heldBySocket.get(socket) ?? 0;
      if (held >= LOCALNET_MAX_SUBSCRIPTIONS_PER_SOCKET) {
        throw rpcError(TOO_MANY_SUBSCRIPTIONS, `at most ${LOCALNET_MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection`);
      }
      const subscription = nextSubscription++;
      subscriptions.set(subscription, { socket, kind, key });
      heldBySocket.set(socket, held + 1);
      send(socket, { jsonrpc: '2.0', id, result: subscription });
      return subscription;
    };
    switch (method) {
      case 'accountSubscribe': {
        const key = addressParam(params[0]);
        const sub = subscribe('account', key);
        subscriptions.get(sub)!.last = JSON.stringify(accountJson(key));
        return;
      }
      case 'signatureSubscribe': {
        // Kept as the subscription's key: a 4 MiB "signature" times 1024 subscriptions would be 4 GiB.
        const signature = params[0];
        if (typeof signature !== 'string' || !BASE58_SIGNATURE.test(signature)) throw rpcError(-32602, 'expected a base58 transaction signature');
        subscribe('signature', signature);
        const record = signatures.get(signature);
        if (record) notifySignature(signature, record);
        return;
      }
      case 'slotSubscribe':
        subscribe('slot', '');
        return;
      case 'accountUnsubscribe':
      case 'signatureUnsubscribe':
      case 'slotUnsubscribe': {
        // Only the socket's own subscriptions: another client's ids are not this one's to end.
        const key = Number(params[0]);
        const owned = subscriptions.get(key)?.socket === socket;
        send(socket, { jsonrpc: '2.0', id, result: owned && dropSubscription(key) });
        return;
      }
      default:
        send(socket, { jsonrpc: '2.0', id, error: rpcError(-32601, `method ${typeof method === 'string' ? method.slice(0, 64) : describeValue(method)} is not served by the localnet`) });
    }
  }

  // Slots advance with time even without requests, so slot subscribers (kit's confirmation) see progress.
  const slotTimer = setInterval(syncClock, SLOT_MS);
  slotTimer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PsycheError(COORDINATOR_RPC_ERROR, { method: 'listen', reason: String(e) }, `localnet cannot listen: ${String(e)}`, { cause: e })));
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  save();

  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    svm,
    programAddress,
    save,
    async stop() {
      clearInterval(slotTimer);
      if (saveTimer) clearTimeout(saveTimer);
      saveTimer = undefined;
      save();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
