/* Witness Bloom filters, exactly as @psyche/verify specifies them (docs/verify.md, "Bloom
 * filters"): canonical decoding and the SHA-256 double-hashing index function. The test vectors of
 * packages/verify/test-vectors/bloom.json run through this code on the SVM
 * (packages/coordinator-client/src/__tests__/bloom-program.test.ts). */
#ifndef PSYCHE_BLOOM_H
#define PSYCHE_BLOOM_H
#include "sbf.h"

#define BLOOM_ENCODING_VERSION 1
#define BLOOM_HEADER_LEN 14 /* version u8 ‖ hash count u8 ‖ bit count u32 LE ‖ seed u64 LE */
#define BLOOM_MIN_BITS 8
#define BLOOM_MAX_BITS (1u << 24)
#define BLOOM_MAX_HASHES 32

typedef struct {
  u32 bit_count;
  u32 hash_count;
  const u8 *seed_le; /* the u64 seed as its 8 little-endian bytes, exactly what SHA-256 reads first */
  const u8 *bits;    /* ceil(bit_count / 8) bytes, LSB-first */
} BloomFilter;

/* Bit-array bytes of a filter of `bit_count` bits (no range check: u64 cannot overflow). */
static inline u64 bloom_bit_bytes(u64 bit_count) { return (bit_count + 7) / 8; }

/* True when (bit count, hash count) lie in the accepted ranges. */
bool_t bloom_shape_ok(u64 bit_count, u64 hash_count);

/* Reads the canonical encoding of exactly `len` bytes; false (nothing read) unless it is canonical:
 * version 1, 1 ≤ k ≤ 32, 8 ≤ m ≤ 2^24, length exactly 14 + ceil(m/8), padding bits zero. */
bool_t bloom_decode(const u8 *bytes, u64 len, BloomFilter *out);

/* The k probe indices of `item` for the filter's seed, m and k (bits unused; m and k must satisfy
 * bloom_shape_ok): d = SHA-256(seed u64 LE ‖ item), a = u64le(d[0..8]) mod m,
 * b = 1 + u64le(d[8..16]) mod (m − 1), index_i = (a + i·b) mod m. (SBF calls take at most 5
 * arguments, hence the struct.) */
void bloom_indices(const BloomFilter *shape, const u8 *item, u64 item_len, u32 *out);

/* Membership: every probe bit set. */
bool_t bloom_contains(const BloomFilter *filter, const u8 *item, u64 item_len);

/* @psyche/verify's bloomParameters(n, 0.01) for 1 ≤ n ≤ 256 (bloom_sizing.h); false outside. */
bool_t witness_bloom_parameters(u32 members, u32 *bit_count, u32 *hash_count);

#endif
