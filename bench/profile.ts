import { existsSync } from 'node:fs';
import { cpuProfilesIn, type ProfileSummary, summariseCpuProfile } from './lib/profile.ts';
import { fmt, formatTable } from './lib/table.ts';

/**
 * BENCH_PROFILE=1: gateway children run with --cpu-prof into their scenario's directory, and the run
 * prints each one's hot spots at the end (bench/lib/profile.ts reads the .cpuprofile files). The
 * figures of a profiled run are lower than real ones.
 */

/** The node flags that make a child write its CPU profile into `dir` (none when not profiling). */
export function profileExecArgv(profiling: boolean, dir: string): string[] {
  return profiling ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** The busiest thread's profile in `dir`: one file per thread (tsx's loader hooks run on their own). */
export function busiestProfile(dir: string): ProfileSummary | undefined {
  const profiles = existsSync(dir) ? cpuProfilesIn(dir).map((f) => summariseCpuProfile(f)) : [];
  return profiles.sort((a, b) => b.busyMs - a.busyMs)[0];
}

export function printProfile(label: string, profile: ProfileSummary): void {
  console.log(
    `\nCPU profile of ${label} (busy ${fmt.int(profile.busyMs)} ms, idle ${fmt.int(profile.idleMs)} ms):`,
  );
  const rows = (spots: ProfileSummary['functions']) =>
    spots.map((s) => [s.name, s.selfMs.toFixed(0), `${s.percent.toFixed(1)}%`]);
  console.log(formatTable(['module (self time)', 'ms', 'busy %'], rows(profile.modules)));
  console.log();
  console.log(formatTable(['function (self time)', 'ms', 'busy %'], rows(profile.functions)));
  console.log();
  console.log(
    formatTable(['project function (inclusive time)', 'ms', 'busy %'], rows(profile.projectInclusive)),
  );
}
