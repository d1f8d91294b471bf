// Runs a tool's computation on model input in child processes, so that no input can stall or kill
// the activity worker that runs every other activity.
//
// Why processes and not worker threads (measured on Node 20): a thread's `resourceLimits` are
// ignored when the process runs with --max-old-space-size (a thread capped at 128 MB grew to 1.1 GB
// under --max-old-space-size=1024), and a thread that reaches its heap limit can still abort the
// whole process (`new Array(2e8).fill(0)` in a 128 MB thread: "FATAL ERROR … heap out of memory",
// exit 134). A child process gets its own --max-old-space-size, dies alone, and its resident memory
// can be watched: heap limits do not cover ArrayBuffers or WebAssembly memory (sql.js), so besides
// the engine's own limits the parent kills a child whose RSS passes `maxRssMb`. A warm child costs
// ~60 MB (~115 MB with mathjs loaded) and ~0.7 s to start, so children are kept for reuse and
// reaped when idle; one is started ahead of the first call by warm() (the worker does this).
//
// A call is stopped by killing its child: on abort (the registry's deadline, or cancellation), on
// its own timeout, or past the memory cap; the main thread keeps heartbeating meanwhile. The code a
// child runs is a module exporting `createHandler(init)`, which returns the function serving one
// request at a time. Under tsx or vitest the module is TypeScript, loaded through tsx's require
// hook; from compiled dist/ it is plain JavaScript. A reply is measured in the child and refused
// there when too large, before it is copied to the parent.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** What a sandbox module exports: called once per child with `init`. */
export type CreateHandler<Init, Req, Res> = (init: Init) => ((request: Req) => Res | Promise<Res>) | Promise<(request: Req) => Res>;

export interface SandboxOptions<Init> {
  /** Names the sandbox in messages, e.g. "calculator". */
  name: string;
  /** Absolute path of the module each child loads; see CreateHandler. */
  module: string;
  /** Handed to createHandler in each child; it travels as JSON in the environment, so keep it small. */
  init: Init;
  /** Children that may run at once; further calls wait for one to be free (their deadline still runs). */
  maxProcesses: number;
  /** JavaScript heap of each child (--max-old-space-size), in MB. */
  heapMb: number;
  /** A child whose resident memory passes this is killed (checked every 50 ms where /proc exists). */
  maxRssMb: number;
  /** Replies whose JSON is longer than this are refused in the child. */
  maxReplyChars: number;
  /** Idle children beyond the first are stopped after this long (default 60 s); one is kept warm. */
  idleMs?: number;
}

/** The module's handler threw: its message, for the caller to pass on. */
export class SandboxFailure extends Error {
  override name = 'SandboxFailure';
}

/** The call was stopped for exceeding a limit: its memory, its time or its reply size. */
export class SandboxLimit extends Error {
  override name = 'SandboxLimit';
  constructor(
    readonly limit: 'memory' | 'time' | 'reply',
    message: string,
  ) {
    super(message);
  }
}

type Reply =
  | { kind: 'ready' }
  | { kind: 'ok'; value: unknown }
  | { kind: 'failed'; message: string }
  | { kind: 'too_large'; chars: number }
  | { kind: 'load'; message: string };
/** A reply to a request (the child's start-up 'ready' is not one). */
type Answer = Exclude<Reply, { kind: 'ready' }>;

interface Child {
  proc: ChildProcess;
  /** Settles when the module has loaded (or failed to). */
  ready: Promise<void>;
  /** The last few KB of its stderr, to tell a heap exhaustion from another crash. */
  stderr: string;
  idleTimer?: NodeJS.Timeout;
}

const CHILD_SOURCE = `
'use strict';
const messageOf = (err) => String((err && err.message) || err);
const setup = JSON.parse(process.env.BRAID_SANDBOX);
process.on('disconnect', () => process.exit(0));
let handler;
try {
  if (setup.tsx) require(setup.tsx).register();
  handler = Promise.resolve(require(setup.module).createHandler(setup.init));
} catch (err) {
  handler = Promise.reject(err);
}
handler.then(() => process.send({ kind: 'ready' }), (err) => process.send({ kind: 'load', message: messageOf(err) }));
process.on('message', async (request) => {
  let serve;
  try {
    serve = await handler;
  } catch (err) {
    process.send({ kind: 'load', message: messageOf(err) });
    return;
  }
  let value;
  try {
    value = await serve(request);
  } catch (err) {
    process.send({ kind: 'failed', message: messageOf(err) });
    return;
  }
  const chars = (JSON.stringify(value) || '').length;
  process.send(chars > setup.maxReplyChars ? { kind: 'too_large', chars } : { kind: 'ok', value });
});
`;

const PAGE_BYTES = 4096;

/** Resident memory of a process in MB, from /proc (Linux); undefined where that is not available. */
function rssMb(pid: number): number | undefined {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(pages) ? (pages * PAGE_BYTES) / 1024 / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class Sandbox<Init, Req, Res> {
  private readonly children = new Set<Child>();
  private readonly idle: Child[] = [];
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private closed = false;

  constructor(private readonly opts: SandboxOptions<Init>) {}

  /** Serves `request` in a child. Rejects with the signal's reason on abort, SandboxLimit or SandboxFailure. */
  async run(request: Req, limits: { signal: AbortSignal; timeoutMs?: number }): Promise<Res> {
    await this.acquire(limits.signal);
    try {
      const child = this.idle.pop() ?? this.spawn();
      clearTimeout(child.idleTimer);
      const reply = await this.send(child, request, limits);
      if (reply.kind === 'load') {
        this.kill(child);
        throw new Error(`the ${this.opts.name} sandbox could not start: ${reply.message}`);
      }
      this.park(child);
      if (reply.kind === 'failed') throw new SandboxFailure(reply.message);
      if (reply.kind === 'too_large') {
        throw new SandboxLimit('reply', `the result is ${reply.chars} characters; the limit is ${this.opts.maxReplyChars}`);
      }
      return reply.value as Res;
    } finally {
      this.release();
    }
  }

  /** Starts a child ahead of the first call, so that call does not pay the start-up; resolves once it is loaded. */
  async warm(): Promise<void> {
    if (this.closed || this.children.size > 0) return;
    const child = this.spawn();
    this.park(child);
    child.proc.ref(); // the caller is waiting for it
    try {
      await child.ready;
    } finally {
      child.proc.unref();
    }
  }

  /** Live child processes (for tests). */
  get processCount(): number {
    return this.children.size;
  }

  /** Stops every child, busy or idle; calls still running or waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    for (const grant of this.waiting.splice(0)) grant();
    await Promise.all(
      [...this.children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
            c.proc.once('exit', () => resolve());
            c.proc.ref(); // or a process with nothing else to do exits before close() returns
            this.kill(c);
          }),
      ),
    );
  }

  private spawn(): Child {
    if (this.closed) throw new Error(`the ${this.opts.name} sandbox is closed`);
    const { NODE_OPTIONS: _ignored, ...env } = process.env; // its heap or loader flags are not the child's
    const setup = {
      module: this.opts.module,
      init: this.opts.init,
      maxReplyChars: this.opts.maxReplyChars,
      tsx: /\.[cm]?ts$/.test(this.opts.module) ? require.resolve('tsx/cjs/api') : undefined,
    };
    const proc = spawn(process.execPath, [`--max-old-space-size=${this.opts.heapMb}`, '-e', CHILD_SOURCE], {
      env: { ...env, BRAID_SANDBOX: JSON.stringify(setup) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onFirst = (m: Reply): void => {
        proc.off('exit', onExit);
        if (m.kind === 'load') reject(new Error(m.message));
        else resolve();
      };
      const onExit = (): void => {
        proc.off('message', onFirst);
        reject(new Error(`the ${this.opts.name} sandbox exited while starting`));
      };
      proc.once('message', onFirst);
      proc.once('exit', onExit);
    });
    ready.catch(() => undefined);
    const child: Child = { proc, ready, stderr: '' };
    this.children.add(child);
    proc.stderr!.on('data', (d: Buffer) => (child.stderr = (child.stderr + d.toString()).slice(-4096)));
    // An idle child's failure must not become an uncaught 'error' event.
    proc.on('error', () => undefined);
    proc.once('exit', () => {
      clearTimeout(child.idleTimer);
      this.children.delete(child);
      const i = this.idle.indexOf(child);
      if (i !== -1) this.idle.splice(i, 1);
    });
    // Idle children never keep the worker process alive; close() stops them for a tidy shutdown.
    this.unref(child);
    return child;
  }

  private unref(child: Child): void {
    child.proc.unref();
    (child.proc.channel as { unref?(): void } | null | undefined)?.unref?.();
    (child.proc.stderr as { unref?(): void } | null)?.unref?.();
  }

  private park(child: Child): void {
    if (this.closed) return this.kill(child);
    if (this.idle.length > 0) {
      child.idleTimer = setTimeout(() => this.kill(child), this.opts.idleMs ?? 60_000);
      child.idleTimer.unref();
    }
    this.idle.push(child);
  }

  private kill(child: Child): void {
    child.proc.kill('SIGKILL');
  }

  /** Sends one request and waits for its reply; on abort, timeout, memory exhaustion or crash the child is killed. */
  private send(child: Child, request: Req, limits: { signal: AbortSignal; timeoutMs?: number }): Promise<Answer> {
    const { name, heapMb, maxRssMb } = this.opts;
    const { proc } = child;
    const overMemory = (mb: number) =>
      new SandboxLimit('memory', `it needed more than the ${mb} MB of memory the ${name} may use and was stopped`);
    return new Promise<Answer>((resolve, reject) => {
      const cleanup = (): void => {
        done = true;
        clearTimeout(timer);
        clearInterval(watchdog);
        limits.signal.removeEventListener('abort', onAbort);
        proc.off('message', onMessage);
        proc.off('close', onClose);
      };
      const stop = (err: Error): void => {
        cleanup();
        this.kill(child);
        reject(err);
      };
      const onMessage = (reply: Reply): void => {
        if (reply.kind === 'ready') return;
        cleanup();
        resolve(reply);
      };
      // 'close', not 'exit': by then stderr has been read to the end.
      const onClose = (code: number | null, signal: string | null): void =>
        stop(
          /heap out of memory/i.test(child.stderr)
            ? overMemory(heapMb)
            : new Error(`the ${name} sandbox ${this.closed ? 'was closed' : `exited unexpectedly (${signal ?? `code ${code}`})`}`),
        );
      const onAbort = (): void => stop(limits.signal.reason instanceof Error ? limits.signal.reason : new Error('aborted'));
      // The time limit counts from when the child is ready: a cold start is not the request's doing.
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      if (limits.timeoutMs !== undefined) {
        const ms = limits.timeoutMs;
        void child.ready.then(
          () => {
            if (!done) timer = setTimeout(() => stop(new SandboxLimit('time', `it ran longer than ${ms / 1000} s and was stopped`)), ms);
          },
          () => undefined,
        );
      }
      const watchdog = setInterval(() => {
        if ((rssMb(proc.pid!) ?? 0) > maxRssMb) stop(overMemory(maxRssMb));
      }, 50);
      proc.on('message', onMessage);
      proc.on('close', onClose);
      limits.signal.addEventListener('abort', onAbort, { once: true });
      if (limits.signal.aborted) return onAbort();
      if (!proc.connected) return stop(new Error(`the ${name} sandbox exited unexpectedly`));
      proc.send(request as object);
    });
  }

  private async acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.closed) throw new Error(`the ${this.opts.name} sandbox is closed`);
    if (this.active < this.opts.maxProcesses) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i !== -1) this.waiting.splice(i, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        if (this.closed) reject(new Error(`the ${this.opts.name} sandbox is closed`));
        else resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  /** Hands the slot straight to the next waiter, or frees it. */
  private release(): void {
    const next = this.closed ? undefined : this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
