/**
 * Zero-copy batching for sinks. The frames of one read lie back to back in
 * one buffer, so a connection's batch is a few contiguous runs (usually
 * one): a packet only moves the current run's end, and each run becomes one
 * Buffer view at batch end. A gap (a dropped frame) or another buffer (a
 * frame larger than the ring, a moved partial frame) starts a new run.
 */
import type { ConnectionInfo, Packet } from './types.js';

class Runs {
  buffer: Buffer | null = null;
  start = 0;
  end = 0;
  done: Buffer[] = [];
}

export class FrameRuns {
  private readonly byConnection = new WeakMap<ConnectionInfo, Runs>();
  // A read's frames arrive together: remembering the last connection skips a WeakMap lookup per packet.
  private lastConnection: ConnectionInfo | null = null;
  private last: Runs | null = null;

  /** Adds the packet's frame to its connection's batch (reads offsets only: no allocation). */
  add(packet: Packet, connection: ConnectionInfo): void {
    const runs = connection === this.lastConnection && this.last !== null ? this.last : this.switchTo(connection);
    const buffer = packet.buffer;
    const start = packet.frameStart;
    if (buffer === runs.buffer && start === runs.end) {
      runs.end += packet.frameLength;
      return;
    }
    if (runs.buffer !== null) runs.done.push(runs.buffer.subarray(runs.start, runs.end));
    runs.buffer = buffer;
    runs.start = start;
    runs.end = start + packet.frameLength;
  }

  private switchTo(connection: ConnectionInfo): Runs {
    let runs = this.byConnection.get(connection);
    if (runs === undefined) {
      runs = new Runs();
      this.byConnection.set(connection, runs);
    }
    this.lastConnection = connection;
    this.last = runs;
    return runs;
  }

  /** The connection's batch as views, oldest first, and a fresh batch; null if empty. */
  take(connection: ConnectionInfo): Buffer[] | null {
    const runs = connection === this.lastConnection ? this.last : this.byConnection.get(connection);
    if (runs == null || runs.buffer === null) return null;
    const out = runs.done;
    out.push(runs.buffer.subarray(runs.start, runs.end));
    runs.done = [];
    runs.buffer = null; // do not pin a ring (or a big frame's buffer) between batches
    return out;
  }

  /** The connection closed: forget its state. */
  delete(connection: ConnectionInfo): void {
    this.byConnection.delete(connection);
    if (this.lastConnection === connection) {
      this.lastConnection = null;
      this.last = null;
    }
  }
}
