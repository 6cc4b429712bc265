/** Logs for machines (one JSON object per line on stdout) or humans (one line on stderr). */
export type LogFormat = 'json' | 'human';

export interface NodeLog {
  (event: string, fields?: Record<string, unknown>): void;
}

const replacer = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v);

export function createNodeLog(node: string, format: LogFormat, write: (line: string) => void = (l) => process.stdout.write(l)): NodeLog {
  return (event, fields = {}) => {
    if (format === 'json') {
      write(`${JSON.stringify({ t: new Date().toISOString(), node, event, ...fields }, replacer)}\n`);
    } else {
      const rest = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(4)) : JSON.stringify(v, replacer)}`)
        .join(' ');
      process.stderr.write(`[${node}] ${event} ${rest}\n`);
    }
  };
}
