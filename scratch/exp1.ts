import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, Runtime, DefaultLogger } from '@temporalio/worker';
import { startEphemeralServer } from '../src/temporal/dev-server';
(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startEphemeralServer();
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const worker = await Worker.create({ connection: native, taskQueue: 'x', workflowsPath: __dirname + '/wf.ts' });
  await worker.runUntil(async () => {
    const h = await client.workflow.start('holder', { taskQueue: 'x', workflowId: 'h1' });
    const t0 = Date.now();
    const res = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => h.executeUpdate('ask', { args: [i] }).then((r) => { console.log('ok', i, Date.now() - t0); return r; }, (e) => { console.log('err', i, Date.now() - t0, e.constructor.name, e.message, e.cause?.constructor?.name, e.cause?.code, e.cause?.details); throw e; })));
    setTimeout(() => void h.signal('go'), 3000);
    await new Promise((r) => setTimeout(r, 3500));
    console.log(res.map((r) => r.status));
  });
  await connection.close(); await native.close(); await server.close();
})();
