import fc from 'fast-check';

/**
 * Keys that turn a parsed object against code that handles it carelessly: `String(x)` and template
 * literals call `toString`/`valueOf` (a JSON `null` there makes them throw a TypeError),
 * `JSON.stringify` calls `toJSON`, `obj[key] = v` with `__proto__` sets the prototype instead of a field.
 */
export const HOSTILE_JSON_KEYS = ['toString', 'valueOf', '__proto__', 'constructor', 'toJSON', 'hasOwnProperty', 'length', 'then'] as const;

/**
 * Number texts JSON allows whose parsed value surprises: 1e400 parses to Infinity, 1e-400 to 0,
 * -0 keeps its sign, 2^53 + 1 rounds, and the u32/u64 edges.
 */
const HOSTILE_NUMBERS = ['-0', '-0.0', '1e400', '-1e400', '1e-400', '9007199254740993', '9007199254740992', '-9007199254740993', '4294967295', '4294967296', '18446744073709551616', '0.5', '1.0', '1e2', '-1', '5e-324', '1.7976931348623157e308'];

/**
 * Nesting that overflows the stack of any recursive walk over the parsed value (String() of an
 * array, JSON.stringify, a recursive equality) at about 5,000 levels; JSON.parse itself copes.
 */
const DEEP_LEVELS = [64, 6_000, 20_000];

/**
 * JSON texts of values that break validation written for friendly input: objects with the keys
 * above, surprising numbers, very deep nesting, and ordinary JSON around them.
 * Text rather than values, so that `__proto__` arrives as JSON.parse makes it (an own key).
 */
export function hostileJsonText(): fc.Arbitrary<string> {
  const leaf = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
    fc.constantFrom(...HOSTILE_NUMBERS),
    fc.constantFrom('null', 'true', '""', '"__proto__"', '"toString"', '[]', '{}'),
  );
  const deep = fc.tuple(fc.constantFrom(...DEEP_LEVELS), fc.boolean()).map(([levels, arrays]) =>
    arrays ? `${'['.repeat(levels)}${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}null${'}'.repeat(levels)}`,
  );
  const { value } = fc.letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { arbitrary: leaf, weight: 3 },
      {
        arbitrary: fc
          .array(fc.tuple(fc.oneof({ arbitrary: fc.constantFrom(...HOSTILE_JSON_KEYS), weight: 3 }, { arbitrary: fc.string({ maxLength: 4 }), weight: 1 }), tie('value')), { maxLength: 3 })
          .map((entries) => `{${entries.map(([key, v]) => `${JSON.stringify(key)}:${v}`).join(',')}}`),
        weight: 3,
      },
      { arbitrary: fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`), weight: 2 },
      { arbitrary: deep, weight: 1 },
    ),
  }));
  return value;
}

/** The parsed values of {@link hostileJsonText}. */
export function hostileJsonValue(): fc.Arbitrary<unknown> {
  return hostileJsonText().map((text) => JSON.parse(text) as unknown);
}
