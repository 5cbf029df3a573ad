/**
 * Password hashing: argon2id (hash-wasm) with OWASP's parameters (m = 19 MiB, t = 2, p = 1), a random 16-byte
 * salt and the PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), so parameters can be raised later
 * and old hashes still verify.
 *
 * One hash costs ~100 ms of CPU. It runs in a worker thread, not on the event loop: the same process ingests
 * device telemetry and must not stall for every login. The worker is plain JavaScript evaluated from a string and
 * loads hash-wasm by an absolute path, so it works the same under tsx, vitest and the compiled build.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../../../src/shared/passwords.js';

export const ARGON2_PARAMS = Object.freeze({ memorySize: 19_456, iterations: 2, parallelism: 1, hashLength: 32 });

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { argon2id, argon2Verify } = require(workerData.hashWasmPath);
parentPort.on('message', async (job) => {
  try {
    const result = job.op === 'hash'
      ? await argon2id({ ...workerData.params, password: job.password, salt: Buffer.from(job.salt, 'base64'), outputType: 'encoded' })
      : await argon2Verify({ password: job.password, hash: job.hash });
    parentPort.postMessage({ id: job.id, result });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String(err && err.message || err) });
  }
});
`;

type Job = { op: 'hash'; password: string; salt: string } | { op: 'verify'; password: string; hash: string };

/** A single argon2 worker (one is enough on 2 cores; the event loop keeps the other). Jobs queue in the worker. */
export class PasswordHasher {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dummyHash: Promise<string> | undefined;
  private closed = false;

  async hash(password: string): Promise<string> {
    return (await this.run({ op: 'hash', password, salt: randomBytes(16).toString('base64') })) as string;
  }

  /** false for a wrong password or a malformed hash (never throws for those). */
  async verify(hash: string, password: string): Promise<boolean> {
    if (!hash.startsWith('$argon2')) return false;
    try {
      return (await this.run({ op: 'verify', password, hash })) === true;
    } catch (err) {
      if (this.closed) throw err;
      return false;
    }
  }

  /**
   * Spends the time of a real verification and answers false: used when the account does not exist, so that the
   * response time does not tell an attacker which emails have accounts.
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash(randomBytes(18).toString('base64'));
    await this.verify(await this.dummyHash, password);
    return false;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    for (const { reject } of this.pending.values()) reject(new Error('password hasher closed'));
    this.pending.clear();
    if (worker) await worker.terminate();
  }

  private run(job: Job): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('password hasher closed'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...job, id });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const hashWasmPath = createRequire(import.meta.url).resolve('hash-wasm');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { hashWasmPath, params: ARGON2_PARAMS } });
    worker.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) waiter.reject(new Error(msg.error));
      else waiter.resolve(msg.result);
    });
    const failAll = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const { reject } of this.pending.values()) reject(err);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`password worker exited (${code})`)));
    // Idle workers must not keep the process (or a test run) alive.
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
