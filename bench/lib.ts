/** Benchmark helpers: batched timing with medians, and result files. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

/** Timing of one measured operation. */
export interface Timing {
  /** Median nanoseconds per operation over the samples. */
  median_ns: number;
  p10_ns: number;
  p90_ns: number;
  /** Operations per second at the median. */
  ops_per_s: number;
  samples: number;
  batch: number;
}

/**
 * Times `op(i)` in batches: each sample runs `batch` operations back to back and records the
 * mean per operation; the median over samples is reported. Warm-up batches run first.
 */
export function measure(op: (i: number) => unknown, options: { batch?: number; samples?: number; warmup?: number } = {}): Timing {
  const batch = options.batch ?? 1000;
  const samples = options.samples ?? 101;
  const warmup = options.warmup ?? 20;
  let sink: unknown;
  for (let w = 0; w < warmup; w++) for (let i = 0; i < batch; i++) sink = op(i);
  const per: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink = op(i);
    per.push(Number(process.hrtime.bigint() - start) / batch);
  }
  if (sink === Symbol.for('never')) console.log(sink);
  per.sort((a, b) => a - b);
  const at = (q: number) => per[Math.min(per.length - 1, Math.floor(q * per.length))] as number;
  const median = at(0.5);
  return { median_ns: round(median), p10_ns: round(at(0.1)), p90_ns: round(at(0.9)), ops_per_s: Math.round(1e9 / median), samples, batch };
}

/** Times an async operation the same way (one await per operation). */
export async function measureAsync(op: (i: number) => Promise<unknown>, options: { batch?: number; samples?: number; warmup?: number } = {}): Promise<Timing> {
  const batch = options.batch ?? 200;
  const samples = options.samples ?? 51;
  const warmup = options.warmup ?? 5;
  for (let w = 0; w < warmup; w++) for (let i = 0; i < batch; i++) await op(i);
  const per: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await op(i);
    per.push(Number(process.hrtime.bigint() - start) / batch);
  }
  per.sort((a, b) => a - b);
  const at = (q: number) => per[Math.min(per.length - 1, Math.floor(q * per.length))] as number;
  const median = at(0.5);
  return { median_ns: round(median), p10_ns: round(at(0.1)), p90_ns: round(at(0.9)), ops_per_s: Math.round(1e9 / median), samples, batch };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Machine facts recorded beside every result. */
export function machine(): Record<string, string | number> {
  return { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, date: new Date().toISOString() };
}

/** Writes `bench/results/<name>.json` and `<name>.md`. */
export function writeResults(name: string, json: unknown, markdown: string): void {
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(dir, `${name}.md`), markdown.endsWith('\n') ? markdown : `${markdown}\n`);
}

/** Formats nanoseconds for a table. */
export function fmt(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}
