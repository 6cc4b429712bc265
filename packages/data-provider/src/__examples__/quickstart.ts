// Runnable: npm run example -w @psyche/data-provider
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildExampleDataset,
  byteTokenizer,
  connectTcpDataProvider,
  createRoundAuthorizer,
  inputsAndTargets,
  openHttpProvider,
  openLocalProvider,
  startStaticHttpServer,
  startTcpDataServer,
} from '@psyche/data-provider';

const outDir = mkdtempSync(join(tmpdir(), 'psyche-data-quickstart-'));
try {
  // 1. Moby-Dick + State of the Union, byte-level tokens, sequences of 128 (+1 target) tokens.
  const example = await buildExampleDataset({ outDir, tokenizer: 'byte', seqLen: 128 });

  // 2. Local: manifest, sizes, sha256 and token range are checked at open; seeded shuffle.
  const local = await openLocalProvider({ dir: example.trainDir, shuffleSeed: 42 });
  const batch = await local.getSequences([0, 1, 2, 3]);
  const { inputs, targets } = inputsAndTargets(batch, 0);
  console.log(local.describe());
  console.log('row 0 inputs :', JSON.stringify(byteTokenizer.decode(inputs.subarray(0, 60))));
  console.log('row 0 targets:', JSON.stringify(byteTokenizer.decode(targets.subarray(0, 60))));

  // 3. The same data over HTTP (Range requests) gives the same rows.
  const http = await startStaticHttpServer({ root: example.trainDir });
  const remote = await openHttpProvider({ source: { manifestUrl: `${http.url}manifest.json` }, shuffleSeed: 42 });
  console.log('HTTP equals local:', Buffer.compare(Buffer.from((await remote.getSequences([0, 1, 2, 3])).tokens.buffer), Buffer.from(batch.tokens.buffer)) === 0);

  // 4. A TCP data server that hands each trainer only the ids the coordinator assigned it this round.
  const authorizer = createRoundAuthorizer();
  authorizer.setAssignments(7, { alice: [[0, 3]], bob: [[4, 7]] });
  const server = await startTcpDataServer({ provider: local, authorize: authorizer.authorize });
  const alice = await connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'alice' });
  console.log('alice, ids 0-3 at step 7:', (await alice.getSequences([0, 1, 2, 3], { step: 7 })).tokens.length, 'tokens');
  await alice.getSequences([4], { step: 7 }).catch((error: Error) => console.log('alice, id 4:', error.message));

  await alice.close();
  await server.close();
  await remote.close();
  await http.close();
  await local.close();
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
