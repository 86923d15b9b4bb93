/**
 * The process's own figures, as Prometheus' standard `process_*` metrics
 * report them: read from /proc where there is one (Linux), with the few
 * the runtime itself knows as the fallback elsewhere.
 *
 * @module
 */

/** What the process uses; a field is absent where it cannot be read. */
export interface ProcessStats {
  /** User and system CPU time, seconds. */
  cpuSeconds?: number;
  /** Start time, seconds since the epoch. */
  startTimeSeconds?: number;
  /** Open file descriptors. */
  openFds?: number;
  /** The soft open-file limit. */
  maxFds?: number;
  /** Resident memory, bytes. */
  residentBytes?: number;
  /** Virtual memory, bytes. */
  virtualBytes?: number;
  /**
   * The memory the process may use: its cgroup's limit (a container's
   * memory limit), or the machine's memory where there is none.
   */
  memoryLimitBytes?: number;
}

// The unit of the times in /proc/PID/stat. USER_HZ is part of the kernel's
// ABI and 100 on every architecture Deno runs on.
const USER_HZ = 100;

/** Reads the process's figures now. */
export function readProcessStats(): ProcessStats {
  const stats: ProcessStats = {
    residentBytes: Deno.memoryUsage().rss,
    startTimeSeconds: performance.timeOrigin / 1000,
  };
  const stat = read("/proc/self/stat");
  if (stat === undefined) return stats;
  // Fields after the command name, which may hold spaces and parentheses;
  // field 3 (state) is index 0.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const field = (n: number) => Number(fields[n - 3]);
  stats.cpuSeconds = (field(14) + field(15)) / USER_HZ;
  const bootTime = /^btime (\d+)$/m.exec(read("/proc/stat") ?? "")?.[1];
  if (bootTime !== undefined) {
    stats.startTimeSeconds = Number(bootTime) + field(22) / USER_HZ;
  }
  const status = read("/proc/self/status") ?? "";
  const kib = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  stats.residentBytes = kib("VmRSS") ?? stats.residentBytes;
  stats.virtualBytes = kib("VmSize");
  const limit = /^Max open files\s+(\d+)/m.exec(
    read("/proc/self/limits") ?? "",
  );
  if (limit) stats.maxFds = Number(limit[1]);
  stats.openFds = countFds();
  stats.memoryLimitBytes = memoryLimit();
  return stats;
}

function read(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

function countFds(): number | undefined {
  try {
    let count = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) count++;
    return count;
  } catch {
    return undefined;
  }
}

/**
 * The smallest memory limit on the way from the process's cgroup to the
 * root, cgroup v2 or v1 (whichever holds the memory controller), or the
 * machine's memory when that is smaller or there is no limit.
 */
function memoryLimit(): number | undefined {
  const total = /^MemTotal:\s+(\d+) kB$/m.exec(read("/proc/meminfo") ?? "");
  let limit = total ? Number(total[1]) * 1024 : Infinity;
  // v1 reports "no limit" as a huge number, which MemTotal undercuts.
  const take = (text: string | undefined) => {
    const value = Number(text?.trim());
    if (Number.isFinite(value) && value > 0) limit = Math.min(limit, value);
  };
  for (const line of (read("/proc/self/cgroup") ?? "").split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(\/.*)$/.exec(line) ?? [];
    const file = controllers === ""
      ? "/sys/fs/cgroup/%s/memory.max"
      : controllers?.split(",").includes("memory")
      ? "/sys/fs/cgroup/memory/%s/memory.limit_in_bytes"
      : undefined;
    if (file === undefined) continue;
    for (let dir = path;; dir = dir.slice(0, dir.lastIndexOf("/")) || "/") {
      take(read(file.replace("/%s", dir === "/" ? "" : dir)));
      if (dir === "/") break;
    }
  }
  return Number.isFinite(limit) ? limit : undefined;
}
