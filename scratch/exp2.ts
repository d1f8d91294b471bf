import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, Runtime, DefaultLogger } from '@temporalio/worker';
import { startEphemeralServer } from '../src/temporal/dev-server';
(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startEphemeralServer();
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const nclient = new Client({ connection: native as any });
  const worker = await Worker.create({ connection: native, taskQueue: 'x', workflowsPath: __dirname + '/wf2.ts' });
  await worker.runUntil(async () => {
    const h = await client.workflow.start('parent', { taskQueue: 'x', workflowId: 'p1', args: [0] });
    await new Promise((r) => setTimeout(r, 1500));
    const d = await client.workflow.getHandle('p1/kid').describe();
    console.log('kid status after parent CAN:', d.status.name);
    console.log('native client describe:', (await nclient.workflow.getHandle('p1').describe()).status.name);
    await h.result();
    console.log('kid after parent done:', (await client.workflow.getHandle('p1/kid').describe()).status.name);
  });
  await connection.close(); await native.close(); await server.close();
})();
