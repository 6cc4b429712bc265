import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2';
import { gossipsub } from '@libp2p/gossipsub';
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Identify } from '@libp2p/identify';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { webSockets } from '@libp2p/websockets';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { P2P_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';
import type { Identity } from './identity.ts';
import type { NodeId } from './node-id.ts';
import { noiseEncrypter } from './noise-encrypter.ts';
import { identityToLibp2pKey } from './peer-id.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from './gossip.ts';

export type P2pServices = { identify: Identify; pubsub: GossipSub };

export interface P2pNodeOptions {
  identity: Identity;
  /** Listen multiaddrs. Default: TCP on an ephemeral loopback port. */
  listen?: string[];
  /**
   * Relays to reserve a slot on (full multiaddrs ending in /p2p/<relay id>), for nodes behind NAT:
   * the node becomes reachable at `<relay>/p2p-circuit/p2p/<own id>`.
   */
  relays?: string[];
  /** Gossipsub tuning; the defaults suit runs of tens of nodes. */
  gossipsub?: Partial<GossipsubOpts>;
  /**
   * Use @chainsafe/libp2p-noise's own transport stream instead of NoiseTransportStream (same
   * handshake, ciphers and wire format; more copies). The reference that tests and benchmarks
   * compare against.
   */
  stockNoiseStream?: boolean;
}

/** A libp2p node with the transports and services this package relies on. */
export interface P2pNode {
  readonly identity: Identity;
  readonly nodeId: NodeId;
  readonly peerId: PeerId;
  readonly libp2p: Libp2p<P2pServices>;
  /** Current listen addresses as strings, each ending in /p2p/<peer id>. */
  multiaddrs(): string[];
  /** Connects to a peer by multiaddr (which must include /p2p/<peer id>). */
  dial(address: string, options?: { signal?: AbortSignal }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A js-libp2p v3 node: TCP and WebSockets (plus circuit relay v2 for NATed peers), noise, yamux,
 * identify, gossipsub. Versions pinned in package.json are the set that works together (see
 * docs/p2p.md); `@chainsafe/libp2p-gossipsub` would install but deliver nothing on libp2p 3.
 */
export async function createP2pNode(options: P2pNodeOptions): Promise<P2pNode> {
  // Before libp2p sees them: spreading a non-iterable listen, or a symbol relay in the template below, threw a TypeError.
  for (const field of ['listen', 'relays'] as const) {
    const value: unknown = options[field];
    if (value !== undefined && !(Array.isArray(value) && value.every((a) => typeof a === 'string'))) {
      throw new PsycheError(P2P_INVALID_CONFIG, { field, value: describeValue(value), expected: 'an array of multiaddr strings' }, `${field}: expected an array of multiaddr strings, got ${describeValue(value)}`);
    }
  }
  const listen = [...(options.listen ?? ['/ip4/127.0.0.1/tcp/0'])];
  for (const relay of options.relays ?? []) listen.push(`${relay}/p2p-circuit`);
  const libp2p = await createLibp2p({
    privateKey: identityToLibp2pKey(options.identity),
    addresses: { listen },
    transports: [tcp(), webSockets(), circuitRelayTransport()],
    // Noise XX with a transport stream that copies less (noise-encrypter.ts); same wire format.
    connectionEncrypters: [options.stockNoiseStream === true ? noise() : noiseEncrypter()],
    // A 4 MiB stream window (yamux's default maximum is 16 MiB) bounds what one fetch buffers and
    // still covers 100 MB/s at 40 ms RTT.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 4 * 1024 * 1024 } })],
    // Tests and netns topologies use private addresses on purpose.
    connectionGater: { denyDialMultiaddr: async () => false },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictNoSign', // envelopes carry our own Ed25519 signature
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        floodPublish: true,
        runOnLimitedConnection: true,
        // A small mesh degree: every forward costs an encrypt, a write and a decrypt on the same
        // event loop, and with floodPublish the publisher already reaches its direct peers. Measured
        // on 20 loopback nodes (BENCHMARKS.md): D=3 median 17-22 ms to all, D=6 (gossipsub's default)
        // 50-75 ms. Missed deliveries are recovered by IHAVE gossip and the rebroadcast policy.
        D: 3,
        Dlo: 2,
        Dhi: 6,
        Dout: 1,
        Dscore: 1,
        // Gossipsub must not even decode what our size check would drop (+ protobuf overhead).
        maxInboundDataLength: DEFAULT_MAX_MESSAGE_BYTES + 1024,
        // No IP colocation penalty: peers behind one relay, one NAT or on loopback share an IP, and
        // with more than 10 of them gossipsub scored every peer -20 and left the node meshless
        // (measured: 1 of 20 loopback nodes missed messages). Membership and signatures, checked on
        // every message, are the Sybil defence here.
        ...options.gossipsub,
        scoreParams: { IPColocationFactorWeight: 0, ...options.gossipsub?.scoreParams },
      }),
    },
  });
  return wrapNode(options.identity, libp2p);
}

function wrapNode<S extends P2pServices>(identity: Identity, libp2p: Libp2p<S>): P2pNode {
  return {
    identity,
    nodeId: identity.nodeId,
    peerId: libp2p.peerId,
    libp2p: libp2p as unknown as Libp2p<P2pServices>,
    multiaddrs: () => libp2p.getMultiaddrs().map((a) => a.toString()),
    dial: async (address, dialOptions = {}) => {
      await libp2p.dial(multiaddr(address), dialOptions.signal === undefined ? {} : { signal: dialOptions.signal });
    },
    stop: async () => {
      await libp2p.stop();
    },
  };
}

export interface RelayNodeOptions {
  identity: Identity;
  /** Default: TCP on 0.0.0.0 port 4001. */
  listen?: string[];
  /** Reservations held at once. Default 128. */
  maxReservations?: number;
}

export interface RelayNode {
  readonly nodeId: NodeId;
  readonly peerId: PeerId;
  readonly libp2p: Libp2p<{ identify: Identify; relay: CircuitRelayService }>;
  multiaddrs(): string[];
  stop(): Promise<void>;
}

/**
 * A circuit relay v2 server. libp2p's default per-circuit limits (2 minutes, 128 KiB) kill any
 * multi-MB blob mid-transfer (measured: StreamClosedError at 16 MiB), so reservations get no limit;
 * `maxReservations` bounds how many peers can use it.
 */
export async function createRelayNode(options: RelayNodeOptions): Promise<RelayNode> {
  const libp2p = await createLibp2p({
    privateKey: identityToLibp2pKey(options.identity),
    addresses: { listen: options.listen ?? ['/ip4/0.0.0.0/tcp/4001'] },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noiseEncrypter()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: async () => false },
    services: {
      identify: identify(),
      relay: circuitRelayServer({
        reservations: { applyDefaultLimit: false, maxReservations: options.maxReservations ?? 128 },
      }),
    },
  });
  return {
    nodeId: options.identity.nodeId,
    peerId: libp2p.peerId,
    libp2p,
    multiaddrs: () => libp2p.getMultiaddrs().map((a) => a.toString()),
    stop: async () => {
      await libp2p.stop();
    },
  };
}
