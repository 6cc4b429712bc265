/** Logs for machines (one JSON object per line on stdout) or humans (one line on stderr). */
export type LogFormat = 'json' | 'human';

export interface NodeLog {
  (event: string, fields?: Record<string, unknown>): void;
  /** Names the node in later lines (its address, once the key is loaded). */
  setNode(name: string): void;
}

const replacer = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v);

export function createNodeLog(initialNode: string, format: LogFormat, write: (line: string) => void = (l) => process.stdout.write(l)): NodeLog {
  let node = initialNode;
  const log = (event: string, fields: Record<string, unknown> = {}): void => {
    if (format === 'json') {
      write(`${JSON.stringify({ t: new Date().toISOString(), node, event, ...fields }, replacer)}\n`);
    } else {
      const rest = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(4)) : JSON.stringify(v, replacer)}`)
        .join(' ');
      process.stderr.write(`[${node}] ${event} ${rest}\n`);
    }
  };
  return Object.assign(log, { setNode: (name: string) => void (node = name) });
}
