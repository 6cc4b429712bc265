/* The Psyche coordinator: one run account holds the whole state machine (see coordinator.h and
 * docs/coordinator.md). Every instruction validates accounts and data before mutating anything;
 * the TypeScript reference model (packages/coordinator-client/src/reference-model.ts) follows the
 * same checks in the same order and is compared against this program in differential tests. */
#include "coordinator.h"

#define FAIL(code, message) \
  do {                      \
    LOG(message);           \
    return (code);          \
  } while (0)

static void copy(void *dst, const void *src, u64 n) {
  if (n) sol_memcpy_(dst, src, n);
}
static void zero(void *dst, u64 n) {
  if (n) sol_memset_(dst, 0, n);
}

/* Exact data length of the fixed-size instructions; 0 for unknown ones and the variable-size ones. */
static u64 expected_data_len(u8 instruction) {
  switch (instruction) {
    case IX_INITIALIZE: return 1 + 32 + sizeof(Config);
    case IX_UPDATE_CONFIG: return 1 + sizeof(Config);
    case IX_JOIN: return 1 + 32;
    case IX_WITHDRAW: return 1;
    case IX_KICK: return 1 + 32;
    case IX_PAUSE: return 1;
    case IX_RESUME: return 1;
    case IX_TICK: return 1;
    case IX_WARMUP_WITNESS: return 1 + 2 + 32;
    case IX_CHECKPOINT: return 1 + 2 + 32 + LOCATION_LEN;
    case IX_SHUFFLE: return 1 + 32 + 4 + 4;
    case IX_ASSIGNMENT: return 1 + 2;
    default: return 0;
  }
}

static u64 read_u64(const u8 *p) {
  u64 v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static u32 read_u32(const u8 *p) { return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24); }
static u16 read_u16(const u8 *p) { return (u16)(p[0] | (p[1] << 8)); }

/* The variable-size instructions carry their own length: a witness ends with a Bloom filter whose
 * header gives its size; the Bloom views take a u16 filter length, then the item to the end. */
static bool_t data_len_ok(const u8 *data, u64 len) {
  switch (data[0]) {
    case IX_WITNESS:
      if (len < WITNESS_FIXED_LEN + BLOOM_HEADER_LEN) return 0;
      return len == WITNESS_FIXED_LEN + BLOOM_HEADER_LEN + bloom_bit_bytes(read_u32(data + WITNESS_FIXED_LEN + 2));
    case IX_BLOOM_CONTAINS: return len >= 3 && 3 + (u64)read_u16(data + 1) <= len;
    case IX_BLOOM_INDICES: return len >= 1 + 8 + 4 + 1;
    default: {
      u64 want = expected_data_len(data[0]);
      return want != 0 && len == want;
    }
  }
}

static u64 validate_config(const Config *c, u64 current_step) {
  if (c->total_steps < 1 || c->total_steps < current_step || c->total_steps > 0xffffffffULL) FAIL(ERR_INVALID_CONFIG, "config: total_steps");
  if (c->global_batch_start < 1 || c->global_batch_end < 1) FAIL(ERR_INVALID_CONFIG, "config: global batch must be >= 1");
  if (c->seq_len < 1) FAIL(ERR_INVALID_CONFIG, "config: seq_len");
  if (c->min_clients < 1 || c->init_min_clients < c->min_clients || c->init_min_clients > MAX_CLIENTS) FAIL(ERR_INVALID_CONFIG, "config: min clients");
  if (c->witness_nodes < 1 || c->witness_nodes > MAX_WITNESSES) FAIL(ERR_INVALID_CONFIG, "config: witness_nodes must be 1..32");
  if (c->max_round_train_time < 1 || c->round_witness_time < 1 || c->epoch_time < 1) FAIL(ERR_INVALID_CONFIG, "config: round and epoch times must be >= 1");
  if (c->distro_chunk < 1 || c->distro_topk < 1 || c->distro_topk > c->distro_chunk) FAIL(ERR_INVALID_CONFIG, "config: distro chunk/topk");
  if (c->distro_quantize_1bit > 1 || c->join_requires_authority > 1) FAIL(ERR_INVALID_CONFIG, "config: flags");
  return 0;
}

static bool_t elapsed(i64 now, i64 since, u64 seconds) { return now - since >= (i64)seconds; }

static i64 find_key(const Client *list, u32 count, const u8 *key) {
  for (u32 i = 0; i < count; i++)
    if (bytes_equal(list[i].key, key, 32)) return i;
  return -1;
}

static void remove_pending(Run *run, u32 index) {
  u32 after = run->num_pending - index - 1;
  if (after) sol_memmove_(&run->pending[index], &run->pending[index + 1], after * sizeof(Client));
  run->num_pending--;
  zero(&run->pending[run->num_pending], sizeof(Client));
}

/* Removes every client that is no longer Healthy, keeping the order of the others. */
static void compact_clients(Run *run) {
  u32 kept = 0;
  for (u32 i = 0; i < run->num_clients; i++) {
    if (run->clients[i].state != CLIENT_HEALTHY) continue;
    if (kept != i) copy(&run->clients[kept], &run->clients[i], sizeof(Client));
    kept++;
  }
  zero(&run->clients[kept], (run->num_clients - kept) * sizeof(Client));
  run->num_clients = (u16)kept;
}

/* Healthy clients go back to the front of the pending list (they stay members for the next epoch). */
static void return_clients_to_pending(Run *run) {
  compact_clients(run);
  u32 n = run->num_clients;
  if (n == 0) return;
  if (run->num_pending) sol_memmove_(&run->pending[n], &run->pending[0], run->num_pending * sizeof(Client));
  copy(&run->pending[0], &run->clients[0], n * sizeof(Client));
  for (u32 i = 0; i < n; i++) run->pending[i].state = CLIENT_PENDING;
  run->num_pending = (u16)(run->num_pending + n);
  zero(&run->clients[0], n * sizeof(Client));
  run->num_clients = 0;
}

/* Pending clients join at the next boundary (warmup or any round start), not only per epoch. */
static void admit_pending(Run *run) {
  u32 n = run->num_pending;
  if (n == 0) return;
  copy(&run->clients[run->num_clients], &run->pending[0], n * sizeof(Client));
  for (u32 i = 0; i < n; i++) run->clients[run->num_clients + i].state = CLIENT_HEALTHY;
  run->num_clients = (u16)(run->num_clients + n);
  zero(&run->pending[0], n * sizeof(Client));
  run->num_pending = 0;
}

static u32 min_u32(u32 a, u32 b) { return a < b ? a : b; }

/* next seed = sha256(seed ‖ mix ‖ u64le(step)): mix is the XOR of hash-chain reveals, values the
 * revealers committed to when they joined, so no single participant can choose it. */
static void advance_seed(Run *run, const u8 mix[32]) {
  u8 step_le[8];
  for (int i = 0; i < 8; i++) step_le[i] = (u8)(run->step >> (8 * i));
  SolBytes parts[3] = {{run->seed, 32}, {mix, 32}, {step_le, 8}};
  u8 out[32];
  sol_sha256(parts, 3, out);
  copy(run->seed, out, 32);
}

static void set_state(Run *run, u8 state, i64 now) {
  run->state = state;
  run->state_start_time = now;
}

static void start_round(Run *run, i64 now) {
  compact_clients(run);
  admit_pending(run);
  run->round_head = (run->round_head + 1) % NUM_ROUNDS;
  Round *round = &run->rounds[run->round_head];
  zero(round, sizeof(Round));
  round->step = run->step;
  round->data_index = run->data_index;
  round->start_time = now;
  round->global_batch = (u32)global_batch_for_step(&run->config, run->step);
  round->num_clients = run->num_clients;
  round->witness_expected = (u16)min_u32(run->config.witness_nodes, run->num_clients);
  copy(round->seed, run->seed, 32);
  set_state(run, STATE_ROUND_TRAIN, now);
}

static void start_warmup(Run *run, i64 now) {
  run->epoch++;
  run->epoch_start_time = now;
  admit_pending(run);
  run->warmup_witness_expected = (u16)min_u32(run->config.witness_nodes, run->num_clients);
  run->warmup_witnesses_submitted = 0;
  zero(run->warmup_mix, 32);
  zero(run->warmup_submitted, 32);
  set_state(run, STATE_WARMUP, now);
}

static u32 count_healthy(const Run *run) {
  u32 n = 0;
  for (u32 i = 0; i < run->num_clients; i++) n += run->clients[i].state == CLIENT_HEALTHY;
  return n;
}

/* End of RoundWitness: health check, consensus on the update, then the next round or cooldown. */
static void end_round(Run *run, i64 now) {
  Round *round = &run->rounds[run->round_head];
  u32 quorum = witness_quorum(round->witness_expected);
  bool_t decisive = round->witness_expected > 0 && round->witnesses_submitted >= quorum;
  if (decisive) {
    for (u32 i = 0; i < round->num_clients; i++)
      if (run->clients[i].state == CLIENT_HEALTHY && round->votes[i] < quorum) run->clients[i].state = CLIENT_DROPPED;
    for (u32 a = 0; a < round->witnesses_submitted && !round->agreed; a++) {
      u32 same = 0;
      for (u32 b = 0; b < round->witnesses_submitted; b++) same += bytes_equal(round->results[a].root, round->results[b].root, 32);
      if (same >= quorum) {
        round->agreed = 1;
        copy(round->agreed_root, round->results[a].root, 32);
      }
    }
  }
  compact_clients(run);
  u64 finished_step = round->step;
  run->step = finished_step + 1;
  run->data_index = round->data_index + round->global_batch;
  advance_seed(run, round->mix);
  if (!decisive || run->num_clients < run->config.min_clients || finished_step >= run->config.total_steps || run->pause_pending ||
      elapsed(now, run->epoch_start_time, run->config.epoch_time)) {
    set_state(run, STATE_COOLDOWN, now);
  } else {
    start_round(run, now);
  }
}

static void end_epoch(Run *run, i64 now) {
  return_clients_to_pending(run);
  if (run->step > run->config.total_steps) {
    set_state(run, STATE_FINISHED, now);
  } else if (run->pause_pending) {
    run->pause_pending = 0;
    set_state(run, STATE_PAUSED, now);
  } else {
    set_state(run, STATE_WAITING_FOR_MEMBERS, now);
  }
}

/* One transition per tick, decided by the clock and the submissions so far. */
static void tick(Run *run, i64 now) {
  const Config *c = &run->config;
  switch (run->state) {
    case STATE_WAITING_FOR_MEMBERS:
      if (run->num_pending >= c->init_min_clients && elapsed(now, run->state_start_time, c->waiting_for_members_extra_time))
        start_warmup(run, now);
      break;
    case STATE_WARMUP:
      if (count_healthy(run) < c->min_clients) {
        return_clients_to_pending(run);
        set_state(run, STATE_WAITING_FOR_MEMBERS, now);
      } else if (elapsed(now, run->state_start_time, c->warmup_time) ||
                 (run->warmup_witness_expected > 0 && run->warmup_witnesses_submitted >= run->warmup_witness_expected)) {
        advance_seed(run, run->warmup_mix);
        start_round(run, now);
      }
      break;
    case STATE_ROUND_TRAIN: {
      const Round *round = &run->rounds[run->round_head];
      if (elapsed(now, run->state_start_time, c->max_round_train_time) ||
          (round->witness_expected > 0 && round->witnesses_submitted >= witness_quorum(round->witness_expected)))
        set_state(run, STATE_ROUND_WITNESS, now);
      break;
    }
    case STATE_ROUND_WITNESS:
      if (elapsed(now, run->state_start_time, c->round_witness_time)) end_round(run, now);
      break;
    case STATE_COOLDOWN:
      if (elapsed(now, run->state_start_time, c->cooldown_time)) end_epoch(run, now);
      break;
    default:
      break;
  }
}

/* Checks that `index` names the signer, a Healthy client, that it has not submitted yet, that the
 * shuffle makes it a witness, and that `reveal` is the next link of its hash chain. */
typedef struct {
  u32 index;
  u32 count;
  u32 expected;
  const u8 *seed;
  const u8 *submitted;
  const u8 *signer;
  const u8 *reveal;
} WitnessClaim;

static u64 check_witness(Run *run, const WitnessClaim *claim) {
  u32 index = claim->index, count = claim->count;
  const u8 *submitted = claim->submitted, *reveal = claim->reveal;
  if (index >= count) FAIL(ERR_INDEX_OUT_OF_RANGE, "witness: client index out of range");
  Client *client = &run->clients[index];
  if (!bytes_equal(client->key, claim->signer, 32) || client->state != CLIENT_HEALTHY) FAIL(ERR_NOT_A_CLIENT, "witness: index does not name the signer");
  if ((submitted[index / 8] >> (index % 8)) & 1) FAIL(ERR_DUPLICATE_WITNESS, "witness: already submitted");
  if (!is_witness(index, count, claim->expected, claim->seed)) FAIL(ERR_NOT_A_WITNESS, "witness: not selected this round");
  u8 digest[32];
  SolBytes part = {reveal, 32};
  sol_sha256(&part, 1, digest);
  if (!bytes_equal(digest, client->chain, 32)) FAIL(ERR_REVEAL_MISMATCH, "witness: reveal does not hash to the committed chain link");
  return 0;
}

static void accept_reveal(Run *run, u32 index, u8 *mix, u8 *submitted, const u8 *reveal) {
  copy(run->clients[index].chain, reveal, 32);
  for (int i = 0; i < 32; i++) mix[i] ^= reveal[i];
  submitted[index / 8] |= (u8)(1 << (index % 8));
}

static bool_t is_authority_instruction(u8 ix) {
  return ix == IX_UPDATE_CONFIG || ix == IX_KICK || ix == IX_PAUSE || ix == IX_RESUME;
}

u64 entrypoint(const u8 *raw_input) {
  Input input;
  parse_input(raw_input, &input);
  if (input.data_len < 1) FAIL(ERR_INVALID_INSTRUCTION, "empty instruction data");
  const u8 ix = input.data[0];
  const u8 *args = input.data + 1;
  if (!data_len_ok(input.data, input.data_len)) FAIL(ERR_INVALID_INSTRUCTION, "unknown instruction or wrong data length");

  if (ix == IX_SHUFFLE) {
    u32 count = read_u32(args + 32);
    u32 index = read_u32(args + 36);
    if (count == 0 || index >= count) FAIL(ERR_INDEX_OUT_OF_RANGE, "shuffle: index out of range");
    u32 result = swap_or_not_index(index, count, args);
    sol_set_return_data((const u8 *)&result, 4);
    return 0;
  }
  if (ix == IX_BLOOM_CONTAINS) {
    u64 filter_len = read_u16(args);
    BloomFilter filter;
    if (!bloom_decode(args + 2, filter_len, &filter)) FAIL(ERR_MALFORMED_BLOOM, "bloom: not a canonical filter");
    u8 answer = (u8)bloom_contains(&filter, args + 2 + filter_len, input.data_len - 3 - filter_len);
    sol_set_return_data(&answer, 1);
    return 0;
  }
  if (ix == IX_BLOOM_INDICES) {
    BloomFilter shape = {read_u32(args + 8), args[12], args, NULL_PTR};
    if (!bloom_shape_ok(shape.bit_count, shape.hash_count)) FAIL(ERR_MALFORMED_BLOOM, "bloom: bit or hash count out of range");
    u32 indices[BLOOM_MAX_HASHES];
    bloom_indices(&shape, args + 13, input.data_len - 14, indices);
    sol_set_return_data((const u8 *)indices, 4 * (u64)shape.hash_count); /* SBF is little-endian: u32 LE each */
    return 0;
  }

  u64 accounts_needed = ix == IX_TICK || ix == IX_ASSIGNMENT ? 1 : 2;
  if (input.num_accounts < accounts_needed) FAIL(ERR_NOT_ENOUGH_ACCOUNTS, "not enough accounts");
  Account *run_account = &input.accounts[0];
  if (!bytes_equal(run_account->owner, input.program_id, 32)) FAIL(ERR_WRONG_OWNER, "run account not owned by this program");
  if (run_account->data_len != sizeof(Run)) FAIL(ERR_WRONG_ACCOUNT_SIZE, "run account has the wrong size");
  if (ix != IX_ASSIGNMENT && !run_account->is_writable) FAIL(ERR_NOT_WRITABLE, "run account must be writable");
  const Account *signer = accounts_needed == 2 ? &input.accounts[1] : NULL_PTR;
  if (signer && !signer->is_signer) FAIL(ERR_MISSING_SIGNER, "missing signature");
  Run *run = (Run *)run_account->data;
  if (ix == IX_INITIALIZE) {
    if (run->magic != 0 || run->version != 0) FAIL(ERR_ALREADY_INITIALIZED, "run already initialized");
  } else if (run->magic != RUN_MAGIC || run->version != RUN_VERSION) {
    FAIL(ERR_NOT_INITIALIZED, "run not initialized");
  }
  if (is_authority_instruction(ix) && !bytes_equal(signer->key, run->authority, 32)) FAIL(ERR_NOT_AUTHORITY, "signer is not the run authority");

  SolClock clock;
  sol_get_clock_sysvar(&clock);
  const i64 now = clock.unix_timestamp;

  switch (ix) {
    case IX_INITIALIZE: {
      Config config;
      copy(&config, args + 32, sizeof(Config));
      u64 err = validate_config(&config, 1);
      if (err) return err;
      run->magic = RUN_MAGIC;
      run->version = RUN_VERSION;
      copy(run->authority, signer->key, 32);
      copy(run->run_id, args, 32);
      copy(&run->config, &config, sizeof(Config));
      run->step = 1;
      SolBytes parts[2] = {{run->run_id, 32}, {run->authority, 32}};
      sol_sha256(parts, 2, run->seed);
      set_state(run, STATE_WAITING_FOR_MEMBERS, now);
      return 0;
    }
    case IX_UPDATE_CONFIG: {
      if (run->state != STATE_WAITING_FOR_MEMBERS && run->state != STATE_PAUSED) FAIL(ERR_WRONG_STATE, "config can change only while waiting or paused");
      Config config;
      copy(&config, args, sizeof(Config));
      u64 err = validate_config(&config, run->step);
      if (err) return err;
      copy(&run->config, &config, sizeof(Config));
      return 0;
    }
    case IX_JOIN: {
      if (run->state == STATE_FINISHED) FAIL(ERR_HALTED, "run finished");
      if (run->config.join_requires_authority) {
        if (input.num_accounts < 3) FAIL(ERR_NOT_ENOUGH_ACCOUNTS, "join: this run needs the authority's co-signature");
        const Account *approver = &input.accounts[2];
        if (!approver->is_signer) FAIL(ERR_MISSING_SIGNER, "join: authority did not sign");
        if (!bytes_equal(approver->key, run->authority, 32)) FAIL(ERR_NOT_AUTHORITY, "join: third account is not the run authority");
      }
      if (find_key(run->clients, run->num_clients, signer->key) >= 0 || find_key(run->pending, run->num_pending, signer->key) >= 0)
        FAIL(ERR_ALREADY_JOINED, "already joined");
      if (run->num_clients + run->num_pending >= MAX_CLIENTS) FAIL(ERR_RUN_FULL, "run full (256 clients)");
      Client *slot = &run->pending[run->num_pending++];
      copy(slot->key, signer->key, 32);
      copy(slot->chain, args, 32);
      slot->state = CLIENT_PENDING;
      return 0;
    }
    case IX_WITHDRAW:
    case IX_KICK: {
      const u8 *key = ix == IX_KICK ? args : signer->key;
      i64 p = find_key(run->pending, run->num_pending, key);
      if (p >= 0) {
        remove_pending(run, (u32)p);
        return 0;
      }
      i64 c = find_key(run->clients, run->num_clients, key);
      if (c < 0 || run->clients[c].state != CLIENT_HEALTHY) FAIL(ERR_NOT_A_CLIENT, "not a client of this run");
      run->clients[c].state = ix == IX_KICK ? CLIENT_EJECTED : CLIENT_WITHDRAWN;
      return 0;
    }
    case IX_PAUSE:
      switch (run->state) {
        case STATE_FINISHED: FAIL(ERR_HALTED, "run finished");
        case STATE_PAUSED: FAIL(ERR_WRONG_STATE, "already paused");
        case STATE_WAITING_FOR_MEMBERS: set_state(run, STATE_PAUSED, now); return 0;
        case STATE_WARMUP:
          return_clients_to_pending(run);
          set_state(run, STATE_PAUSED, now);
          return 0;
        default: run->pause_pending = 1; return 0;
      }
    case IX_RESUME:
      if (run->state != STATE_PAUSED) FAIL(ERR_WRONG_STATE, "not paused");
      set_state(run, STATE_WAITING_FOR_MEMBERS, now);
      return 0;
    case IX_TICK:
      tick(run, now);
      return 0;
    case IX_WARMUP_WITNESS: {
      if (run->state != STATE_WARMUP) FAIL(ERR_WRONG_STATE, "not in warmup");
      u32 index = read_u16(args);
      WitnessClaim claim = {index, run->num_clients, run->warmup_witness_expected, run->seed, run->warmup_submitted, signer->key, args + 2};
      u64 err = check_witness(run, &claim);
      if (err) return err;
      accept_reveal(run, index, run->warmup_mix, run->warmup_submitted, args + 2);
      run->warmup_witnesses_submitted++;
      return 0;
    }
    case IX_WITNESS: {
      if (run->state != STATE_ROUND_TRAIN && run->state != STATE_ROUND_WITNESS) FAIL(ERR_WRONG_STATE, "no round in progress");
      Round *round = &run->rounds[run->round_head];
      if (read_u64(args) != round->step) FAIL(ERR_WRONG_ROUND, "witness for another step");
      u32 index = read_u16(args + 8);
      const u8 *reveal = args + 10;
      const u8 *participants = args + 42;
      const u8 *root = args + 74;
      for (u32 i = round->num_clients; i < MAX_CLIENTS; i++)
        if ((participants[i / 8] >> (i % 8)) & 1) FAIL(ERR_INDEX_OUT_OF_RANGE, "witness: participant bit beyond the round's clients");
      BloomFilter filter;
      if (!bloom_decode(input.data + WITNESS_FIXED_LEN, input.data_len - WITNESS_FIXED_LEN, &filter))
        FAIL(ERR_MALFORMED_BLOOM, "witness: participant filter is not a canonical Bloom filter");
      u32 bits = 0, hashes = 0;
      if (!witness_bloom_parameters(round->num_clients, &bits, &hashes) || filter.bit_count != bits || filter.hash_count != hashes ||
          !bytes_equal(filter.seed_le, round->seed, 8))
        FAIL(ERR_BLOOM_MISMATCH, "witness: participant filter not sized for the round's clients or not seeded by its seed");
      WitnessClaim claim = {index, round->num_clients, round->witness_expected, round->seed, round->submitted, signer->key, reveal};
      u64 err = check_witness(run, &claim);
      if (err) return err;
      /* The filter (Psyche's participant filter, the one witnesses gossip) must hold SHA-256(key) of
       * every participant the bitmap votes for; the bitmap stays the vote (docs/coordinator.md). */
      for (u32 i = 0; i < round->num_clients; i++) {
        if (!((participants[i / 8] >> (i % 8)) & 1)) continue;
        u8 item[32];
        SolBytes key = {run->clients[i].key, 32};
        sol_sha256(&key, 1, item);
        if (!bloom_contains(&filter, item, 32)) FAIL(ERR_PARTICIPANT_NOT_IN_BLOOM, "witness: a participant is missing from the participant filter");
      }
      accept_reveal(run, index, round->mix, round->submitted, reveal);
      WitnessResult *result = &round->results[round->witnesses_submitted++];
      result->client_index = (u16)index;
      copy(result->root, root, 32);
      for (u32 i = 0; i < round->num_clients; i++) round->votes[i] += (participants[i / 8] >> (i % 8)) & 1;
      return 0;
    }
    case IX_CHECKPOINT: {
      if (run->state != STATE_COOLDOWN) FAIL(ERR_WRONG_STATE, "checkpoints are recorded in cooldown");
      u32 index = read_u16(args);
      if (index == 0xffff) {
        if (!bytes_equal(signer->key, run->authority, 32)) FAIL(ERR_NOT_AUTHORITY, "signer is not the run authority");
      } else {
        if (index >= run->num_clients) FAIL(ERR_INDEX_OUT_OF_RANGE, "checkpoint: client index out of range");
        if (!bytes_equal(run->clients[index].key, signer->key, 32) || run->clients[index].state != CLIENT_HEALTHY)
          FAIL(ERR_NOT_A_CLIENT, "checkpoint: index does not name the signer");
      }
      if (run->num_checkpoints > 0 && run->checkpoints[(run->num_checkpoints - 1) % NUM_CHECKPOINTS].epoch == run->epoch)
        FAIL(ERR_CHECKPOINT_EXISTS, "checkpoint for this epoch already recorded");
      Checkpoint *checkpoint = &run->checkpoints[run->num_checkpoints % NUM_CHECKPOINTS];
      checkpoint->epoch = run->epoch;
      checkpoint->step = run->step - 1;
      copy(checkpoint->hash, args + 2, 32);
      copy(checkpoint->location, args + 34, LOCATION_LEN);
      copy(checkpoint->submitter, signer->key, 32);
      run->num_checkpoints++;
      return 0;
    }
    case IX_ASSIGNMENT: {
      if (run->state != STATE_ROUND_TRAIN && run->state != STATE_ROUND_WITNESS) FAIL(ERR_WRONG_STATE, "no round in progress");
      const Round *round = &run->rounds[run->round_head];
      u32 index = read_u16(args);
      if (index >= round->num_clients) FAIL(ERR_INDEX_OUT_OF_RANGE, "assignment: client index out of range");
      u64 start = 0, end = 0;
      data_assignment(round, index, &start, &end);
      u8 out[17];
      out[0] = (u8)is_witness(index, round->num_clients, round->witness_expected, round->seed);
      for (int i = 0; i < 8; i++) {
        out[1 + i] = (u8)(start >> (8 * i));
        out[9 + i] = (u8)(end >> (8 * i));
      }
      sol_set_return_data(out, 17);
      return 0;
    }
    default:
      FAIL(ERR_INVALID_INSTRUCTION, "unknown instruction");
  }
}
