import type { Pick } from '../picker/pick.ts';
import type { PickWriter } from '../sink/pick-document.ts';
import { type ScaleLog, untilDone } from './jetstream.ts';
import { pickMessageId, pickSubject } from './subjects.ts';

/**
 * The pick workers' "file": each pick is published to the picks stream and `write` resolves once
 * JetStream has stored it (retried through server restarts), so that a resume point written after it
 * never runs ahead of the picks. The message id is the pick id and status: a pick published again by
 * a worker that took the partition over is dropped by the stream's duplicate window, and the sink's
 * pick file skips what it holds beyond it.
 */
export class PickPublisher implements PickWriter {
  private count = 0;
  private duplicateCount = 0;

  constructor(private readonly scale: ScaleLog) {}

  get written(): number {
    return this.count;
  }

  /** Picks the stream already held (published before by another owner of the partition). */
  get duplicates(): number {
    return this.duplicateCount;
  }

  async write(pick: Pick): Promise<void> {
    const ack = await untilDone('publishing a pick', () =>
      this.scale.js.publish(pickSubject(pick), JSON.stringify(pick), { msgID: pickMessageId(pick) }),
    );
    if (ack.duplicate) this.duplicateCount++;
    else this.count++;
  }

  async close(): Promise<void> {}
}
