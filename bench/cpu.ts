/**
 * Where the machine's CPU went during a run, from Linux /proc: the service process (all its
 * threads), PostgreSQL (every `postgres` process: backends, WAL writer, checkpointer...),
 * wrk (reaped during the run, so counted in this process's children's time) and the rest.
 * Elsewhere than Linux the snapshots are undefined and nothing is reported.
 */
import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";

interface ProcessTicks {
  readonly comm: string;
  readonly parent: number;
  readonly ticks: number;
  /** Time of reaped children (cutime + cstime). */
  readonly childTicks: number;
}

export interface CpuSnapshot {
  readonly at: number;
  readonly processes: ReadonlyMap<number, ProcessTicks>;
  readonly systemBusy: number;
  readonly systemSteal: number;
  readonly systemTotal: number;
}

export interface CpuUsage {
  readonly wallSeconds: number;
  /** Average cores used by each group (CPU seconds per wall second). */
  readonly cores: {
    service: number;
    postgres: number;
    wrk: number;
    other: number;
    /** This process's own time (part of `other`): the load generator when it drives the load itself. */
    bench: number;
  };
  /** The busiest other processes, "comm[pid]" to cores. */
  readonly busiestOther: Record<string, number>;
  /** Busy share of all cores, from /proc/stat. */
  readonly machineBusy: number;
  /** Share of all cores the hypervisor gave to others while this VM wanted them (steal). */
  readonly machineSteal: number;
  readonly cpus: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

async function processTicks(pid: number): Promise<ProcessTicks | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    // Fields after "(comm)": state is field 3; utime, stime, cutime, cstime are fields 14 to 17.
    const fields = text
      .slice(close + 2)
      .split(" ")
      .map((field) => Number(field));
    return {
      comm,
      parent: fields[1]!, // ppid is field 4
      ticks: fields[11]! + fields[12]!,
      childTicks: fields[13]! + fields[14]!,
    };
  } catch {
    return undefined; // gone, or not Linux
  }
}

export async function cpuSnapshot(): Promise<CpuSnapshot | undefined> {
  let names: string[];
  let stat: string;
  try {
    names = await readdir("/proc");
    stat = await readFile("/proc/stat", "utf8");
  } catch {
    return undefined;
  }
  const processes = new Map<number, ProcessTicks>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const ticks = await processTicks(Number(name));
    if (ticks) processes.set(Number(name), ticks);
  }
  const cpu = stat
    .split("\n")[0]!
    .split(/\s+/)
    .slice(1)
    .filter(Boolean)
    .map((field) => Number(field));
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = cpu.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const idle = cpu[3]! + cpu[4]!;
  return {
    at: performance.now(),
    processes,
    systemBusy: total - idle,
    systemSteal: cpu[7] ?? 0,
    systemTotal: total,
  };
}

export function cpuUsage(
  before: CpuSnapshot | undefined,
  after: CpuSnapshot | undefined,
  servicePid: number | undefined,
  cpus: number,
): CpuUsage | undefined {
  if (!before || !after) return undefined;
  const hz = ticksPerSecond();
  const wallSeconds = (after.at - before.at) / 1000;
  const sums = { service: 0, postgres: 0, wrk: 0, other: 0, bench: 0 };
  const others: [string, number][] = [];
  for (const [pid, now] of after.processes) {
    const then = before.processes.get(pid);
    const ticks = now.ticks - (then?.comm === now.comm ? then.ticks : 0);
    // The service, and its worker processes when it runs several (CA_WORKERS).
    if (servicePid !== undefined && (pid === servicePid || now.parent === servicePid)) sums.service += ticks;
    else if (now.comm === "postgres") sums.postgres += ticks;
    else if (now.comm === "wrk") sums.wrk += ticks;
    else if (pid === process.pid) {
      // This process's own time is "other"; its reaped children during the run are wrk.
      sums.other += ticks;
      sums.bench += ticks;
      others.push([`${now.comm}[${pid}] (bench)`, ticks]);
      sums.wrk += now.childTicks - (then?.childTicks ?? 0);
    } else {
      sums.other += ticks;
      others.push([`${now.comm}[${pid}]`, ticks]);
    }
  }
  const cores = (ticks: number) => ticks / hz / wallSeconds;
  return {
    wallSeconds,
    cores: {
      service: cores(sums.service),
      postgres: cores(sums.postgres),
      wrk: cores(sums.wrk),
      other: cores(sums.other),
      bench: cores(sums.bench),
    },
    busiestOther: Object.fromEntries(
      others
        .filter(([, ticks]) => ticks > 0)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([name, ticks]) => [name, Math.round(cores(ticks) * 1000) / 1000]),
    ),
    machineBusy: (after.systemBusy - before.systemBusy) / (after.systemTotal - before.systemTotal),
    machineSteal: (after.systemSteal - before.systemSteal) / (after.systemTotal - before.systemTotal),
    cpus,
  };
}

/** Busy share of all cores over `ms` milliseconds, or undefined where /proc/stat is missing. */
export async function machineBusy(ms: number): Promise<number | undefined> {
  const before = await cpuSnapshot();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await cpuSnapshot();
  if (!before || !after) return undefined;
  return (after.systemBusy - before.systemBusy) / (after.systemTotal - before.systemTotal);
}

/**
 * Waits up to `seconds` for the machine to be quiet (under `threshold` busy over 2 s), so
 * that a test suite or build running beside the benchmark does not take its cores. Returns
 * the last busy share measured.
 */
export async function waitForQuiet(
  seconds: number,
  threshold: number,
  onWait: (busy: number) => void,
): Promise<number | undefined> {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const busy = await machineBusy(2000);
    if (busy === undefined || busy < threshold || performance.now() >= deadline) return busy;
    onWait(busy);
  }
}
