/* Account layout and constants of the Psyche coordinator. The TypeScript codec in
 * packages/coordinator-client/src/run-account.ts mirrors these offsets; the static asserts below
 * pin them so a change here breaks the build instead of silently breaking clients. */
#ifndef PSYCHE_COORDINATOR_H
#define PSYCHE_COORDINATOR_H
#include "sbf.h"
#include "bloom.h"

#define RUN_MAGIC 0x44524f4f43595350ULL /* "PSYCOORD" little endian */
#define RUN_VERSION 1
#define MAX_CLIENTS 256
#define MAX_WITNESSES 32
#define NUM_ROUNDS 4
#define NUM_CHECKPOINTS 4
#define LOCATION_LEN 128

enum RunState {
  STATE_UNINITIALIZED = 0,
  STATE_WAITING_FOR_MEMBERS = 1,
  STATE_WARMUP = 2,
  STATE_ROUND_TRAIN = 3,
  STATE_ROUND_WITNESS = 4,
  STATE_COOLDOWN = 5,
  STATE_FINISHED = 6,
  STATE_PAUSED = 7,
};

enum ClientState {
  CLIENT_PENDING = 0,
  CLIENT_HEALTHY = 1,
  CLIENT_DROPPED = 2,
  CLIENT_WITHDRAWN = 3,
  CLIENT_EJECTED = 4,
};

enum Instruction {
  IX_INITIALIZE = 0,
  IX_UPDATE_CONFIG = 1,
  IX_JOIN = 2,
  IX_WITHDRAW = 3,
  IX_KICK = 4,
  IX_PAUSE = 5,
  IX_RESUME = 6,
  IX_TICK = 7,
  IX_WARMUP_WITNESS = 8,
  IX_WITNESS = 9,
  IX_CHECKPOINT = 10,
  IX_SHUFFLE = 11,
  IX_ASSIGNMENT = 12,
  IX_BLOOM_CONTAINS = 13, /* view: membership in a canonical filter (the shared test vectors run through it) */
  IX_BLOOM_INDICES = 14,  /* view: the k probe indices of an item */
};

/* Witness data: step u64 ‖ client index u16 ‖ reveal 32 ‖ participant bitmap 32 ‖ result root 32, then
 * the participant Bloom filter (canonical encoding, bloom.h) to the end. */
#define WITNESS_FIXED_LEN (1 + 8 + 2 + 32 + 32 + 32)

/* Program error codes: returned as Custom(code); same numbers as @psyche/core's COORDINATOR_PROGRAM_*. */
enum Error {
  ERR_INVALID_INSTRUCTION = 8100,
  ERR_MISSING_SIGNER = 8101,
  ERR_WRONG_OWNER = 8102,
  ERR_NOT_WRITABLE = 8103,
  ERR_WRONG_ACCOUNT_SIZE = 8104,
  ERR_ALREADY_INITIALIZED = 8105,
  ERR_NOT_INITIALIZED = 8106,
  ERR_INVALID_CONFIG = 8107,
  ERR_NOT_AUTHORITY = 8108,
  ERR_WRONG_STATE = 8109,
  ERR_RUN_FULL = 8110,
  ERR_ALREADY_JOINED = 8111,
  ERR_NOT_A_CLIENT = 8112,
  ERR_NOT_A_WITNESS = 8113,
  ERR_INDEX_OUT_OF_RANGE = 8114,
  ERR_WRONG_ROUND = 8115,
  ERR_DUPLICATE_WITNESS = 8116,
  ERR_REVEAL_MISMATCH = 8117,
  ERR_NOT_ENOUGH_ACCOUNTS = 8118,
  ERR_HALTED = 8119,
  ERR_CHECKPOINT_EXISTS = 8122,
  ERR_MALFORMED_BLOOM = 8123,           /* not a canonical Bloom filter, or probe parameters out of range */
  ERR_BLOOM_MISMATCH = 8124,            /* a witness filter not sized for the round's clients or not seeded by its seed */
  ERR_PARTICIPANT_NOT_IN_BLOOM = 8125,  /* a participant bit set for a client the witness's filter does not contain */
};

typedef struct {
  u64 total_steps;
  u64 batch_ramp_steps;      /* global batch grows linearly from start to end over these steps */
  u32 global_batch_start;    /* sequences per step */
  u32 global_batch_end;
  u32 seq_len;               /* tokens per sequence */
  u32 warmup_time;           /* seconds */
  u32 max_round_train_time;
  u32 round_witness_time;
  u32 cooldown_time;
  u32 epoch_time;
  u32 waiting_for_members_extra_time;
  u16 init_min_clients;
  u16 min_clients;
  u16 witness_nodes;         /* 1..32 */
  u16 distro_chunk;
  u16 distro_topk;
  u8 distro_quantize_1bit;
  u8 join_requires_authority; /* permissioned run: the authority co-signs every join */
  u32 distro_compression_decay_bits; /* f32 bit patterns: the program stores, never computes */
  u32 distro_weight_decay_bits;
  u32 distro_clip_grad_norm_bits;
  u32 learning_rate_bits;
  u8 model_location[LOCATION_LEN];
  u8 data_location[LOCATION_LEN];
} Config;

typedef struct {
  u8 key[32];
  u8 chain[32]; /* last revealed link of the client's hash chain (its randomness commitment) */
  u8 state;
  u8 pad[7];
} Client;

typedef struct {
  u16 client_index;
  u8 pad[6];
  u8 root[32]; /* the witness's vote: Merkle root of the commitments it accepted */
} WitnessResult;

typedef struct {
  u64 step;
  u64 data_index;
  i64 start_time;
  u32 global_batch;
  u16 num_clients;
  u16 witness_expected;
  u16 witnesses_submitted;
  u8 agreed;
  u8 pad[5];
  u8 seed[32];
  u8 mix[32];       /* XOR of the witnesses' reveals: feeds the next round's seed */
  u8 submitted[32]; /* bitmap by client index */
  u8 agreed_root[32];
  u8 votes[MAX_CLIENTS]; /* witnesses that saw each client (health) */
  WitnessResult results[MAX_WITNESSES];
} Round;

typedef struct {
  u64 epoch;
  u64 step;
  u8 hash[32];
  u8 location[LOCATION_LEN];
  u8 submitter[32];
} Checkpoint;

typedef struct {
  u64 magic;
  u8 version;
  u8 state;
  u8 pause_pending;
  u8 pad0[5];
  u8 authority[32];
  u8 run_id[32];
  Config config;
  u64 epoch;
  u64 step; /* the step of the current round, or of the next one between rounds */
  u64 data_index;
  i64 state_start_time;
  i64 epoch_start_time;
  u8 seed[32];
  u8 warmup_mix[32];
  u8 warmup_submitted[32];
  u16 num_clients;
  u16 num_pending;
  u16 warmup_witness_expected;
  u16 warmup_witnesses_submitted;
  u32 round_head;
  u32 num_checkpoints;
  Client clients[MAX_CLIENTS];
  Client pending[MAX_CLIENTS];
  Round rounds[NUM_ROUNDS];
  Checkpoint checkpoints[NUM_CHECKPOINTS];
} Run;

_Static_assert(sizeof(Config) == 336, "Config layout");
_Static_assert(sizeof(Client) == 72, "Client layout");
_Static_assert(sizeof(Round) == 1704, "Round layout");
_Static_assert(sizeof(Checkpoint) == 208, "Checkpoint layout");
_Static_assert(offsetof(Run, config) == 80, "Run.config");
_Static_assert(offsetof(Run, epoch) == 416, "Run.epoch");
_Static_assert(offsetof(Run, clients) == 568, "Run.clients");
_Static_assert(offsetof(Run, pending) == 19000, "Run.pending");
_Static_assert(offsetof(Run, rounds) == 37432, "Run.rounds");
_Static_assert(offsetof(Run, checkpoints) == 44248, "Run.checkpoints");
_Static_assert(sizeof(Run) == 45080, "Run layout");

/* shuffle.c: deterministic selection shared with @psyche/coordinator-client. */
u32 swap_or_not_index(u32 index, u32 count, const u8 seed[32]);
void derive_seed(const u8 seed[32], const char *label, u64 label_len, u8 out[32]);
u32 witness_quorum(u32 witnesses);
bool_t is_witness(u32 index, u32 count, u32 expected, const u8 seed[32]);
u64 global_batch_for_step(const Config *config, u64 step);
void data_assignment(const Round *round, u32 index, u64 *start, u64 *end);

#endif
