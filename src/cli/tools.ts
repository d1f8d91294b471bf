/** `braid tools`: the tools the agent can call, as a list or as the JSON specs the model sees. */
import { Command } from 'commander';
import pc from 'picocolors';
import { config } from '../config';
import { createDefaultRegistry } from '../tools';

export function toolsCommand(): Command {
  return new Command('tools')
    .description('list the tools the agent can call')
    .option('--json', 'print the tool specs the model sees')
    .action((o: { json?: boolean }) => {
      const registry = createDefaultRegistry({ filesDir: config().filesDir });
      if (o.json) return void console.log(JSON.stringify(registry.specs(), null, 2));
      for (const name of registry.names())
        console.log(`${pc.bold(name)}  ${pc.dim(`${registry.timeoutMs(name)} ms`)}\n  ${registry.get(name)!.description}`);
    });
}
