import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COORDINATOR_PROGRAM_ALREADY_JOINED,
  COORDINATOR_PROGRAM_MISSING_SIGNER,
  COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS,
  COORDINATOR_PROGRAM_NOT_AUTHORITY,
  COORDINATOR_PROGRAM_NOT_A_WITNESS,
  COORDINATOR_PROGRAM_WRONG_STATE,
  isPsycheError,
  sha256,
} from '@psyche/core';
import {
  AccountRole,
  appendTransactionMessageInstructions,
  createTransactionMessage,
  generateKeyPairSigner,
  getSignatureFromTransaction,
  lamports,
  pipe,
  sendAndConfirmTransactionFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type KeyPairSigner,
} from '@solana/kit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ClientState,
  CoordinatorClient,
  HashChain,
  RunState,
  currentRound,
  defaultRunConfig,
  encodeInstructionData,
  encodeRunAccount,
  getTickInstruction,
  startLocalnet,
  type Localnet,
  type RunAccount,
} from '../index.ts';

const dir = mkdtempSync(join(tmpdir(), 'psyche-localnet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function fundedClient(localnet: Localnet): Promise<{ client: CoordinatorClient; payer: KeyPairSigner }> {
  const payer = await generateKeyPairSigner();
  const client = new CoordinatorClient({ rpcUrl: localnet.url, wsUrl: localnet.wsUrl, payer, programAddress: localnet.programAddress });
  const signature = await client.rpc.requestAirdrop(payer.address, lamports(100_000_000_000n)).send();
  expect(typeof signature).toBe('string');
  return { client, payer };
}

async function expectProgramError(promise: Promise<unknown>, code: number): Promise<void> {
  try {
    await promise;
  } catch (e) {
    if (!isPsycheError(e)) throw e;
    expect(e.code, e.message).toBe(code);
    return;
  }
  expect.fail(`expected program error ${code}`);
}

interface SimulatedClient {
  signer: KeyPairSigner;
  chain: HashChain;
  /** An absent client joins, then never trains: witnesses do not see it, the health check drops it. */
  absent: boolean;
}

describe('embedded localnet over JSON-RPC and WebSocket', () => {
  it('runs a full epoch with simulated clients: warmup, rounds, health-check drop, total_steps, checkpoint, restart', async () => {
    let nowMs = 1_800_000_000_000;
    const statePath = join(dir, 'epoch.bin');
    let localnet = await startLocalnet({ statePath, now: () => nowMs });
    const { client } = await fundedClient(localnet);
    const authority = await generateKeyPairSigner();
    const config = defaultRunConfig({
      totalSteps: 4n,
      initMinClients: 4,
      minClients: 2,
      witnessNodes: 3,
      warmupTime: 20,
      maxRoundTrainTime: 30,
      roundWitnessTime: 2,
      cooldownTime: 3,
      epochTime: 3600,
      globalBatchStart: 16,
      globalBatchEnd: 32,
      batchRampSteps: 2n,
      modelLocation: 'hf://psyche/test-model',
      dataLocation: 'file:///data/tokens.bin',
    });
    const run = await client.createRun({ authority, config, runId: sha256(new TextEncoder().encode('epoch test')) });

    const seen: RunAccount[] = [];
    const subscription = new AbortController();
    const subscribed = client.subscribe(run, (account) => seen.push(account), { signal: subscription.signal });

    const clients: SimulatedClient[] = [];
    for (let i = 0; i < 4; i++) {
      const signer = await generateKeyPairSigner();
      const chain = new HashChain(sha256(new Uint8Array([i, 1, 2])), 32);
      await client.joinRun(run, signer, chain);
      clients.push({ signer, chain, absent: i === 3 });
    }
    await expectProgramError(client.joinRun(run, clients[0]!.signer, clients[0]!.chain), COORDINATOR_PROGRAM_ALREADY_JOINED);

    await client.tick(run);
    let account = await client.fetchRun(run);
    expect(account.state).toBe(RunState.Warmup);
    expect(account.numClients).toBe(4);
    expect(account.epoch).toBe(1n);
    for (const c of clients) {
      if (!c.absent && CoordinatorClient.isWarmupWitness(account, c.signer.address)) await client.submitWarmupWitness(run, c.signer, c.chain);
    }
    nowMs += 20_000; // warmup time passes (the absent witness, if any, never reported)
    await client.tick(run);

    const absentKey = clients[3]!.signer.address;
    const dataSeen: bigint[] = [];
    for (let step = 1n; step <= config.totalSteps; step++) {
      account = await client.fetchRun(run);
      expect(account.state, `step ${step}`).toBe(RunState.RoundTrain);
      const round = currentRound(account);
      expect(round.step).toBe(step);
      // Every member computes its role locally; the intervals tile the round's batch exactly.
      const roles = clients.map((c) => CoordinatorClient.roundRole(account, c.signer.address));
      const present = roles.filter((r) => r !== undefined);
      const intervals = present.map((r) => r.data).sort((a, b) => Number(a.start - b.start));
      expect(intervals[0]!.start).toBe(round.dataIndex);
      for (let i = 1; i < intervals.length; i++) expect(intervals[i]!.start).toBe(intervals[i - 1]!.end);
      expect(intervals.at(-1)!.end - round.dataIndex).toBe(BigInt(round.globalBatch));
      dataSeen.push(round.dataIndex);
      const participants = clients.flatMap((c, i) => (c.absent || !roles[i] ? [] : [roles[i]!.clientIndex]));
      for (const [i, c] of clients.entries()) {
        const role = roles[i];
        if (!role?.isWitness || c.absent) continue;
        await client.submitWitness(run, c.signer, c.chain, { participants, resultRoot: sha256(new Uint8Array([Number(step)])) }, account);
      }
      // A non-witness cannot submit.
      const outsider = clients.findIndex((c, i) => roles[i] && !roles[i]!.isWitness && !c.absent);
      if (outsider >= 0) {
        await expectProgramError(
          client.submitWitness(run, clients[outsider]!.signer, clients[outsider]!.chain, { participants, resultRoot: new Uint8Array(32) }, account),
          COORDINATOR_PROGRAM_NOT_A_WITNESS,
        );
      }
      await client.tick(run); // quorum reached: RoundTrain → RoundWitness without waiting
      expect((await client.fetchRun(run)).state).toBe(RunState.RoundWitness);
      nowMs += 2_000;
      await client.tick(run);
      account = await client.fetchRun(run);
      const agreed = account.rounds.find((r) => r.step === step)!;
      expect(agreed.agreed).toBe(true);
      expect(Buffer.from(agreed.agreedRoot).equals(Buffer.from(sha256(new Uint8Array([Number(step)]))))).toBe(true);
      if (step === 1n) {
        // The absent client was seen by no witness: dropped at the first round end.
        expect(CoordinatorClient.clientIndex(account, absentKey)).toBe(-1);
      }
    }
    // Stopped exactly at total_steps: cooldown after step 4, no step 5 round.
    expect(account.state).toBe(RunState.Cooldown);
    expect(account.step).toBe(config.totalSteps + 1n);
    expect(account.rounds.every((r) => r.step <= config.totalSteps)).toBe(true);
    expect(dataSeen).toEqual([0n, 16n, 40n, 72n]); // batch ramps 16 → 24 → 32
    await client.submitCheckpoint(run, clients[0]!.signer, { hash: sha256(new Uint8Array([42])), location: 'p2p://checkpoint/epoch-1' });
    nowMs += 3_000;
    await client.tick(run);
    account = await client.fetchRun(run);
    expect(account.state).toBe(RunState.Finished);
    expect(account.checkpoints[0]!.step).toBe(4n);
    expect(account.numPending).toBe(3);

    // The subscription saw the phases go by.
    await new Promise((r) => setTimeout(r, 200));
    subscription.abort();
    await subscribed;
    const phases = new Set(seen.map((a) => a.state));
    for (const phase of [RunState.WaitingForMembers, RunState.Warmup, RunState.RoundTrain, RunState.RoundWitness, RunState.Cooldown, RunState.Finished]) {
      expect(phases.has(phase), `phase ${phase} seen`).toBe(true);
    }

    // Restart from the snapshot: nothing lost.
    const before = encodeRunAccount(account);
    await localnet.stop();
    localnet = await startLocalnet({ statePath, now: () => nowMs });
    const { client: again } = await fundedClient(localnet);
    const restored = await again.fetchRun(run);
    expect(Buffer.from(encodeRunAccount(restored)).equals(Buffer.from(before))).toBe(true);
    await localnet.stop();
  });

  it('join and leave, pause and resume, authority checks, clock following wall time', async () => {
    const localnet = await startLocalnet({ statePath: join(dir, 'membership.bin') });
    try {
      const { client } = await fundedClient(localnet);
      expect(Number(localnet.svm.getClock().unixTimestamp)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 2);
      const authority = await generateKeyPairSigner();
      const run = await client.createRun({ authority, config: defaultRunConfig({ initMinClients: 2, minClients: 1 }), runId: new Uint8Array(32).fill(3) });
      const [a, b] = [await generateKeyPairSigner(), await generateKeyPairSigner()];
      await client.joinRun(run, a, new HashChain(new Uint8Array(32).fill(1), 4));
      await client.joinRun(run, b, new HashChain(new Uint8Array(32).fill(2), 4));
      expect((await client.fetchRun(run)).numPending).toBe(2);
      await client.withdraw(run, a);
      let account = await client.fetchRun(run);
      expect(account.numPending).toBe(1);
      expect(account.pending[0]!.state).toBe(ClientState.Pending);
      await client.tick(run); // one pending < initMinClients: stays waiting
      expect((await client.fetchRun(run)).state).toBe(RunState.WaitingForMembers);

      const before = encodeRunAccount(await client.fetchRun(run));
      await expectProgramError(client.pause(run, a), COORDINATOR_PROGRAM_NOT_AUTHORITY);
      await expectProgramError(client.resume(run, authority), COORDINATOR_PROGRAM_WRONG_STATE);
      // The authority's key in the signer slot without its signature.
      await expectProgramError(
        client.send([{ programAddress: client.programAddress, accounts: [{ address: run, role: AccountRole.WRITABLE }, { address: authority.address, role: AccountRole.READONLY }], data: encodeInstructionData.pause() }]),
        COORDINATOR_PROGRAM_MISSING_SIGNER,
      );
      expect(Buffer.from(encodeRunAccount(await client.fetchRun(run))).equals(Buffer.from(before))).toBe(true);

      await client.pause(run, authority);
      expect((await client.fetchRun(run)).state).toBe(RunState.Paused);
      await client.joinRun(run, a, new HashChain(new Uint8Array(32).fill(5), 4)); // joining while paused is allowed
      await client.tick(run);
      expect((await client.fetchRun(run)).state).toBe(RunState.Paused);
      await client.updateConfig(run, authority, defaultRunConfig({ initMinClients: 2, minClients: 1, totalSteps: 7n }));
      await client.resume(run, authority);
      await client.tick(run);
      account = await client.fetchRun(run);
      expect(account.state).toBe(RunState.Warmup);
      expect(account.config.totalSteps).toBe(7n);
      await client.kick(run, authority, b.address);
      account = await client.fetchRun(run);
      expect(account.clients[CoordinatorClient.clientIndex(account, b.address)]!.state).toBe(ClientState.Ejected);
    } finally {
      await localnet.stop();
    }
  });

  it("serves kit's own sendAndConfirmTransaction (signature and slot subscriptions, block height)", async () => {
    const localnet = await startLocalnet();
    try {
      const { client, payer } = await fundedClient(localnet);
      const authority = await generateKeyPairSigner();
      const run = await client.createRun({ authority, config: defaultRunConfig(), runId: new Uint8Array(32).fill(4) });
      const sendAndConfirm = sendAndConfirmTransactionFactory({ rpc: client.rpc, rpcSubscriptions: client.rpcSubscriptions } as never);
      const { value: blockhash } = await client.rpc.getLatestBlockhash().send();
      const message = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(payer, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
        (m) => appendTransactionMessageInstructions([getTickInstruction({ programAddress: client.programAddress, run })], m),
      );
      const transaction = await signTransactionMessageWithSigners(message);
      await sendAndConfirm(transaction as never, { commitment: 'confirmed' });
      const { value } = await client.rpc.getSignatureStatuses([getSignatureFromTransaction(transaction)]).send();
      expect(value[0]?.confirmationStatus).toBe('finalized');
    } finally {
      await localnet.stop();
    }
  });

  it('answers malformed requests with JSON-RPC errors and keeps serving', async () => {
    const localnet = await startLocalnet();
    try {
      const post = async (body: string) => (await fetch(localnet.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json() as Promise<{ error?: { code: number }; result?: unknown }>;
      expect((await post('{not json')).error?.code).toBe(-32700);
      expect((await post('{"jsonrpc":"2.0","id":1}')).error?.code).toBe(-32600);
      expect((await post('{"jsonrpc":"2.0","id":1,"method":"noSuchMethod"}')).error?.code).toBe(-32601);
      expect((await post('{"jsonrpc":"2.0","id":1,"method":"sendTransaction","params":["AAAA",{"encoding":"base64"}]}')).error?.code).toBe(-32602);
      expect((await post('{"jsonrpc":"2.0","id":1,"method":"sendTransaction","params":[42]}')).error?.code).toBe(-32602);
      expect((await post('{"jsonrpc":"2.0","id":1,"method":"getAccountInfo","params":["not-an-address"]}')).error).toBeDefined();
      expect((await post('{"jsonrpc":"2.0","id":1,"method":"getMultipleAccounts","params":[7]}')).error).toBeDefined();
      // Bad params are "invalid params" (-32602), as a validator answers, not internal errors.
      for (const bad of [
        '"getAccountInfo","params":["not-an-address"]',
        '"getAccountInfo","params":[]',
        '"getBalance","params":[{"a":1}]',
        '"getMultipleAccounts","params":[7]',
        '"getMultipleAccounts","params":[["11111111111111111111111111111111","x"]]',
        `"getMultipleAccounts","params":[${JSON.stringify(Array.from({ length: 257 }, () => '11111111111111111111111111111111'))}]`,
        '"getProgramAccounts","params":[null]',
        '"getProgramAccounts","params":["11111111111111111111111111111111",{"filters":{"dataSize":8}}]',
        '"getProgramAccounts","params":["11111111111111111111111111111111",{"filters":[null]}]',
        '"getProgramAccounts","params":["11111111111111111111111111111111",{"filters":[{"dataSize":"8"}]}]',
        '"getProgramAccounts","params":["11111111111111111111111111111111",7]',
        '"getMinimumBalanceForRentExemption","params":["lots"]',
        '"getMinimumBalanceForRentExemption","params":[-1]',
        '"getMinimumBalanceForRentExemption","params":[1e300]',
        '"getSignatureStatuses","params":["x"]',
        '"requestAirdrop","params":["11111111111111111111111111111111",-1]',
        '"requestAirdrop","params":["11111111111111111111111111111111","lots"]',
      ]) {
        expect([bad, (await post(`{"jsonrpc":"2.0","id":1,"method":${bad}}`)).error?.code]).toEqual([bad, -32602]);
      }
      // The subscription socket answers hostile messages with errors and stays up (a throw there ended the process).
      const socket = new WebSocket(localnet.wsUrl);
      const replies: { id?: unknown; error?: { code: number }; result?: unknown }[] = [];
      socket.addEventListener('message', (event) => replies.push(JSON.parse(String(event.data))));
      await new Promise((resolve, reject) => {
        socket.addEventListener('open', resolve);
        socket.addEventListener('error', reject);
      });
      for (const message of ['null', '5', '[1]', '{"id":1,"method":"accountSubscribe","params":["not-an-address"]}', '{"id":2,"method":"accountSubscribe","params":"x"}', '{"id":3,"method":"slotSubscribe"}']) {
        socket.send(message);
      }
      const deadline = Date.now() + 10_000;
      while (replies.length < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      socket.close();
      expect(replies.map((r) => r.error?.code ?? 'ok')).toEqual([-32600, -32600, -32600, -32602, -32602, 'ok']);
      expect(typeof replies[5]!.result).toBe('number');
      const batch = (await (await fetch(localnet.url, { method: 'POST', body: '[{"jsonrpc":"2.0","id":1,"method":"getHealth"},{"jsonrpc":"2.0","id":2,"method":"getSlot"}]' })).json()) as { result: unknown }[];
      expect(batch[0]!.result).toBe('ok');
      expect((await post('{"jsonrpc":"2.0","id":1,"method":"getHealth"}')).result).toBe('ok');
    } finally {
      await localnet.stop();
    }
  });

  it('permissioned runs: joins need the authority co-signature', async () => {
    const localnet = await startLocalnet();
    try {
      const { client } = await fundedClient(localnet);
      const authority = await generateKeyPairSigner();
      const run = await client.createRun({ authority, config: defaultRunConfig({ joinRequiresAuthority: true }), runId: new Uint8Array(32).fill(6) });
      expect((await client.fetchRun(run)).config.joinRequiresAuthority).toBe(true);
      const [member, impostor] = [await generateKeyPairSigner(), await generateKeyPairSigner()];
      const chain = new HashChain(new Uint8Array(32).fill(8), 4);
      await expectProgramError(client.joinRun(run, member, chain), COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS);
      await expectProgramError(client.joinRun(run, member, chain, impostor), COORDINATOR_PROGRAM_NOT_AUTHORITY);
      await client.joinRun(run, member, chain, authority);
      expect((await client.fetchRun(run)).numPending).toBe(1);
    } finally {
      await localnet.stop();
    }
  });
});
