/**
 * Fairness between the connections of one server: libuv reads a busy socket
 * up to 32 times per wakeup, and every read is decoded and handled at once.
 * Without a cap, a few flat-out producers keep the event loop in its poll
 * phase for hundreds of ms and HTTP probes time out. So the connections of
 * a server share a budget per turn of the event loop; a connection over it
 * stops reading and resumes on setImmediate.
 *
 * One per TcpIngest (two servers in a process do not share a budget). Owns
 * the list of yielded connections; a connection that closes meanwhile is
 * skipped by its own resumeAfterYield().
 */

/** Bytes all connections of a server may read per turn of the event loop. */
export const READ_BUDGET_PER_TURN = 1024 * 1024;

export interface Yielder {
  /** The turn ended: read again unless paused or closed meanwhile. */
  resumeAfterYield(): void;
}

export class ReadBudget {
  private turnBytes = 0;
  private turnScheduled = false;
  private yielded: Yielder[] = [];
  private readonly endTurn = (): void => {
    this.turnBytes = 0;
    this.turnScheduled = false;
    const resume = this.yielded;
    this.yielded = [];
    for (const conn of resume) conn.resumeAfterYield();
  };

  constructor(private readonly perTurn = READ_BUDGET_PER_TURN) {}

  /**
   * Counts a read of `n` bytes by `conn`. Over the turn's budget it returns
   * true: `conn` stops reading and is resumed when the turn ends.
   */
  spend(n: number, conn: Yielder): boolean {
    this.turnBytes += n;
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(this.endTurn);
    }
    if (this.turnBytes <= this.perTurn) return false;
    this.yielded.push(conn);
    return true;
  }
}
