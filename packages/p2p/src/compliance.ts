import { deepStrictEqual, ok, rejects, strictEqual } from 'node:assert/strict';
import {
  P2P_ABORTED,
  P2P_BLOB_FETCH_FAILED,
  P2P_BLOB_TOO_LARGE,
  P2P_MALFORMED_ENVELOPE,
  P2P_MESSAGE_TOO_LARGE,
  P2P_SENDER_NOT_MEMBER,
  P2P_SIGNATURE_INVALID,
  createRng,
  isPsycheError,
} from '@psyche/core';
import type { PsycheErrorCode } from '@psyche/core';
import { blake3 } from './blake3.ts';
import { BlobStatus, decodeBlobRequest, encodeBlobHeader } from './blob-frames.ts';
import type { BlobStore, BlobStoreLimits } from './blob-store.ts';
import { blobHashToString, ticketFromString, ticketToString } from './blob-ticket.ts';
import type { BlobProvider } from './blob-ticket.ts';
import { encodeEnvelope, sealEnvelope } from './envelope.ts';
import type { Gossip, GossipMessage, GossipOptions, GossipRejection } from './gossip.ts';
import type { Identity } from './identity.ts';
import type { RawBlobHandler } from './memory-blob-store.ts';
import { nodeIdToString } from './node-id.ts';

/** One case of a compliance suite: run it under any test framework (`it(c.name, c.run)`). */
export interface ComplianceCase {
  readonly name: string;
  readonly run: () => Promise<void>;
}

export interface ComplianceSuite<H> {
  /** Builds a fresh network for one case. */
  setup: () => Promise<H>;
  /** Releases everything `setup` created, even when the case failed. */
  teardown: (harness: H) => Promise<void>;
}

export interface GossipHarness {
  /** Adds `count` nodes to `runId`'s topic, connected to the nodes already there. */
  addNodes(runId: string, count: number, options?: GossipOptions): Promise<Gossip[]>;
  /** A peer outside the implementation that sends raw bytes on the run's topic. */
  createRawSender(runId: string): Promise<{ identity: Identity; send(bytes: Uint8Array): Promise<void> }>;
}

export interface BlobHarness {
  createStore(limits?: BlobStoreLimits): Promise<BlobStore>;
  /** A provider answering every request with `handler` (to play hostile, stalled or partial peers). */
  createRawProvider(handler: RawBlobHandler): Promise<BlobProvider>;
}

function cases<H, B extends H>(suite: ComplianceSuite<B>, list: [string, (h: H) => Promise<void>][]): ComplianceCase[] {
  return list.map(([name, body]) => ({
    name,
    run: async () => {
      const harness = await suite.setup();
      try {
        await body(harness);
      } finally {
        await suite.teardown(harness);
      }
    },
  }));
}

/** Resolves when `predicate` holds, polling every 10 ms; throws after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function collect(gossip: Gossip): { messages: GossipMessage[]; rejections: GossipRejection[] } {
  const messages: GossipMessage[] = [];
  const rejections: GossipRejection[] = [];
  gossip.onMessage((m) => messages.push(m));
  gossip.onReject((r) => rejections.push(r));
  return { messages, rejections };
}

const hasCode = (rejections: GossipRejection[], code: PsycheErrorCode) => () => rejections.some((r) => r.error.code === code);

/** Behaviour every `Gossip` implementation must have. */
export function gossipComplianceCases<H extends GossipHarness>(suite: ComplianceSuite<H>): ComplianceCase[] {
  const noRebroadcast: GossipOptions = { rebroadcast: { delaysMs: [] } };
  return cases<GossipHarness, H>(suite, [
    [
      'delivers a member message to every other member once, with sender and payload',
      async (h) => {
        const nodes = await h.addNodes('compliance-run', 4, noRebroadcast);
        for (const node of nodes) node.setMembers(nodes.map((n) => n.nodeId));
        const inboxes = nodes.map((n) => collect(n).messages);
        const payload = new TextEncoder().encode('result announcement');
        const { id } = await nodes[0]!.publish(payload);
        await waitFor(() => inboxes.slice(1).every((inbox) => inbox.length === 1), 10_000, 'delivery to all');
        await sleep(100);
        strictEqual(inboxes[0]!.length, 0, 'not delivered to the sender itself');
        for (const inbox of inboxes.slice(1)) {
          strictEqual(inbox.length, 1);
          strictEqual(inbox[0]!.id, id);
          strictEqual(nodeIdToString(inbox[0]!.sender), nodeIdToString(nodes[0]!.nodeId));
          deepStrictEqual(new Uint8Array(inbox[0]!.payload), payload);
          strictEqual(inbox[0]!.topic, nodes[0]!.topic);
        }
      },
    ],
    [
      'drops messages of non-members until the allowlist admits them',
      async (h) => {
        const [a, b] = await h.addNodes('compliance-run', 2, noRebroadcast);
        b!.setMembers([b!.nodeId]);
        const { messages, rejections } = collect(b!);
        await a!.publish(new Uint8Array([1]));
        await waitFor(hasCode(rejections, P2P_SENDER_NOT_MEMBER), 10_000, 'non-member rejection');
        strictEqual(messages.length, 0);
        b!.setMembers([a!.nodeId, b!.nodeId]);
        await a!.publish(new Uint8Array([2]));
        await waitFor(() => messages.length === 1, 10_000, 'member delivery');
        deepStrictEqual([...messages[0]!.payload], [2]);
      },
    ],
    [
      'drops bad signatures, malformed and oversized frames with coded errors and penalizes the peer',
      async (h) => {
        const [target] = await h.addNodes('compliance-run', 1, { ...noRebroadcast, maxMessageBytes: 2048 });
        const raw = await h.createRawSender('compliance-run');
        target!.setMembers([target!.nodeId, raw.identity.nodeId]);
        const { messages, rejections } = collect(target!);
        const good = sealEnvelope({ identity: raw.identity, topic: target!.topic, seq: 1, timestampMs: 1, payload: new Uint8Array([7]) });
        const forged = { ...good, payload: new Uint8Array([8]) };
        await raw.send(encodeEnvelope(forged));
        await waitFor(hasCode(rejections, P2P_SIGNATURE_INVALID), 10_000, 'bad signature rejection');
        await raw.send(new Uint8Array([0xc1, 0xff, 0x00, 0x13]));
        await waitFor(hasCode(rejections, P2P_MALFORMED_ENVELOPE), 10_000, 'malformed rejection');
        const big = sealEnvelope({ identity: raw.identity, topic: target!.topic, seq: 2, timestampMs: 1, payload: new Uint8Array(4096) });
        await raw.send(encodeEnvelope(big));
        await waitFor(hasCode(rejections, P2P_MESSAGE_TOO_LARGE), 10_000, 'oversize rejection');
        strictEqual(messages.length, 0);
        ok(target!.scores.score(raw.identity.nodeId) < 0, 'sender penalized');
        ok(rejections.every((r) => isPsycheError(r.error)));
        // The node still works after hostile input.
        await raw.send(encodeEnvelope(good));
        await waitFor(() => messages.length === 1, 10_000, 'valid message after hostile ones');
      },
    ],
    [
      'drops duplicates: the same signed message delivered once whatever the retransmissions',
      async (h) => {
        const [target] = await h.addNodes('compliance-run', 1, { rebroadcast: { delaysMs: [10, 20] } });
        const raw = await h.createRawSender('compliance-run');
        target!.setMembers([raw.identity.nodeId]);
        const { messages } = collect(target!);
        const envelope = sealEnvelope({ identity: raw.identity, topic: target!.topic, seq: 5, timestampMs: 9, payload: new Uint8Array([5]) });
        for (const attempt of [0, 1, 2, 1, 0]) await raw.send(encodeEnvelope({ ...envelope, attempt }));
        await waitFor(() => messages.length === 1, 10_000, 'first copy');
        await sleep(300);
        strictEqual(messages.length, 1);
      },
    ],
    [
      'a message accepted before any handler is registered reaches the first handler, once',
      async (h) => {
        // The reference node's bug: the first copy was accepted with no handler listening, marked
        // seen, and every retransmission then dropped as a duplicate, so it was never delivered.
        const nodes = await h.addNodes('compliance-run', 3, { rebroadcast: { delaysMs: [100, 200] } });
        for (const node of nodes) node.setMembers(nodes.map((n) => n.nodeId));
        const [publisher, late, witness] = nodes as [Gossip, Gossip, Gossip];
        const witnessed = collect(witness).messages;
        const { id } = await publisher.publish(new TextEncoder().encode('announcement'));
        await waitFor(() => witnessed.length === 1, 10_000, 'delivery to the witness');
        await sleep(600); // the publisher's retransmissions have come and gone
        const inbox: GossipMessage[] = [];
        late.onMessage((m) => inbox.push(m));
        strictEqual(inbox.length, 0, 'handed over after onMessage returns');
        await waitFor(() => inbox.length === 1, 5_000, 'backlog delivery');
        await sleep(200);
        strictEqual(inbox.length, 1);
        strictEqual(inbox[0]!.id, id);
      },
    ],
    [
      'rebroadcast policy reaches a member that joined after the first send',
      async (h) => {
        const [publisher] = await h.addNodes('compliance-run', 1, { rebroadcast: { delaysMs: [1_500, 3_000] } });
        const { id } = await publisher!.publish(new Uint8Array([42]));
        const [late] = await h.addNodes('compliance-run', 1, noRebroadcast);
        late!.setMembers([publisher!.nodeId]);
        const { messages } = collect(late!);
        await waitFor(() => messages.length === 1, 10_000, 'retransmitted copy');
        strictEqual(messages[0]!.id, id);
      },
    ],
  ]);
}

function randomBytes(seed: number, length: number): Uint8Array {
  const rng = createRng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    const word = rng.nextU32();
    for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 255;
  }
  return out;
}

async function expectCode(promise: Promise<unknown>, code: PsycheErrorCode): Promise<void> {
  await rejects(promise, (e: unknown) => isPsycheError(e, code));
}

/** A raw handler serving `content` honestly from the requested offset, then doing `after`. */
function serveFrom(content: Uint8Array, options: { stopAfter?: number; stall?: boolean; onRequest?: (offset: number) => void } = {}): RawBlobHandler {
  return async function* (requestBytes, signal) {
    const { offset } = decodeBlobRequest(requestBytes);
    options.onRequest?.(offset);
    yield encodeBlobHeader({ status: BlobStatus.ok, size: content.length });
    const end = Math.min(content.length, options.stopAfter ?? content.length);
    for (let at = offset; at < end; at += 64 * 1024) yield content.slice(at, Math.min(end, at + 64 * 1024));
    if (options.stall === true && !signal.aborted) {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    }
  };
}

/** Behaviour every `BlobStore` implementation must have. */
export function blobStoreComplianceCases<H extends BlobHarness>(suite: ComplianceSuite<H>): ComplianceCase[] {
  return cases<BlobHarness, H>(suite, [
    [
      'adds content under its BLAKE3 hash and reads it back; tickets survive their text form',
      async (h) => {
        const store = await h.createStore();
        const content = randomBytes(1, 3 * 1024 * 1024 + 17);
        const ticket = await store.add(content);
        deepStrictEqual(ticket.hash, blake3(content));
        strictEqual(ticket.size, content.length);
        ok(store.has(ticket.hash));
        deepStrictEqual(await store.read(ticket.hash), content);
        const streamed = await store.add(
          (async function* () {
            for (let at = 0; at < content.length; at += 100_000) yield content.subarray(at, at + 100_000);
          })(),
        );
        deepStrictEqual(streamed.hash, ticket.hash);
        const parsed = ticketFromString(ticketToString(ticket));
        deepStrictEqual(parsed.hash, ticket.hash);
        strictEqual(parsed.size, ticket.size);
        strictEqual(nodeIdToString(parsed.providers[0]!.nodeId), nodeIdToString(store.nodeId));
      },
    ],
    [
      'fetches from a provider, verifies, stores; a second fetch is local',
      async (h) => {
        const [provider, fetcher] = [await h.createStore(), await h.createStore()];
        const content = randomBytes(2, 5 * 1024 * 1024);
        const ticket = await provider.add(content);
        const result = await fetcher.fetch(ticketFromString(ticketToString(ticket)));
        strictEqual(nodeIdToString(result.provider!), nodeIdToString(provider.nodeId));
        deepStrictEqual(await fetcher.read(ticket.hash), content);
        strictEqual((await fetcher.fetch(ticket)).provider, undefined);
        strictEqual((await fetcher.read(ticket.hash)).length, content.length);
      },
    ],
    [
      'fetches from any provider: skips one without the blob and one that stalls, and resumes at the offset',
      async (h) => {
        const fetcher = await h.createStore({ stallTimeoutMs: 400 });
        const content = randomBytes(3, 1024 * 1024);
        const offsets: number[] = [];
        const missing = await h.createRawProvider(async function* () {
          yield encodeBlobHeader({ status: BlobStatus.notFound, size: 0 });
        });
        const staller = await h.createRawProvider(serveFrom(content, { stopAfter: 300_000, stall: true }));
        const honest = await h.createRawProvider(serveFrom(content, { onRequest: (o) => offsets.push(o) }));
        const started = Date.now();
        const result = await fetcher.fetch({ hash: blake3(content), size: content.length, providers: [missing, staller, honest] });
        ok(Date.now() - started < 5_000, 'stall detected by the no-progress timeout');
        strictEqual(nodeIdToString(result.provider!), nodeIdToString(honest.nodeId));
        strictEqual(result.failedAttempts, 2);
        ok(offsets[0]! >= 262_144, `resumed at offset ${offsets[0]}`);
        deepStrictEqual(await fetcher.read(result.hash), content);
        ok(fetcher.scores.score(staller.nodeId) < 0, 'staller penalized');
        ok(fetcher.scores.score(missing.nodeId) < 0, 'missing provider penalized');
      },
    ],
    [
      'rejects bytes that do not hash to the ticket, and lying or malformed headers; nothing is stored',
      async (h) => {
        const fetcher = await h.createStore({ stallTimeoutMs: 2_000, fetchRounds: 1 });
        const content = randomBytes(4, 200_000);
        const corrupted = Uint8Array.from(content);
        corrupted[123_456] = corrupted[123_456]! ^ 1;
        const liar = await h.createRawProvider(serveFrom(corrupted));
        const wrongSize = await h.createRawProvider(serveFrom(content.subarray(0, 1000)));
        const garbage = await h.createRawProvider(async function* () {
          yield new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        });
        const ticket = { hash: blake3(content), size: content.length, providers: [liar, wrongSize, garbage] };
        await expectCode(fetcher.fetch(ticket), P2P_BLOB_FETCH_FAILED);
        ok(!fetcher.has(ticket.hash));
        for (const bad of [liar, wrongSize, garbage]) ok(fetcher.scores.score(bad.nodeId) < 0, 'penalized');
        const tooBig = await h.createStore({ maxBlobBytes: 1000 });
        await expectCode(tooBig.fetch(ticket), P2P_BLOB_TOO_LARGE);
        await expectCode(tooBig.add(content), P2P_BLOB_TOO_LARGE);
      },
    ],
    [
      'limits concurrent fetches and honours abort signals',
      async (h) => {
        const fetcher = await h.createStore({ maxConcurrentFetches: 2, stallTimeoutMs: 5_000 });
        let open = 0;
        let maxOpen = 0;
        const contents = [5, 6, 7, 8].map((seed) => randomBytes(seed, 100_000));
        const providers = await Promise.all(
          contents.map((content) =>
            h.createRawProvider(async function* (request, signal) {
              open++;
              maxOpen = Math.max(maxOpen, open);
              try {
                await sleep(150);
                yield* serveFrom(content)(request, signal);
              } finally {
                open--;
              }
            }),
          ),
        );
        const results = await Promise.all(
          contents.map((content, i) => fetcher.fetch({ hash: blake3(content), size: content.length, providers: [providers[i]!] })),
        );
        strictEqual(results.length, 4);
        ok(maxOpen <= 2, `at most 2 fetches at once, saw ${maxOpen}`);
        const stalled = await h.createRawProvider(serveFrom(randomBytes(9, 1000), { stopAfter: 10, stall: true }));
        const controller = new AbortController();
        const pending = fetcher.fetch({ hash: blake3(randomBytes(9, 1000)), size: 1000, providers: [stalled] }, { signal: controller.signal });
        setTimeout(() => controller.abort(), 100);
        await expectCode(pending, P2P_ABORTED);
      },
    ],
    [
      'garbage-collects old blobs by age and total size, keeping the pinned ones',
      async (h) => {
        const store = await h.createStore();
        const tickets = [];
        for (const seed of [10, 11, 12]) {
          tickets.push(await store.add(randomBytes(seed, 1000)));
          await sleep(5);
        }
        const keep = new Set([blobHashToString(tickets[0]!.hash)]);
        const bySize = await store.gc({ maxTotalBytes: 2000, keep });
        strictEqual(bySize.removed, 1);
        ok(store.has(tickets[0]!.hash) && !store.has(tickets[1]!.hash) && store.has(tickets[2]!.hash));
        const byAge = await store.gc({ maxAgeMs: 0 });
        strictEqual(byAge.removed, 2);
        strictEqual(byAge.freedBytes, 2000);
        ok(!store.has(tickets[2]!.hash));
      },
    ],
  ]);
}
