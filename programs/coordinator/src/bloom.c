/* Witness Bloom filters: see bloom.h and docs/verify.md. */
#include "bloom.h"
#include "bloom_sizing.h"

bool_t bloom_shape_ok(u64 bit_count, u64 hash_count) {
  return bit_count >= BLOOM_MIN_BITS && bit_count <= BLOOM_MAX_BITS && hash_count >= 1 && hash_count <= BLOOM_MAX_HASHES;
}

bool_t bloom_decode(const u8 *bytes, u64 len, BloomFilter *out) {
  if (len < BLOOM_HEADER_LEN || bytes[0] != BLOOM_ENCODING_VERSION) return 0;
  u64 hash_count = bytes[1];
  u64 bit_count = (u64)bytes[2] | ((u64)bytes[3] << 8) | ((u64)bytes[4] << 16) | ((u64)bytes[5] << 24);
  if (!bloom_shape_ok(bit_count, hash_count)) return 0;
  if (len != BLOOM_HEADER_LEN + bloom_bit_bytes(bit_count)) return 0;
  const u8 *bits = bytes + BLOOM_HEADER_LEN;
  u64 padding = bit_count % 8;
  if (padding != 0 && (bits[bit_count / 8] >> padding) != 0) return 0;
  out->bit_count = (u32)bit_count;
  out->hash_count = (u32)hash_count;
  out->seed_le = bytes + 6;
  out->bits = bits;
  return 1;
}

/* a and b of the double hashing: index_i = (a + i·b) mod m. */
static void probe_start(const BloomFilter *shape, const u8 *item, u64 item_len, u64 *a, u64 *b) {
  SolBytes parts[2] = {{shape->seed_le, 8}, {item, item_len}};
  u64 digest[4]; /* SBF is little-endian: digest[0] is u64le(d[0..8]), digest[1] u64le(d[8..16]) */
  sol_sha256(parts, 2, (u8 *)digest);
  u64 m = shape->bit_count;
  *a = digest[0] % m;
  *b = 1 + digest[1] % (m - 1);
}

void bloom_indices(const BloomFilter *shape, const u8 *item, u64 item_len, u32 *out) {
  u64 a, b;
  probe_start(shape, item, item_len, &a, &b);
  /* a, b < 2^24 and i < 32: a + i·b < 2^30, no overflow. */
  for (u32 i = 0; i < shape->hash_count; i++) out[i] = (u32)((a + i * b) % shape->bit_count);
}

/* The same indices as bloom_indices, stepped without a multiply or a division per probe: a, b < m,
 * so adding b and subtracting m once keeps the index reduced (this is the per-participant cost of a
 * witness with 256 participants). */
bool_t bloom_contains(const BloomFilter *filter, const u8 *item, u64 item_len) {
  u64 index, step;
  probe_start(filter, item, item_len, &index, &step);
  u64 m = filter->bit_count;
  for (u32 i = 0; i < filter->hash_count; i++) {
    if (!((filter->bits[index >> 3] >> (index & 7)) & 1)) return 0;
    index += step;
    if (index >= m) index -= m;
  }
  return 1;
}

bool_t witness_bloom_parameters(u32 members, u32 *bit_count, u32 *hash_count) {
  if (members < 1 || members > WITNESS_BLOOM_MAX_MEMBERS) return 0;
  *bit_count = WITNESS_BLOOM_BITS[members - 1];
  *hash_count = WITNESS_BLOOM_HASHES[members - 1];
  return 1;
}
