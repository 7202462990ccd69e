/**
 * A FIFO of numbers in a growable Float64Array ring: one entry per frame
 * costs 8 bytes and no allocation once the ring has grown to the window.
 *
 *   [ ... | head -> oldest ... newest | ... ]   (indices masked, capacity a power of two)
 */
export class NumberQueue {
  private ring = new Float64Array(256);
  private mask = 255;
  private head = 0;
  length = 0;

  push(value: number): void {
    if (this.length === this.ring.length) this.grow();
    this.ring[(this.head + this.length) & this.mask] = value;
    this.length++;
  }

  /** Removes and returns the oldest value (the queue must not be empty). */
  shift(): number {
    const value = this.ring[this.head];
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return value;
  }

  /** The i-th oldest value. */
  at(i: number): number {
    return this.ring[(this.head + i) & this.mask];
  }

  clear(): void {
    this.head = this.length = 0;
  }

  private grow(): void {
    const bigger = new Float64Array(this.ring.length * 2);
    for (let i = 0; i < this.length; i++) bigger[i] = this.ring[(this.head + i) & this.mask];
    this.ring = bigger;
    this.mask = bigger.length - 1;
    this.head = 0;
  }
}
