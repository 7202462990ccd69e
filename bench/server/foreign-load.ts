/**
 * How much CPU other work took during a measurement: the machine's busy
 * time (/proc/stat) minus the time of the benchmark's own processes
 * (/proc/<pid>/stat), in cores. On a shared 2-core machine a neighbour's
 * busy loop halves a server's figures; the suite reports this per cell and
 * re-runs a measurement that was disturbed.
 *
 * Linux only; times are in clock ticks (USER_HZ, 100 per second on every
 * mainstream Linux), so a 1 s run resolves about 0.01 core. Interrupt and
 * softirq time is left out of the machine's total: loopback TCP is
 * processed there on behalf of the benchmark itself.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** user + nice + system + steal of all CPUs, in ticks. */
function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  return f[0] + f[1] + f[2] + (f[7] ?? 0);
}

/** utime + stime of every thread of `pid`, in ticks; 0 once it is gone. */
function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces: fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

export class ForeignLoad {
  private readonly pids: readonly number[];
  private readonly machine0: number;
  private readonly own0: number;
  private readonly t0: number;

  /** Starts counting; `pids` are the benchmark's processes (this one is added). */
  constructor(pids: readonly number[]) {
    this.pids = [process.pid, ...pids];
    this.t0 = performance.now();
    this.machine0 = machineBusyTicks();
    this.own0 = this.ownTicks();
  }

  /** Average cores used by other processes since the start (>= 0). */
  cores(): number {
    const machine = machineBusyTicks() - this.machine0;
    const own = this.ownTicks() - this.own0;
    const seconds = (performance.now() - this.t0) / 1000;
    return seconds > 0 ? Math.max(0, machine - own) / TICKS_PER_SECOND / seconds : 0;
  }

  private ownTicks(): number {
    let n = 0;
    for (const pid of this.pids) n += processTicks(pid);
    return n;
  }
}
