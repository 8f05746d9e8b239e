/**
 * Backpressure for a source that has none (an archive read as fast as it goes): the source awaits
 * `ready()` before each item, which holds it while more than `maxWindows` windows wait in the picker
 * (pickPhases' `onPending`). Without it an engine off the event loop lets the reader run ahead of the
 * network and the windows queue in memory with the length of the archive.
 */
export class WindowGate {
  private pending = 0;
  private waiting: (() => void)[] = [];

  constructor(private readonly maxWindows: number) {}

  /** pickPhases' `onPending`. */
  readonly setPending = (windows: number): void => {
    this.pending = windows;
    if (windows > this.maxWindows) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  };

  /** Resolves at once while the picker keeps up, else when it has caught up. */
  ready(): Promise<void> | undefined {
    if (this.pending <= this.maxWindows) return undefined;
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
