// The tool registry: the single place that knows which tools exist, what Claude is told about
// them, and how a raw `tool_use` input becomes a validated handler call.
//
// Each tool's zod schema is the source of truth twice over: it is converted once, at register
// time, into the JSON schema sent in the Anthropic `tools` list, and it validates every input the
// model sends back. Converting eagerly means a schema the API would reject (say, a top-level
// string) fails at worker start-up rather than on the first model call.
//
// Failures come in two kinds the activity layer must tell apart: ToolInputError (the model sent
// something invalid) and ToolError (the tool ran and refused). Neither is worth retrying; both are
// worth showing to the model so it can correct itself. Anything else thrown is a genuine fault.
//
// The registry also owns each call's deadline: at the tool's timeout (or the caller's earlier
// deadline) it aborts the handler's signal and fails the call with ToolTimeoutError, whether or not
// the handler listens. That cannot preempt a handler that blocks the thread, which is why tools
// that compute on model input do it in a sandbox process (sandbox.ts) that the abort kills.
import { z } from 'zod';
import type { ToolAnnotations } from '../shared/types';

export type { ToolAnnotations } from '../shared/types';

/** What a tool's handler gets besides its input: an abort signal, its deadline, a heartbeat. */
export interface ToolContext {
  /** Aborted when the caller cancels or the call's deadline passes. */
  signal: AbortSignal;
  heartbeat(details?: unknown): void;
  toolUseId: string;
  /**
   * Epoch ms by which the call must end. A caller may set one (the activity passes what is left of
   * its attempt); the handler sees the effective one: the earlier of that and the tool's timeout.
   */
  deadline?: number;
}

/** A tool's result: text, or JSON the registry serialises for the model. */
export type ToolOutput = string | Record<string, unknown> | unknown[];

/** A tool: its name, the description the model reads, a zod input schema, a time budget and its handler. */
export interface ToolDefinition<S extends z.ZodType = z.ZodType> {
  /** Matches `^[a-zA-Z0-9_-]{1,64}$`, the Anthropic API's rule for tool names. */
  name: string;
  /** What Claude reads when deciding whether and how to call the tool. */
  description: string;
  input: S;
  /** Per-call timeout, enforced by the registry; DEFAULT_TOOL_TIMEOUT_MS when omitted. */
  timeoutMs?: number;
  handler(input: z.infer<S>, ctx: ToolContext): Promise<ToolOutput>;
  /**
   * The JSON schema the model sees, when the tool brings its own (an MCP server's tools do): it
   * replaces the one converted from `input`, which then only checks that the input is an object;
   * the tool validates the rest.
   */
  inputSchema?: Record<string, unknown>;
  /** What the tool says of its effects (MCP's annotations, or Braid's config): decides retries and approval. */
  annotations?: ToolAnnotations;
  /** Where the tool comes from when it is not Braid's own, e.g. `mcp:fs/read_file` (server `fs`, its tool `read_file`). */
  origin?: string;
  /**
   * A version of the data the tool reads (a hash of its files' sizes and times, a database's
   * revision): it changes whenever that data does. `braid ask --speculate`'s answer cache keys
   * answers by it, so an answer is never served after the data behind it changed. Omit it only for
   * a tool that reads no data that changes (a calculator).
   */
  dataVersion?(): Promise<string>;
  /** Prepares what the first call would otherwise wait for (a sandbox process); called by ToolRegistry.warm(). */
  warm?(): Promise<void>;
  /** Releases what the tool holds (child processes, connections); called by ToolRegistry.close(). */
  close?(): Promise<void>;
}

/** Whether a call that failed after it may have acted can be made again: the tool only reads, or says a repeat does no more. */
export function retrySafe(a: ToolAnnotations | undefined): boolean {
  // Braid's own tools carry no annotations: they only read.
  return a === undefined || a.readOnly === true || a.idempotent === true;
}

/** One entry of the Anthropic Messages API `tools` array. */
export interface ToolSpec {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

/** The input failed validation, or named no known tool. Retrying the same input cannot help. */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

/** The tool ran and refused or failed for a reason the model should hear (file missing, bad SQL). */
export class ToolError extends Error {
  override name = 'ToolError';
}

/** The call ran past its deadline: the registry stopped waiting and aborted the handler's signal. */
export class ToolTimeoutError extends ToolError {
  override name = 'ToolTimeoutError';
}

/** A tool's time budget when its definition names none. */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Identity function that lets TypeScript infer the handler's input type from the schema. */
export function defineTool<S extends z.ZodType>(def: ToolDefinition<S>): ToolDefinition<S> {
  return def;
}

/** Converts a zod schema into the JSON schema the Anthropic API accepts as `input_schema`. */
export function toInputSchema(schema: z.ZodType): Record<string, unknown> {
  // io 'input' describes what the caller may send: fields with defaults are optional.
  const json = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** Turns zod issues into one line the model can act on: `limit: Too big: expected number to be <=10`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : '(input)'}: ${issue.message}`).join('; ');
}

/** The tools a worker offers: validates inputs, enforces each call's deadline, and gives the model their JSON schemas. */
export class ToolRegistry {
  private readonly tools = new Map<string, { def: ToolDefinition; spec: ToolSpec }>();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each tool has its own schema type
  register(...defs: ToolDefinition<any>[]): this {
    for (const def of defs) {
      if (typeof def.name !== 'string' || !TOOL_NAME.test(def.name)) {
        throw new Error(`Invalid tool name ${JSON.stringify(def.name)}: use 1-64 letters, digits, '_' or '-'.`);
      }
      if (this.tools.has(def.name)) throw new Error(`Tool "${def.name}" is already registered.`);
      if (!def.description?.trim()) throw new Error(`Tool "${def.name}" needs a description: it is what the model reads.`);
      if (def.timeoutMs !== undefined && !(Number.isFinite(def.timeoutMs) && def.timeoutMs > 0)) {
        throw new Error(`Tool "${def.name}" has timeoutMs ${def.timeoutMs}; use a positive number of milliseconds.`);
      }
      let inputSchema: Record<string, unknown>;
      try {
        inputSchema = def.inputSchema ? structuredClone(def.inputSchema) : toInputSchema(def.input);
      } catch (err) {
        throw new Error(`Tool "${def.name}" has an input schema JSON Schema cannot express: ${(err as Error).message}`);
      }
      if (inputSchema.type !== 'object') {
        throw new Error(
          `Tool "${def.name}" input must be a z.object(...) schema; got JSON schema type ${JSON.stringify(inputSchema.type)}.`,
        );
      }
      this.tools.set(def.name, { def, spec: { name: def.name, description: def.description, input_schema: inputSchema } });
    }
    return this;
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name)?.def;
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /** Specs for the named tools (all when omitted), in the order asked. Unknown names throw. */
  specs(names?: string[]): ToolSpec[] {
    const wanted = names === undefined ? this.names() : [...new Set(names)];
    const unknown = wanted.filter((n) => !this.tools.has(n));
    if (unknown.length > 0) {
      throw new Error(
        `Unknown tool${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; known tools: ${this.names().join(', ') || '(none)'}.`,
      );
    }
    // Copies, so a caller that edits a spec cannot change what later callers see.
    return wanted.map((n) => structuredClone(this.tools.get(n)!.spec));
  }

  /** The data version of each named tool that has one (see `ToolDefinition.dataVersion`); unknown names throw. */
  async dataVersions(names?: string[]): Promise<Record<string, string>> {
    const wanted = this.specs(names).map((s) => s.name);
    const out: Record<string, string> = {};
    for (const name of wanted) {
      const def = this.tools.get(name)!.def;
      if (def.dataVersion) out[name] = await def.dataVersion();
    }
    return out;
  }

  /** The tool's per-call timeout. Unknown names get the default, so `run` can report them properly. */
  timeoutMs(name: string): number {
    return this.tools.get(name)?.def.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  }

  async run(name: string, rawInput: unknown, ctx: ToolContext): Promise<ToolOutput> {
    const entry = this.tools.get(name);
    if (!entry) {
      throw new ToolInputError(`Unknown tool "${name}"; available tools: ${this.names().join(', ') || '(none)'}.`);
    }
    const parsed = await entry.def.input.safeParseAsync(rawInput);
    if (!parsed.success) {
      throw new ToolInputError(`Invalid input for ${name}: ${formatIssues(parsed.error.issues)}`);
    }
    ctx.signal.throwIfAborted();
    const startedAt = Date.now();
    const deadline = Math.min(startedAt + this.timeoutMs(name), ctx.deadline ?? Infinity);
    const budgetMs = Math.max(0, deadline - startedAt);

    // The handler's signal: the caller's cancellation, or the deadline, whichever comes first.
    const controller = new AbortController();
    const onCallerAbort = (): void => controller.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new ToolTimeoutError(`${name} did not finish within ${Math.round(budgetMs / 100) / 10} s and was stopped.`)),
      budgetMs,
    );
    const stopped = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    stopped.catch(() => undefined);
    const work = Promise.resolve().then(() => entry.def.handler(parsed.data, { ...ctx, signal: controller.signal, deadline }));
    // After a timeout or cancellation the handler's own outcome is abandoned.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, stopped]);
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onCallerAbort);
    }
  }

  /** Warms every tool that has something to prepare (workers call this at start-up). */
  async warm(): Promise<void> {
    await Promise.all([...this.tools.values()].map(({ def }) => def.warm?.()));
  }

  /** Closes every tool that holds resources (sandbox processes); the registry is not usable afterwards. */
  async close(): Promise<void> {
    await Promise.all([...this.tools.values()].map(({ def }) => def.close?.()));
  }
}
