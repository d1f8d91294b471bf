/**
 * The order desk's workflow, written only against `@braid-agents/braid/workflow`: every tool call
 * for every order runs at once as its own activity (`fanOut` keeps the results in input order and
 * turns a failed branch into an entry, not an exception), then Claude writes the customer note
 * through Braid's model activity — rate-limited, retried and breaker-guarded by the worker plugin.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { callModel, callTool, failureMessage, fanOut, textOf } from '@braid-agents/braid/workflow';

export const TOOLS = ['order_lookup', 'shipment_tracking'] as const;

export interface OrderDigestInput {
  orderIds: string[];
}

/** One tool's answer about one order; `ok: false` carries the reason in `content`. */
export interface OrderCheck {
  orderId: string;
  tool: (typeof TOOLS)[number];
  ok: boolean;
  content: string;
}

export interface OrderDigest {
  checks: OrderCheck[];
  note: string;
  model: string;
  simulated: boolean;
}

export async function orderDigest({ orderIds }: OrderDigestInput): Promise<OrderDigest> {
  if (!orderIds?.length) throw ApplicationFailure.nonRetryable('give at least one order id', 'InvalidInput');
  const calls = orderIds.flatMap((orderId) => TOOLS.map((tool) => ({ orderId, tool })));
  const settled = await fanOut(calls, ({ orderId, tool }, i) =>
    callTool({ toolUseId: `${tool}-${i}`, name: tool, input: { orderId } }, 5_000),
  );
  const checks = calls.map((call, i): OrderCheck => {
    const s = settled[i]!;
    return s.ok ? { ...call, ok: !s.value.isError, content: s.value.content } : { ...call, ok: false, content: failureMessage(s.error) };
  });
  const facts = checks.map((c) => `- ${c.orderId} ${c.tool}: ${c.ok ? c.content : `not available (${c.content})`}`).join('\n');
  const reply = await callModel({
    role: 'fast',
    system: 'You write short, friendly order status notes for a support desk.',
    messages: [{ role: 'user', content: `Summarise the status of each order for the customer in a few sentences.\n\nContext:\n${facts}` }],
    maxTokens: 400,
  });
  return { checks, note: textOf(reply.content), model: reply.model, simulated: reply.simulated };
}
