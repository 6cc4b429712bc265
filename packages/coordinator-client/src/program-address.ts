import { address, type Address } from '@solana/kit';

/**
 * Where the embedded localnet and the tests load the coordinator program: base58 of
 * sha256("psyche coordinator program"), a fixed address with no known private key. A deployment
 * elsewhere passes its own program address to every builder.
 */
export const COORDINATOR_PROGRAM_ADDRESS: Address = address('DUiNwY8cHdNKko4XkWjC3z2sCnL2XBrCdmVvMVebqF4u');
