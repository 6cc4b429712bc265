import fc from 'fast-check';

// `npm test` is CI's gate, so its property tests run from one fixed seed: a red run is then
// a regression anyone can reproduce, not the luck of the draw. `npm run test:fuzz` (FUZZ_RUNS
// set) explores from a fresh seed each time; fast-check prints the seed and path of a failure,
// and FUZZ_SEED=<seed> replays it under either command.
const DEFAULT_SEED = 0x5eed;

const explicit = process.env.FUZZ_SEED;
if (explicit !== undefined && !Number.isSafeInteger(Number(explicit))) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(explicit)}`);
const seed = explicit !== undefined ? Number(explicit) : process.env.FUZZ_RUNS === undefined ? DEFAULT_SEED : undefined;
if (seed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
