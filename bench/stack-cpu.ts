import { readdirSync, readFileSync } from 'node:fs';
import { cpuSeconds } from './process-stats.ts';

/**
 * CPU seconds of every process of a benchmark's stack, by role: the benchmark's own children (API, worker,
 * provider) by pid, and the shared services by program name, found in /proc when the snapshot is taken:
 * the Temporal dev server, FerretDB, every PostgreSQL process (backends FerretDB opens during a phase count
 * whole; ones that exit during it are missed) and Redis. The machine is assumed quiet: a program of the
 * same name that belongs to something else is counted too.
 */
export type StackCpuSnapshot = Map<string, Map<number, number>>;

const SERVICES: Record<string, (command: string) => boolean> = {
  temporal: (command) => command === 'temporal',
  ferretdb: (command) => command === 'ferretdb',
  postgresql: (command) => command === 'postgres',
  redis: (command) => command.startsWith('redis-server'),
};

function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function safeCpu(pid: number): number | undefined {
  try {
    return cpuSeconds(pid);
  } catch {
    return undefined;
  }
}

export function stackCpuSnapshot(children: Record<string, number[]>): StackCpuSnapshot {
  const snapshot: StackCpuSnapshot = new Map();
  const add = (role: string, pid: number) => {
    const cpu = safeCpu(pid);
    if (cpu === undefined) return;
    if (!snapshot.has(role)) snapshot.set(role, new Map());
    snapshot.get(role)!.set(pid, cpu);
  };
  for (const [role, pids] of Object.entries(children)) for (const pid of pids) add(role, pid);
  const own = new Set(Object.values(children).flat());
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || own.has(pid)) continue;
    const command = commandOf(pid);
    if (command === undefined) continue;
    for (const [role, matches] of Object.entries(SERVICES)) if (matches(command)) add(role, pid);
  }
  return snapshot;
}

/** CPU seconds used between two snapshots, per role and in total (a process new in `after` counts whole). */
export function stackCpuUsed(before: StackCpuSnapshot, after: StackCpuSnapshot): { byRole: Record<string, number>; total: number } {
  const byRole: Record<string, number> = {};
  for (const [role, pids] of after) {
    let used = 0;
    for (const [pid, cpu] of pids) used += cpu - (before.get(role)?.get(pid) ?? 0);
    byRole[role] = used;
  }
  return { byRole, total: Object.values(byRole).reduce((sum, value) => sum + value, 0) };
}

/** `api 0.12 · worker 0.45 · …` per 1,000 tokens. */
export function formatPerThousand(used: { byRole: Record<string, number>; total: number }, tokens: number): string {
  const per = (seconds: number) => ((seconds / tokens) * 1000).toFixed(3);
  return `${Object.entries(used.byRole).map(([role, seconds]) => `${role} ${per(seconds)}`).join(' · ')} · total ${per(used.total)}`;
}
