import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostileJsonText } from '../../../../scripts/hostile-json.ts';
import { LOCALNET_MAX_ACCOUNT_DATA_BYTES, LOCALNET_MAX_BATCH, LOCALNET_MAX_CONNECTIONS, LOCALNET_MAX_SUBSCRIPTIONS_PER_SOCKET, startLocalnet } from '../index.ts';

interface Reply {
  id?: unknown;
  error?: { code: number };
  result?: unknown;
}

async function openSocket(url: string): Promise<{ socket: WebSocket; replies: Reply[] }> {
  const socket = new WebSocket(url);
  const replies: Reply[] = [];
  socket.addEventListener('message', (event) => {
    const reply = JSON.parse(String(event.data)) as Reply;
    if (reply.id !== undefined) replies.push(reply);
  });
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve);
    socket.addEventListener('error', reject);
  });
  return { socket, replies };
}

async function waitForReplies(replies: Reply[], count: number): Promise<void> {
  const deadline = Date.now() + 8_000;
  while (replies.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('localnet WebSocket limits', () => {
  it('refuses subscriptions past the per-connection limit, frees them on unsubscribe, and ignores other sockets\' ids', async () => {
    const localnet = await startLocalnet();
    try {
      const hostile = await openSocket(localnet.wsUrl);
      const extra = 50;
      const total = LOCALNET_MAX_SUBSCRIPTIONS_PER_SOCKET + extra;
      for (let i = 0; i < total; i++) hostile.socket.send(JSON.stringify({ id: i, method: 'slotSubscribe' }));
      await waitForReplies(hostile.replies, total);
      expect(hostile.replies).toHaveLength(total);
      const accepted = hostile.replies.filter((r) => typeof r.result === 'number');
      const refused = hostile.replies.filter((r) => r.error !== undefined);
      expect(accepted).toHaveLength(LOCALNET_MAX_SUBSCRIPTIONS_PER_SOCKET);
      expect(refused).toHaveLength(extra);
      expect(new Set(refused.map((r) => r.error!.code))).toEqual(new Set([-32005]));

      // Another client cannot end the hostile client's subscriptions (nor free its quota by guessing ids).
      const other = await openSocket(localnet.wsUrl);
      other.socket.send(JSON.stringify({ id: 1, method: 'slotUnsubscribe', params: [accepted[0]!.result] }));
      await waitForReplies(other.replies, 1);
      expect(other.replies[0]!.result).toBe(false);
      // The other client still gets its own subscriptions.
      other.socket.send(JSON.stringify({ id: 2, method: 'slotSubscribe' }));
      await waitForReplies(other.replies, 2);
      expect(typeof other.replies[1]!.result).toBe('number');

      // Unsubscribing frees a place on the hostile socket.
      hostile.replies.length = 0;
      hostile.socket.send(JSON.stringify({ id: 'u', method: 'slotUnsubscribe', params: [accepted[0]!.result] }));
      hostile.socket.send(JSON.stringify({ id: 's', method: 'slotSubscribe' }));
      await waitForReplies(hostile.replies, 2);
      expect(hostile.replies[0]!.result).toBe(true);
      expect(typeof hostile.replies[1]!.result).toBe('number');
      hostile.socket.close();
      other.socket.close();
    } finally {
      await localnet.stop();
    }
  }, 20_000);
});

describe('localnet WebSocket against a client that never reads', () => {
  it('disconnects it once its unsent replies pass LOCALNET_MAX_QUEUED_BYTES_PER_SOCKET', async () => {
    const { WebSocket: WsClient } = await import('ws');
    const localnet = await startLocalnet();
    try {
      const socket = new WsClient(localnet.wsUrl);
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      let replies = 0;
      let closed = false;
      socket.on('message', () => replies++);
      socket.on('close', () => (closed = true));
      socket.on('error', () => {});
      // Stop reading, then ask for replies of 64 KiB each (the id is echoed): 400 of them are 25 MiB.
      socket.pause();
      const id = 'x'.repeat(64 * 1024);
      const requests = 400;
      for (let i = 0; i < requests; i++) socket.send(JSON.stringify({ id, method: 'noSuchMethod' }));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      socket.resume();
      const deadline = Date.now() + 6_000;
      while (!closed && replies < requests && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(closed).toBe(true);
      expect(replies).toBeLessThan(requests);
      socket.terminate();
    } finally {
      await localnet.stop();
    }
  }, 15_000);
});

describe('localnet JSON-RPC batches', () => {
  it('answers a batch of up to LOCALNET_MAX_BATCH requests and refuses a longer one with -32600', async () => {
    const localnet = await startLocalnet();
    try {
      const batch = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'getHealth' })));
      const post = async (body: string): Promise<unknown> => (await fetch(localnet.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json();
      const full = (await post(batch(LOCALNET_MAX_BATCH))) as { result: unknown }[];
      expect(full).toHaveLength(LOCALNET_MAX_BATCH);
      expect(full.every((r) => r.result === 'ok')).toBe(true);
      const over = (await post(batch(LOCALNET_MAX_BATCH + 1))) as { error?: { code: number } };
      expect(Array.isArray(over)).toBe(false);
      expect(over.error?.code).toBe(-32600);
    } finally {
      await localnet.stop();
    }
  }, 10_000);
});

describe('localnet requests with hostile JSON', () => {
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;

  it('refuses an id that is not a string, number or null with -32600 (echoing an id nested 10,000 deep threw outside any handler and ended the process)', async () => {
    const localnet = await startLocalnet();
    try {
      const post = async (body: string): Promise<Reply> =>
        (await fetch(localnet.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5_000) })).json() as Promise<Reply>;
      for (const id of [deep, '{"toString": null}', '[1]']) {
        expect(await post(`{"jsonrpc":"2.0","id":${id},"method":"getHealth"}`)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String) } });
      }
      // Other params that printing or String() choked on are invalid params, for that call only.
      const batch = (await post(`[{"id":1,"method":"getBalance","params":[${deep}]},{"id":2,"method":"getSignatureStatuses","params":[[{"toString":null}]]},{"id":3,"method":"getHealth"}]`)) as unknown as Reply[];
      expect(batch.map((r) => r.error?.code ?? r.result)).toEqual([-32602, -32602, 'ok']);
      const { socket, replies } = await openSocket(localnet.wsUrl);
      socket.send(`{"id":${deep},"method":"slotSubscribe"}`);
      socket.send(`{"id":"m","method":{"toString":null}}`);
      socket.send('{"id":"after","method":"slotSubscribe"}');
      await waitForReplies(replies, 3);
      expect(replies.map((r) => [r.id, r.error?.code ?? typeof r.result])).toEqual([[null, -32600], ['m', -32601], ['after', 'number']]);
      socket.close();
    } finally {
      await localnet.stop();
    }
  }, 20_000);

  it('fuzz: hostile JSON as any request member gets an answer over HTTP and WebSocket, and the localnet keeps serving', async () => {
    const localnet = await startLocalnet();
    try {
      const { socket, replies } = await openSocket(localnet.wsUrl);
      const member = fc.constantFrom('id', 'method', 'params', 'jsonrpc', 'toString', '__proto__');
      const method = fc.constantFrom('"getHealth"', '"getBalance"', '"getAccountInfo"', '"getMultipleAccounts"', '"getSignatureStatuses"', '"getProgramAccounts"', '"getMinimumBalanceForRentExemption"', '"requestAirdrop"', '"sendTransaction"', '"accountSubscribe"', '"signatureSubscribe"', '"slotUnsubscribe"');
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(method, fc.array(fc.tuple(member, hostileJsonText()), { minLength: 1, maxLength: 3 }), async (name, edits) => {
          const fields = new Map([['jsonrpc', '"2.0"'], ['id', '1'], ['method', name], ['params', '[]']]);
          for (const [k, v] of edits) fields.set(k, v);
          const body = `{${[...fields].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
          const reply = (await (await fetch(localnet.url, { method: 'POST', body, signal: AbortSignal.timeout(5_000) })).json()) as Reply;
          expect(reply.error !== undefined || 'result' in reply).toBe(true);
          socket.send(body);
          sent++;
        }),
        { numRuns: 100 },
      );
      // Every WebSocket request got its answer (none threw out of the handler), and the localnet still serves.
      await waitForReplies(replies, sent);
      expect(replies.length).toBe(sent);
      const health = (await (await fetch(localnet.url, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' })).json()) as Reply;
      expect(health.result).toBe('ok');
      socket.close();
    } finally {
      await localnet.stop();
    }
  }, 60_000);
});

describe('localnet connections', () => {
  it('closes connections past LOCALNET_MAX_CONNECTIONS as they arrive', async () => {
    const { connect } = await import('node:net');
    const localnet = await startLocalnet();
    const port = Number(new URL(localnet.url).port);
    const sockets = Array.from({ length: LOCALNET_MAX_CONNECTIONS + 20 }, () => connect({ host: '127.0.0.1', port }));
    try {
      const outcomes = await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<'closed' | 'open'>((resolve) => {
              socket.on('error', () => {});
              socket.once('close', () => resolve('closed'));
              setTimeout(() => resolve('open'), 1_500).unref();
            }),
        ),
      );
      expect(outcomes.filter((o) => o === 'open')).toHaveLength(LOCALNET_MAX_CONNECTIONS);
    } finally {
      for (const socket of sockets) socket.destroy();
      await localnet.stop();
    }
  }, 10_000);
});

describe('localnet signatureSubscribe', () => {
  it('refuses a "signature" that is not base58 of a signature\'s length (it would be kept as the key)', async () => {
    const localnet = await startLocalnet();
    try {
      const { socket, replies } = await openSocket(localnet.wsUrl);
      const bad = ['x'.repeat(1 << 20), 42, '0OIl'.repeat(20), ''];
      bad.forEach((signature, id) => socket.send(JSON.stringify({ id, method: 'signatureSubscribe', params: [signature] })));
      const good = '5'.repeat(88);
      socket.send(JSON.stringify({ id: 'good', method: 'signatureSubscribe', params: [good] }));
      await waitForReplies(replies, bad.length + 1);
      expect(replies.slice(0, bad.length).map((r) => r.error?.code)).toEqual(bad.map(() => -32602));
      expect(typeof replies[bad.length]!.result).toBe('number');
      socket.close();
    } finally {
      await localnet.stop();
    }
  }, 10_000);
});

describe('CoordinatorClient.waitFor with a long-lived signal', () => {
  it('leaves no abort listener behind on the caller\'s signal', async () => {
    const { generateKeyPairSigner, lamports } = await import('@solana/kit');
    const { CoordinatorClient, defaultRunConfig } = await import('../index.ts');
    const localnet = await startLocalnet();
    try {
      const payer = await generateKeyPairSigner();
      const client = new CoordinatorClient({ rpcUrl: localnet.url, wsUrl: localnet.wsUrl, payer, programAddress: localnet.programAddress });
      await client.rpc.requestAirdrop(payer.address, lamports(10_000_000_000n)).send();
      const run = await client.createRun({ authority: payer, config: defaultRunConfig(), runId: new Uint8Array(32).fill(9) });
      const lifetime = new AbortController();
      // Counts the abort listeners still registered (added minus removed).
      let listening = 0;
      const add = lifetime.signal.addEventListener.bind(lifetime.signal);
      const remove = lifetime.signal.removeEventListener.bind(lifetime.signal);
      lifetime.signal.addEventListener = ((type: string, listener: Parameters<AbortSignal['addEventListener']>[1], opts?: Parameters<AbortSignal['addEventListener']>[2]) => {
        if (type === 'abort') listening++;
        add(type, listener, opts);
      }) as typeof lifetime.signal.addEventListener;
      lifetime.signal.removeEventListener = ((type: string, listener: Parameters<AbortSignal['removeEventListener']>[1]) => {
        if (type === 'abort') listening--;
        remove(type, listener);
      }) as typeof lifetime.signal.removeEventListener;
      for (let i = 0; i < 5; i++) await client.waitFor(run, () => true, { timeoutMs: 5_000, signal: lifetime.signal });
      expect(listening).toBe(0);
    } finally {
      await localnet.stop();
    }
  }, 10_000);
});

describe('localnet getProgramAccounts', () => {
  it('refuses with -32012 an answer past LOCALNET_MAX_ACCOUNT_DATA_BYTES (shared by a batch) and answers a narrower query', async () => {
    const { generateKeyPairSigner } = await import('@solana/kit');
    const localnet = await startLocalnet();
    try {
      // Three program-owned accounts of a third of the limit plus one byte each (anyone can create such accounts).
      const third = Math.floor(LOCALNET_MAX_ACCOUNT_DATA_BYTES / 3) + 1;
      const sizes = [third, third + 1, third + 2];
      for (const size of sizes) {
        const { address } = await generateKeyPairSigner();
        localnet.svm.setAccount({ address, data: new Uint8Array(size), executable: false, lamports: 10n ** 9n, programAddress: localnet.programAddress, space: BigInt(size) } as never);
      }
      const call = (id: number, dataSize?: number) => ({ jsonrpc: '2.0', id, method: 'getProgramAccounts', params: [localnet.programAddress, dataSize === undefined ? { encoding: 'base64' } : { encoding: 'base64', filters: [{ dataSize }] }] });
      const post = async (body: unknown): Promise<unknown> => (await fetch(localnet.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
      type Answer = { result?: unknown[]; error?: { code: number; message: string } };

      const all = (await post(call(1))) as Answer;
      expect(all.result).toBeUndefined();
      expect(all.error?.code).toBe(-32012);
      expect(all.error?.message).toContain('LOCALNET_MAX_ACCOUNT_DATA_BYTES');
      expect(all.error?.message).toContain('dataSize');

      const one = (await post(call(2, third + 1))) as Answer;
      expect(one.result).toHaveLength(1);

      // Two calls of a batch fit; a third would take the body past the limit.
      const batch = (await post(sizes.map((size, i) => call(10 + i, size)))) as Answer[];
      expect(batch.map((a) => a.result?.length ?? a.error?.code)).toEqual([1, 1, -32012]);
    } finally {
      await localnet.stop();
    }
  }, 20_000);
});

describe('localnet getProgramAccounts filters', () => {
  it('applies memcmp (base58 or base64) and dataSize filters together, as a validator does; malformed filters are -32602', async () => {
    const { generateKeyPairSigner, getBase58Decoder } = await import('@solana/kit');
    const localnet = await startLocalnet();
    try {
      const accounts = [Uint8Array.of(1, 2, 3, 4), Uint8Array.of(9, 2, 3, 4), Uint8Array.of(1, 2, 3, 4, 5), Uint8Array.of(1, 2)];
      const byData = new Map<string, string>();
      for (const data of accounts) {
        const { address } = await generateKeyPairSigner();
        localnet.svm.setAccount({ address, data, executable: false, lamports: 10n ** 9n, programAddress: localnet.programAddress, space: BigInt(data.length) } as never);
        byData.set(address, data.join(','));
      }
      const post = async (filters: unknown): Promise<{ result?: { pubkey: string }[]; error?: { code: number } }> =>
        (await fetch(localnet.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getProgramAccounts', params: [localnet.programAddress, { encoding: 'base64', filters }] }) })).json() as never;
      const matched = async (filters: unknown): Promise<string[]> => ((await post(filters)).result ?? []).map((a) => byData.get(a.pubkey)!).sort();
      const b58 = (bytes: number[]) => getBase58Decoder().decode(Uint8Array.from(bytes));

      // Before, a memcmp filter was ignored and all four came back.
      expect(await matched([{ memcmp: { offset: 1, bytes: b58([2, 3]) } }])).toEqual(['1,2,3,4', '1,2,3,4,5', '9,2,3,4']);
      expect(await matched([{ memcmp: { offset: 0, bytes: Buffer.from([1, 2, 3]).toString('base64'), encoding: 'base64' } }])).toEqual(['1,2,3,4', '1,2,3,4,5']);
      expect(await matched([{ memcmp: { offset: 0, bytes: b58([1]) } }, { dataSize: 4 }])).toEqual(['1,2,3,4']);
      expect(await matched([{ memcmp: { offset: 4, bytes: b58([5]) } }])).toEqual(['1,2,3,4,5']);
      expect(await matched([{ memcmp: { offset: 3, bytes: b58([4, 5, 6]) } }])).toEqual([]);
      for (const bad of [
        [{ memcmp: { offset: -1, bytes: b58([1]) } }],
        [{ memcmp: { offset: 0, bytes: '0OIl' } }],
        [{ memcmp: { offset: 0, bytes: 'AQ=?', encoding: 'base64' } }],
        [{ memcmp: { offset: 0, bytes: b58(Array.from({ length: 129 }, () => 7)) } }],
        [{ memcmp: { offset: 0, bytes: b58([1]) }, dataSize: 4 }],
        [{}],
        [{ dataSize: 1 }, { dataSize: 1 }, { dataSize: 1 }, { dataSize: 1 }, { dataSize: 1 }],
      ]) {
        expect([bad, (await post(bad)).error?.code]).toEqual([bad, -32602]);
      }
    } finally {
      await localnet.stop();
    }
  }, 20_000);
});

describe('localnet getMultipleAccounts and getAccountInfo', () => {
  it('draw on the same per-request budget: refused with -32012 past LOCALNET_MAX_ACCOUNT_DATA_BYTES, alone or across a batch', async () => {
    const { generateKeyPairSigner } = await import('@solana/kit');
    const localnet = await startLocalnet();
    try {
      const third = Math.floor(LOCALNET_MAX_ACCOUNT_DATA_BYTES / 3) + 1;
      const sizes = [third, third + 1, third + 2];
      const addresses: string[] = [];
      for (const size of sizes) {
        const { address } = await generateKeyPairSigner();
        localnet.svm.setAccount({ address, data: new Uint8Array(size), executable: false, lamports: 10n ** 9n, programAddress: localnet.programAddress, space: BigInt(size) } as never);
        addresses.push(address);
      }
      // Solana's largest account (10 MiB) still fits one request on its own.
      const { address: largest } = await generateKeyPairSigner();
      const maxSize = 10 << 20;
      localnet.svm.setAccount({ address: largest, data: new Uint8Array(maxSize), executable: false, lamports: 10n ** 12n, programAddress: localnet.programAddress, space: BigInt(maxSize) } as never);
      const { address: missing } = await generateKeyPairSigner();

      const multiple = (id: number, keys: string[]) => ({ jsonrpc: '2.0', id, method: 'getMultipleAccounts', params: [keys, { encoding: 'base64' }] });
      const info = (id: number, key: string) => ({ jsonrpc: '2.0', id, method: 'getAccountInfo', params: [key, { encoding: 'base64' }] });
      const post = async (body: unknown): Promise<unknown> => (await fetch(localnet.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
      type Answer = { result?: { value: unknown }; error?: { code: number; message: string } };
      const outcome = (a: Answer): unknown => a.error?.code ?? (Array.isArray(a.result?.value) ? a.result.value.length : a.result?.value === null ? null : 'account');

      const all = (await post(multiple(1, addresses))) as Answer;
      expect(all.result).toBeUndefined();
      expect(all.error?.code).toBe(-32012);
      expect(all.error?.message).toContain('LOCALNET_MAX_ACCOUNT_DATA_BYTES');
      // The same account asked for over and over counts each time.
      expect(outcome((await post(multiple(2, Array.from({ length: 256 }, () => addresses[0]!)))) as Answer)).toBe(-32012);
      expect(outcome((await post(multiple(3, [addresses[0]!, missing, addresses[1]!]))) as Answer)).toBe(3);
      expect(outcome((await post(info(4, largest))) as Answer)).toBe('account');
      expect(outcome((await post(info(5, missing))) as Answer)).toBe(null);

      // The calls of a batch share the budget, whichever method spends it.
      const infos = (await post(Array.from({ length: 256 }, (_, i) => info(10 + i, addresses[0]!)))) as Answer[];
      expect(infos.slice(0, 2).map(outcome)).toEqual(['account', 'account']);
      expect(new Set(infos.slice(2).map(outcome))).toEqual(new Set([-32012]));
      const mixed = (await post([multiple(20, [addresses[0]!]), info(21, addresses[1]!), { jsonrpc: '2.0', id: 22, method: 'getProgramAccounts', params: [localnet.programAddress, { encoding: 'base64', filters: [{ dataSize: third + 2 }] }] }])) as Answer[];
      expect(mixed.map((a) => a.error?.code ?? 'ok')).toEqual(['ok', 'ok', -32012]);
    } finally {
      await localnet.stop();
    }
  }, 30_000);
});
