/* Deterministic helpers computed identically here and in @psyche/coordinator-client
 * (selection.ts); shared test vectors in the client's tests keep them equal. */
#include "coordinator.h"

#define SWAP_OR_NOT_ROUNDS 90

/* Swap-or-not (Hoang–Morris–Rogaway), exactly @psyche/core's swapOrNotIndex / Ethereum's
 * compute_shuffled_index: 90 rounds, each sha256(seed ‖ r) for the pivot and
 * sha256(seed ‖ r ‖ u32le(position / 256)) for the swap bit. */
u32 swap_or_not_index(u32 index, u32 count, const u8 seed[32]) {
  u8 digest[32];
  u8 round_byte[1];
  u8 block[4];
  SolBytes pivot_input[2] = {{seed, 32}, {round_byte, 1}};
  SolBytes source_input[3] = {{seed, 32}, {round_byte, 1}, {block, 4}};
  u64 current = index;
  for (u32 round = 0; round < SWAP_OR_NOT_ROUNDS; round++) {
    round_byte[0] = (u8)round;
    sol_sha256(pivot_input, 2, digest);
    u64 pivot_word = 0;
    for (int i = 7; i >= 0; i--) pivot_word = (pivot_word << 8) | digest[i];
    u64 pivot = pivot_word % count;
    u64 flip = (pivot + count - current) % count;
    u64 position = current > flip ? current : flip;
    u64 block_index = position / 256;
    block[0] = (u8)block_index;
    block[1] = (u8)(block_index >> 8);
    block[2] = (u8)(block_index >> 16);
    block[3] = (u8)(block_index >> 24);
    sol_sha256(source_input, 3, digest);
    u8 byte = digest[(position % 256) / 8];
    if ((byte >> (position % 8)) & 1) current = flip;
  }
  return (u32)current;
}

/* sha256(seed ‖ label): one independent stream per purpose ("witness", "data"). */
void derive_seed(const u8 seed[32], const char *label, u64 label_len, u8 out[32]) {
  SolBytes parts[2] = {{seed, 32}, {(const u8 *)label, label_len}};
  sol_sha256(parts, 2, out);
}

/* Psyche's quorum: 1→1, 2→2, 3→2, otherwise floor(2n/3). */
u32 witness_quorum(u32 witnesses) {
  if (witnesses <= 2) return witnesses;
  if (witnesses == 3) return 2;
  return (2 * witnesses) / 3;
}

/* A client is a witness when its shuffled position falls among the first `expected`. */
bool_t is_witness(u32 index, u32 count, u32 expected, const u8 seed[32]) {
  u8 witness_seed[32];
  derive_seed(seed, "witness", 7, witness_seed);
  return swap_or_not_index(index, count, witness_seed) < expected;
}

/* Linear ramp from global_batch_start at step 1 to global_batch_end after batch_ramp_steps. */
u64 global_batch_for_step(const Config *config, u64 step) {
  u64 start = config->global_batch_start;
  u64 end = config->global_batch_end;
  u64 done = step - 1;
  if (config->batch_ramp_steps == 0 || done >= config->batch_ramp_steps) return end;
  if (end >= start) return start + (end - start) * done / config->batch_ramp_steps;
  return start - (start - end) * done / config->batch_ramp_steps;
}

/* The client at `index` trains the contiguous interval [start, end) of the round's batch: clients
 * are permuted by swap-or-not over sha256(seed ‖ "data"); position p gets ⌊B/n⌋ sequences, one more
 * when p < B mod n. */
void data_assignment(const Round *round, u32 index, u64 *start, u64 *end) {
  u8 data_seed[32];
  derive_seed(round->seed, "data", 4, data_seed);
  u64 n = round->num_clients;
  u64 position = swap_or_not_index(index, (u32)n, data_seed);
  u64 batch = round->global_batch;
  u64 share = batch / n;
  u64 extra = batch % n;
  u64 offset = position * share + (position < extra ? position : extra);
  *start = round->data_index + offset;
  *end = *start + share + (position < extra ? 1 : 0);
}
