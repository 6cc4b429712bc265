// Regenerates test-vectors/*.json (npm run vectors -w @psyche/verify). A test fails when they drift.
import { writeFileSync } from 'node:fs';
import { bloomTestVectors, merkleTestVectors } from '../src/test-vectors-internal.ts';

const directory = new URL('../test-vectors/', import.meta.url);
writeFileSync(new URL('bloom.json', directory), `${JSON.stringify(bloomTestVectors(), null, 2)}\n`);
writeFileSync(new URL('merkle.json', directory), `${JSON.stringify(merkleTestVectors(), null, 2)}\n`);
console.log('wrote test-vectors/bloom.json and test-vectors/merkle.json');
