/**
 * What BENCHMARKS.md says about the machine a run used: CPU model, cores, memory, Node version, and
 * the load average, sampled at the start and the end of the run (the machine may be shared: a
 * figure measured while other work runs is only comparable with its reference of the same run).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  readonly platform: string;
}

export interface LoadSample {
  readonly at: Date;
  /** 1, 5 and 15 minute load averages. */
  readonly loadavg: readonly [number, number, number];
  /** Threads runnable right then other than the reader (Linux /proc/loadavg), or null elsewhere. */
  readonly runnable: number | null;
}

/** The CPU model from /proc/cpuinfo (Linux), else from `os.cpus()`. */
function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    const model = line?.split(':')[1]?.trim();
    if (model !== undefined && model !== '') return model;
  } catch {
    // not Linux: fall back to os.cpus()
  }
  return cpus()[0]?.model.trim() ?? 'unknown CPU';
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
  };
}

export function loadSample(): LoadSample {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  let runnable: number | null = null;
  try {
    const field = readFileSync('/proc/loadavg', 'utf8').split(' ')[3]?.split('/')[0];
    const n = Number(field);
    if (Number.isFinite(n)) runnable = Math.max(0, n - 1); // minus the thread reading the file
  } catch {
    // not Linux
  }
  return { at: new Date(), loadavg: [one, five, fifteen], runnable };
}
