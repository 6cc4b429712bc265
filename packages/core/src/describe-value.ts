/** Longest text {@link describeValue} returns; a hostile input can't make an error message large. */
export const MAX_DESCRIBED_VALUE_CHARS = 80;

/**
 * A short, printable description of any value, for error messages about bad input.
 * Never throws and never calls into the value: `String(x)` runs the value's own `toString`
 * or `Symbol.toPrimitive`, which a parsed `{"toString": null}` or a Proxy turns into a TypeError,
 * so the caller would throw that instead of its coded error.
 */
export function describeValue(value: unknown): string {
  return truncate(describeUnbounded(value));
}

function describeUnbounded(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > MAX_DESCRIBED_VALUE_CHARS ? value.slice(0, MAX_DESCRIBED_VALUE_CHARS) : value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value.toString()}n`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      // Array.isArray sees through a Proxy without calling its traps, unlike reading `.length`.
      try {
        return Array.isArray(value) ? 'an array' : ArrayBuffer.isView(value) ? 'a typed array' : 'an object';
      } catch {
        return 'an object';
      }
  }
}

function truncate(text: string): string {
  return text.length > MAX_DESCRIBED_VALUE_CHARS ? `${text.slice(0, MAX_DESCRIBED_VALUE_CHARS - 1)}…` : text;
}

/** Most dimensions {@link describeShape} lists before it elides the rest. */
const MAX_DESCRIBED_DIMS = 8;

/**
 * A tensor shape for an error message: `[64, 128]` when it is an array of numbers, else
 * {@link describeValue}. Like that, never throws, never calls into the value's methods and stays
 * within 80 characters; `JSON.stringify(shape)` overflowed the stack on arrays nested a few
 * thousand deep and threw a TypeError on a bigint, `String(shape)` on `[{toString: null}]`.
 */
export function describeShape(shape: unknown): string {
  try {
    if (!Array.isArray(shape)) return describeValue(shape);
    // Indexing, not shape.slice/map: a caller's array can carry its own methods.
    const shown: string[] = [];
    for (let i = 0; i < Math.min(shape.length, MAX_DESCRIBED_DIMS); i++) shown.push(describeValue(shape[i]));
    return truncate(`[${shown.join(', ')}${shape.length > MAX_DESCRIBED_DIMS ? ', …' : ''}]`);
  } catch {
    // A Proxy whose traps throw.
    return describeValue(shape);
  }
}
