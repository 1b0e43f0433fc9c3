import { execFileSync } from 'node:child_process';

/**
 * What waking an idle process costs on this machine: a Node process that only sleeps on a timer, at several rates,
 * and the CPU its main thread uses per wake-up, from the scheduler's own runtime for that thread
 * (/proc/self/schedstat, exact where /proc's user + system times are sampled at each tick; the process's other
 * threads have nothing to do).
 *
 * The work is the same at every rate; only the idle gap before each wake-up changes. Where the cost rises as the
 * gaps grow, the machine pays to wake a process whose caches went cold while it slept (on a shared virtual
 * machine, other tenants ran on the core meanwhile). Every figure the bench measures at a low rate per process
 * (the moderate-load phase) carries that cost, in proportion to how much code and data a request touches: compare
 * this table across machines before comparing their moderate-load figures.
 *   npx ts-node --transpile-only bench/wake-cost.ts [seconds per rate=5] [rates=20,80,160,320,1000]
 */
const PROBE = `
const { readFileSync } = require('node:fs');
const runtimeMs = () => Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[0]) / 1e6;
const [rate, seconds] = process.argv.slice(1).map(Number);
const wakeUps = Math.round(rate * seconds);
let woken = 0;
const before = runtimeMs();
const timer = setInterval(() => {
  if (++woken < wakeUps) return;
  clearInterval(timer);
  console.log(((runtimeMs() - before) / wakeUps).toFixed(4));
}, 1000 / rate);
`;

function cpuMsPerWakeUp(ratePerSecond: number, seconds: number): number {
  const out = execFileSync(process.execPath, ['-e', PROBE, String(ratePerSecond), String(seconds)], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 5);
  const rates = (process.argv[3] ?? '20,80,160,320,1000').split(',').map(Number);
  console.log('| wake-ups per second | idle gap | CPU ms per wake-up |');
  console.log('| --- | --- | --- |');
  for (const rate of rates) {
    const cost = cpuMsPerWakeUp(rate, seconds);
    console.log(`| ${rate} | ${(1000 / rate).toFixed(1)} ms | ${cost.toFixed(3)} |`);
  }
}

main();
