#!/usr/bin/env node
// Peer benchmark: FinalizationRegistry (V8 / Node.js).
// Run with: node --expose-gc node_finalization.js [--n N] [--runs R]
//                [--idle-seconds S] [--batch-only]
// Prints one JSON object on stdout (see README.md in this directory).
'use strict';

if (typeof global.gc !== 'function') {
  process.stderr.write('node_finalization.js: run with `node --expose-gc`\n');
  process.exit(2);
}

const COLLECT_TIMEOUT_MS = 120000;
const WARMUP_N = 100000;
const MEMORY_ROUNDS = 3;

class Owner {
  constructor() {
    this.payload = 0;
  }
}

let count = 0;

// Module-level cleanup callback: no closure is created per registration.
function bump(_held) {
  count++;
}

const HELD = 0; // held value: a Smi, so no allocation per registration

// Cleanup of the batch forms: the held value is the owner's index, and the
// callback uses it (a checksum, verified after each workload).
let sum = 0;
function record(index) {
  count++;
  sum += index;
}

function resetBatch() {
  count = 0;
  sum = 0;
}

function checkBatch(expectedCount, what) {
  const expectedSum = (expectedCount * (expectedCount - 1)) / 2;
  if (count !== expectedCount || sum !== expectedSum) {
    throw new Error(
      `${what}: expected ${expectedCount} cleanups / checksum ${expectedSum}, saw ${count} / ${sum}`,
    );
  }
}

const now = () => process.hrtime.bigint();
const turn = () => new Promise((resolve) => setImmediate(resolve));
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function makeOwners(n) {
  const owners = new Array(n);
  for (let i = 0; i < n; i++) owners[i] = new Owner();
  return owners;
}

// Repeat gc() and yield to the event loop (where V8 posts the cleanup task)
// until `count` reaches `expected`.
async function awaitCount(expected, what) {
  const deadline = Date.now() + COLLECT_TIMEOUT_MS;
  let lastSeen = -1;
  let idle = 0;
  global.gc();
  while (count < expected) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: timed out with ${count}/${expected} cleanups`);
    }
    await turn();
    if (count === lastSeen) {
      idle++;
    } else {
      idle = 0;
      lastSeen = count;
    }
    if (idle >= 2) {
      global.gc();
      await tick();
      idle = 0;
    }
  }
  if (count !== expected) {
    throw new Error(`${what}: expected ${expected} cleanups, saw ${count}`);
  }
}

async function settle() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await turn();
  }
}

// ------------------------------------------------------------------ workloads

async function registerCollect(n) {
  const registry = new FinalizationRegistry(bump);
  count = 0;
  await settle();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    registry.register(new Owner(), HELD);
  }
  await awaitCount(n, 'register_collect');
  const elapsed = Number(now() - t0);
  return { elapsed, keep: registry };
}

async function registerDetach(n) {
  const owners = makeOwners(n);
  const registry = new FinalizationRegistry(bump);
  count = 0;
  await settle();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const o = owners[i];
    registry.register(o, HELD, o);
    registry.unregister(o);
  }
  const elapsed = Number(now() - t0);
  if (count !== 0) throw new Error(`register_detach: ${count} cleanups ran`);
  return { elapsed, keep: [owners, registry] };
}

async function registerOnly(n) {
  const owners = makeOwners(n);
  const registry = new FinalizationRegistry(bump);
  count = 0;
  await settle();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    registry.register(owners[i], HELD);
  }
  const elapsed = Number(now() - t0);
  if (count !== 0) throw new Error(`register_only: ${count} cleanups ran`);
  // Teardown: the registry is dropped together with the owners, so the
  // pending cleanups never run (an unreachable registry does not fire).
  return { elapsed, keep: [owners, registry] };
}

const WORKLOADS = [
  ['register_collect', registerCollect],
  ['register_detach', registerDetach],
  ['register_only', registerOnly],
];

// ---------------------------------------------------------------- batch forms

// Creates n owners in an array, registers record(i) on each with the index as
// held value, and returns: the array, and every owner with it, is then
// unreachable.
function createRegisterDrop(registry, n) {
  const owners = makeOwners(n);
  for (let i = 0; i < n; i++) {
    registry.register(owners[i], i);
  }
}

async function batchRegisterDrop(n) {
  const registry = new FinalizationRegistry(record);
  resetBatch();
  await settle();
  const t0 = now();
  createRegisterDrop(registry, n);
  await awaitCount(n, 'batch_register_drop');
  const elapsed = Number(now() - t0);
  checkBatch(n, 'batch_register_drop');
  return { elapsed, keep: registry };
}

async function batchRegisterDetach(n) {
  const owners = makeOwners(n);
  const registry = new FinalizationRegistry(record);
  resetBatch();
  await settle();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const o = owners[i];
    registry.register(o, i, o);
  }
  for (let i = 0; i < n; i++) {
    registry.unregister(owners[i]);
  }
  const elapsed = Number(now() - t0);
  if (count !== 0) throw new Error(`batch_register_detach: ${count} cleanups ran`);
  return { elapsed, keep: [owners, registry] };
}

const BATCH_WORKLOADS = [
  ['batch_register_drop', batchRegisterDrop],
  ['batch_register_detach', batchRegisterDetach],
];

// No equivalent: reported as null in `results`, the reason is in the notes.
const BATCH_NOT_APPLICABLE = ['batch_run_now', 'batch_threads1', 'batch_threads2'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Percent of one core the process uses (all threads: main, V8 GC helpers,
// libuv) while idle with N live owners, each with a pending registration.
async function idleCpu(n, seconds, rounds) {
  let owners = makeOwners(n);
  let registry = new FinalizationRegistry(record);
  for (let i = 0; i < n; i++) registry.register(owners[i], i);
  resetBatch();
  await settle();
  const samples = [];
  // One more window first, reported apart (settling_window): it shows the
  // aftermath of the setup (V8's memory reducer, concurrent GC), not the idle
  // state.
  for (let r = 0; r <= rounds; r++) {
    const c0 = process.cpuUsage();
    const w0 = now();
    await sleep(seconds * 1000);
    const c = process.cpuUsage(c0);
    const wall = Number(now() - w0);
    samples.push((100 * (c.user + c.system) * 1000) / wall);
  }
  if (count !== 0) throw new Error(`idle_cpu: ${count} cleanups ran during the idle windows`);
  // Read the owners after the windows: a variable that is only written later
  // is dead to V8 across an await, and its array would be collected.
  if (owners.length !== n) throw new Error('unreachable');
  // Teardown: drop the owners and wait for the N callbacks.
  owners = null;
  await awaitCount(n, 'idle_cpu teardown');
  if (!(registry instanceof FinalizationRegistry)) throw new Error('unreachable');
  registry = null;
  return { settling: samples[0], samples: samples.slice(1) };
}

// capturing: the batch forms' registration (held value = the index, a Smi).
async function memoryPerRegistration(n, capturing = false) {
  const samples = [];
  for (let round = 0; round < MEMORY_ROUNDS; round++) {
    let owners = makeOwners(n);
    let registry = new FinalizationRegistry(capturing ? record : bump);
    await settle();
    const before = process.memoryUsage().heapUsed;
    if (capturing) {
      for (let i = 0; i < n; i++) {
        registry.register(owners[i], i);
      }
    } else {
      for (let i = 0; i < n; i++) {
        registry.register(owners[i], HELD);
      }
    }
    await settle();
    const after = process.memoryUsage().heapUsed;
    samples.push((after - before) / n);
    // Read both after the measurement so neither is dead (and collectable)
    // across the awaits above: an unreachable registry takes its cells along.
    if (owners.length !== n || !(registry instanceof FinalizationRegistry)) {
      throw new Error('unreachable');
    }
    owners = null;
    registry = null;
    await settle();
  }
  return median(samples);
}

// ----------------------------------------------------------------------- main

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function parseArgs(argv) {
  const opts = { n: 1000000, runs: 3, idleSeconds: 5, batchOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--n' || a === '--runs') && i + 1 < argv.length) {
      opts[a.slice(2)] = Number.parseInt(argv[++i], 10);
    } else if (a === '--idle-seconds' && i + 1 < argv.length) {
      opts.idleSeconds = Number.parseFloat(argv[++i]);
    } else if (a === '--batch-only') {
      opts.batchOnly = true;
    } else {
      process.stderr.write(
        'usage: node --expose-gc node_finalization.js [--n N] [--runs R] [--idle-seconds S] [--batch-only]\n',
      );
      process.exit(2);
    }
  }
  if (!(opts.n > 0) || !(opts.runs > 0) || !(opts.idleSeconds > 0)) {
    process.stderr.write('--n, --runs and --idle-seconds must be positive\n');
    process.exit(2);
  }
  return opts;
}

async function main() {
  const { n, runs, idleSeconds, batchOnly } = parseArgs(process.argv.slice(2));
  const workloads = (batchOnly ? [] : WORKLOADS).concat(BATCH_WORKLOADS);

  // JIT warm-up, not reported.
  const warm = Math.min(n, WARMUP_N);
  for (let rep = 0; rep < 2; rep++) {
    for (const [, fn] of workloads) await fn(warm);
  }

  const results = {};
  for (const [name, fn] of workloads) {
    const perOp = [];
    for (let r = 0; r < runs; r++) {
      let res = await fn(n);
      perOp.push(res.elapsed / n);
      res = null;
      await settle(); // release the previous run's owners/registry before the next
    }
    results[name] = { median_ns_per_op: median(perOp), runs_ns_per_op: perOp };
  }

  for (const name of BATCH_NOT_APPLICABLE) results[name] = null;

  const { settling, samples: idle } = await idleCpu(n, idleSeconds, runs);
  results.idle_cpu = {
    percent_of_core: median(idle),
    runs_percent_of_core: idle,
    settling_window_percent_of_core: settling,
    idle_seconds: idleSeconds,
    live_owners: n,
  };

  const mem = batchOnly ? null : await memoryPerRegistration(n);
  const memBatch = await memoryPerRegistration(n, true);

  const notes =
    `Node ${process.version} (V8 ${process.versions.v8}), ${require('os').cpus().length} CPUs. ` +
    'Owner = class instance with one field; cleanup = module-level function incrementing a counter; ' +
    'held value = Smi 0 (no allocation); a fresh FinalizationRegistry per run. JIT warmed up with 2 ' +
    `untimed rounds at n=${warm}. register_collect: timing covers the registration loop plus ` +
    'global.gc() (a full mark-compact) and setImmediate/setTimeout(0) turns, re-running gc() whenever ' +
    'the count stalls, until all N callbacks ran (V8 posts the cleanup callbacks as a task after the GC ' +
    'that cleared the weak cells). register_detach: register(o, 0, o) + unregister(o) with the owner as ' +
    'unregister token (the token path also maintains the registry key map). run_now omitted: ' +
    'FinalizationRegistry has no way to run a pending cleanup on demand. register_only: no unregister ' +
    'token. memory: process.memoryUsage().heapUsed after gc(), N owners alive vs the same owners plus ' +
    'N pending registrations without token; the per-registration V8 WeakCell objects live in the JS ' +
    `heap, so heapUsed sees them; median of ${MEMORY_ROUNDS} rounds at n=${n}. ` +
    'Batch forms: the held value is the owner\'s index and the callback record(index) adds it to a ' +
    'checksum (verified) and bumps the counter; the index is a Smi, so V8 stores it in the WeakCell ' +
    'without allocating: carrying a value costs nothing here, unlike a closure context. ' +
    'batch_register_drop: timing covers allocating N owners into an array, registering each, ' +
    'dropping the array (the function returns), then the same gc() + setImmediate/setTimeout(0) loop ' +
    'as register_collect until all N callbacks ran. batch_register_detach: owners made outside the ' +
    'timing; timed = register(o, i, o) on each, then unregister(o) on each in registration order. ' +
    'batch_run_now: null, no equivalent (a pending FinalizationRegistry cleanup cannot be run on ' +
    'demand). batch_threads1/batch_threads2: null, not applicable: JS objects and a ' +
    'FinalizationRegistry belong to one isolate, used by one thread; worker_threads are separate ' +
    'isolates with their own heaps, GCs and registries, so two workers would be two independent ' +
    'runtimes, not two threads sharing a registry. idle_cpu: process.cpuUsage() (user+system, whole ' +
    `process) over setTimeout windows of ${idleSeconds} s, one per run after an extra first window ` +
    'reported apart (settling_window), after gc(), with N live owners ' +
    'each holding a pending registration. memory_batch: as memory, with the index as held value.';

  process.stdout.write(
    JSON.stringify({
      runtime: 'node',
      n,
      results,
      memory_bytes_per_registration: mem,
      memory_batch_bytes_per_registration: memBatch,
      notes,
    }) + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`node_finalization.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
