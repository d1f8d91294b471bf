/**
 * A fetched history holds payloads as the server stores them: encrypted when the run was (payload
 * codecs). Readers of raw history — `braid report`, `braid gc` — decode them with the client's codecs
 * first, so they see what the workflow saw.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';

/**
 * Decodes every payload in `history` (inputs, results, signals, details, summaries, failures'
 * encoded attributes) with `codecs`, in place, and returns them decoded. A failure whose message
 * and stack were encoded gets them back.
 */
export async function decodeHistoryPayloads(history: unknown, codecs: readonly PayloadCodec[]): Promise<Payload[]> {
  const payloads: Payload[] = [];
  const failures: { failure: Record<string, unknown>; payload: Payload }[] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object' || v instanceof Uint8Array) return;
    if (Array.isArray(v)) return v.forEach(walk);
    const o = v as Record<string, unknown>;
    if (o.data instanceof Uint8Array && o.metadata && typeof o.metadata === 'object') return void payloads.push(o as Payload);
    if (o.encodedAttributes && typeof o.encodedAttributes === 'object')
      failures.push({ failure: o, payload: o.encodedAttributes as Payload });
    for (const k of Object.keys(o)) walk(o[k]);
  };
  walk(history);
  if (!codecs.length || !payloads.length) return payloads;
  let decoded = payloads;
  for (const codec of [...codecs].reverse()) decoded = await codec.decode(decoded);
  decoded.forEach((d, i) => Object.assign(payloads[i]!, { metadata: d.metadata, data: d.data }));
  for (const { failure, payload } of failures) {
    try {
      const attrs = JSON.parse(Buffer.from(payload.data ?? []).toString('utf8')) as { message?: unknown; stack_trace?: unknown };
      if (typeof attrs.message === 'string') failure.message = attrs.message;
      if (typeof attrs.stack_trace === 'string') failure.stackTrace = attrs.stack_trace;
    } catch {
      // not the common attributes' JSON: leave the failure as stored
    }
  }
  return payloads;
}
