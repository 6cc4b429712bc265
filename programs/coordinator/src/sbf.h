/* Minimal SBF runtime interface: integer types, syscalls, input deserialization.
 * SBPF v0 has no writable globals: everything lives in account data, on the stack or in the heap. */
#ifndef PSYCHE_SBF_H
#define PSYCHE_SBF_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;
typedef int bool_t;

#define NULL_PTR ((void *)0)
#define offsetof(t, f) __builtin_offsetof(t, f)

typedef struct { const u8 *addr; u64 len; } SolBytes;
typedef struct {
  u64 slot;
  i64 epoch_start_timestamp;
  u64 epoch;
  u64 leader_schedule_epoch;
  i64 unix_timestamp;
} SolClock;

/* Syscalls: resolved by name at load time (see @psyche/sbf-linker). */
extern void sol_log_(const char *message, u64 len);
extern void sol_log_64_(u64, u64, u64, u64, u64);
extern u64 sol_sha256(const SolBytes *values, u64 count, u8 *result);
extern void sol_memcpy_(void *dst, const void *src, u64 n);
extern void sol_memmove_(void *dst, const void *src, u64 n);
extern void sol_memset_(void *dst, int value, u64 n);
extern void sol_memcmp_(const void *a, const void *b, u64 n, int *result);
extern u64 sol_get_clock_sysvar(SolClock *clock);
extern void sol_set_return_data(const u8 *data, u64 len);

#define LOG(literal) sol_log_((literal), sizeof(literal) - 1)

static inline bool_t bytes_equal(const void *a, const void *b, u64 n) {
  int result = 1;
  sol_memcmp_(a, b, n, &result);
  return result == 0;
}

/* One account of the serialized input (aligned loader layout). */
typedef struct {
  const u8 *key;
  const u8 *owner;
  u8 *data;
  u64 data_len;
  u8 is_signer;
  u8 is_writable;
} Account;

#define MAX_INPUT_ACCOUNTS 4
#define MAX_PERMITTED_DATA_INCREASE 10240

typedef struct {
  Account accounts[MAX_INPUT_ACCOUNTS];
  u64 num_accounts; /* as passed; only the first MAX_INPUT_ACCOUNTS are parsed */
  const u8 *data;
  u64 data_len;
  const u8 *program_id;
} Input;

/* Walks the loader's serialization: u64 count, then per account a duplicate marker and either the
 * account record (flags, key, owner, lamports, data, realloc padding, rent epoch) or 7 padding bytes. */
static inline void parse_input(const u8 *input, Input *out) {
  u64 count = *(const u64 *)input;
  input += 8;
  out->num_accounts = count;
  for (u64 i = 0; i < count; i++) {
    u8 dup = *input;
    Account *slot = i < MAX_INPUT_ACCOUNTS ? &out->accounts[i] : NULL_PTR;
    if (dup != 0xff) {
      if (slot && dup < MAX_INPUT_ACCOUNTS) *slot = out->accounts[dup];
      input += 8;
      continue;
    }
    const u8 *record = input;
    u64 data_len = *(const u64 *)(record + 80);
    if (slot) {
      slot->is_signer = record[1];
      slot->is_writable = record[2];
      slot->key = record + 8;
      slot->owner = record + 40;
      slot->data_len = data_len;
      slot->data = (u8 *)(record + 88);
    }
    input = record + 88 + data_len + MAX_PERMITTED_DATA_INCREASE;
    input = (const u8 *)(((u64)input + 7) & ~(u64)7);
    input += 8; /* rent epoch */
  }
  out->data_len = *(const u64 *)input;
  out->data = input + 8;
  out->program_id = input + 8 + out->data_len;
}

#endif
