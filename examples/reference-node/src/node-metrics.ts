import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a node reports about itself: gauges and counters for Prometheus and the /status JSON. */
export interface NodeStatus {
  node: string;
  phase: string;
  epoch: number;
  step: number;
  clientIndex: number;
  isWitness: boolean;
  loss: number | null;
  /** Loss of every step this node trained, in order (for dashboards). */
  lossHistory: { step: number; loss: number }[];
  tokensPerSecond: number;
  tokensTrained: number;
  stepsTrained: number;
  bytesSent: number;
  bytesReceived: number;
  /** Bytes of this node's own results, per step it trained (wire format, headers included). */
  resultBytesPerStep: number;
  denseBf16BytesPerStep: number;
  peers: number;
  resultsAccepted: number;
  resultsRejected: number;
  /** Peer results judged by recomputation (verifier duty). */
  resultsVerified: number;
  witnessSubmissions: number;
  witnessFailures: number;
  stepsApplied: number;
  checkpoints: string[];
  parametersSha256: string | null;
}

export function emptyStatus(node: string): NodeStatus {
  return {
    node,
    phase: 'starting',
    epoch: 0,
    step: 0,
    clientIndex: -1,
    isWitness: false,
    loss: null,
    lossHistory: [],
    tokensPerSecond: 0,
    tokensTrained: 0,
    stepsTrained: 0,
    bytesSent: 0,
    bytesReceived: 0,
    resultBytesPerStep: 0,
    denseBf16BytesPerStep: 0,
    peers: 0,
    resultsAccepted: 0,
    resultsRejected: 0,
    resultsVerified: 0,
    witnessSubmissions: 0,
    witnessFailures: 0,
    stepsApplied: 0,
    checkpoints: [],
    parametersSha256: null,
  };
}

const PHASES = ['starting', 'waiting', 'warmup', 'train', 'witness', 'cooldown', 'finished', 'paused', 'left'];

/** Prometheus text exposition (version 0.0.4) of a status. */
export function prometheusText(s: NodeStatus): string {
  const label = `node="${s.node}"`;
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number, extra = ''): void => {
    lines.push(`# HELP psyche_node_${name} ${help}`, `# TYPE psyche_node_${name} ${type}`, `psyche_node_${name}{${label}${extra}} ${Number.isFinite(value) ? value : 'NaN'}`);
  };
  lines.push('# HELP psyche_node_phase 1 for the phase the node is in', '# TYPE psyche_node_phase gauge');
  for (const p of PHASES) lines.push(`psyche_node_phase{${label},phase="${p}"} ${p === s.phase ? 1 : 0}`);
  metric('epoch', 'gauge', 'Current epoch', s.epoch);
  metric('step', 'gauge', 'Current training step', s.step);
  metric('loss', 'gauge', 'Loss of the last batch this node trained', s.loss ?? Number.NaN);
  metric('tokens_per_second', 'gauge', 'Tokens per second of the last training step', s.tokensPerSecond);
  metric('tokens_trained_total', 'counter', 'Tokens trained', s.tokensTrained);
  metric('steps_trained_total', 'counter', 'Steps trained', s.stepsTrained);
  metric('bytes_sent_total', 'counter', 'Result bytes served to peers plus own results published', s.bytesSent);
  metric('bytes_received_total', 'counter', 'Result bytes fetched from peers', s.bytesReceived);
  metric('peers', 'gauge', 'Connected libp2p peers', s.peers);
  metric('results_accepted_total', 'counter', 'Peer results that passed every check', s.resultsAccepted);
  metric('results_rejected_total', 'counter', 'Peer results rejected', s.resultsRejected);
  metric('results_verified_total', 'counter', 'Peer results judged by recomputation', s.resultsVerified);
  metric('witness_submissions_total', 'counter', 'Witness submissions accepted by the coordinator', s.witnessSubmissions);
  metric('witness_failures_total', 'counter', 'Witness submissions that failed', s.witnessFailures);
  metric('steps_applied_total', 'counter', 'Aggregated steps applied to the weights', s.stepsApplied);
  return `${lines.join('\n')}\n`;
}

/** Serves GET /metrics (Prometheus text) and GET /status (JSON) on 127.0.0.1. */
export async function startMetricsServer(status: () => NodeStatus, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(status()));
    } else if (req.url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status()));
    } else {
      res.writeHead(404).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
