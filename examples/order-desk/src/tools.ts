/**
 * The order desk's own tools: plain TypeScript with a zod schema each, run by Braid's tool activity
 * (its time budget, retries and circuit breaker) on this app's worker. The data is a stand-in for
 * the shop's order system and its carrier's tracking API.
 */
import { z } from 'zod';
import { defineTool, ToolError, ToolRegistry } from '@braid-agents/braid/worker';

const ORDERS: Record<string, { customer: string; items: string[]; total: string; status: string; carrier?: string }> = {
  'A-1001': { customer: 'Ana Ortiz', items: ['trail shoes'], total: 'EUR 129.00', status: 'shipped', carrier: 'DPD' },
  'A-1002': { customer: 'Ben Kim', items: ['rain jacket', 'wool socks'], total: 'EUR 184.50', status: 'packing' },
  'A-1003': { customer: 'Chloe Martin', items: ['tent'], total: 'EUR 349.00', status: 'delivered', carrier: 'UPS' },
};

const TRACKING: Record<string, string> = {
  'A-1001': 'In transit: left the Leipzig hub this morning; delivery expected tomorrow before 18:00.',
  'A-1003': 'Delivered on Monday at 10:42, signed for by the customer.',
};

const orderId = z.object({ orderId: z.string().describe('Order number, e.g. "A-1001"') });

export const orderLookup = defineTool({
  name: 'order_lookup',
  description: 'An order by its number: customer, items, total and fulfilment status.',
  input: orderId,
  timeoutMs: 5_000,
  async handler({ orderId }) {
    const order = ORDERS[orderId];
    if (!order) throw new ToolError(`no order ${orderId}`); // the workflow gets an explicit error result, not a retry
    return { orderId, ...order };
  },
});

export const shipmentTracking = defineTool({
  name: 'shipment_tracking',
  description: 'The carrier and its latest tracking event for an order that has shipped.',
  input: orderId,
  timeoutMs: 5_000,
  async handler({ orderId }) {
    const carrier = ORDERS[orderId]?.carrier;
    if (!carrier) throw new ToolError(`order ${orderId} has no shipment yet`);
    return { orderId, carrier, latest: TRACKING[orderId] ?? 'label created, not yet scanned' };
  },
});

/** The registry the worker plugin runs; `callTool` and `callModel` name tools from it. */
export const orderTools = () => new ToolRegistry().register(orderLookup, shipmentTracking);
