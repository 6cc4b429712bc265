/** A one-line progress bar on a TTY stream (stderr by default); plain percentage lines elsewhere, at most one per 10%. */
export class ProgressBar {
  private lastDrawn = 0;
  private lastDecile = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {}

  update(done: number): void {
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    if (this.stream.isTTY) {
      const now = Date.now();
      if (now - this.lastDrawn < 100 && fraction < 1) return;
      this.lastDrawn = now;
      const filled = Math.round(fraction * this.width);
      this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${(fraction * 100).toFixed(1)}%`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      this.stream.write(`${this.label} ${decile * 10}%\n`);
    }
  }

  finish(message = ''): void {
    this.update(this.total);
    if (this.stream.isTTY) this.stream.write(`\n`);
    if (message !== '') this.stream.write(`${message}\n`);
  }
}
