import { type Command, Option } from 'commander';
import { CliError, callApi, EXIT, type RemoteOptions, remote } from './api.ts';
import { fields, line, paint, printJson, table } from './output.ts';

interface BusinessView {
  id: string;
  name: string;
  category: string;
  description?: string;
}

interface RegisterOptions extends RemoteOptions {
  category: string;
  id?: string;
  description?: string;
  adapter: 'http' | 'echo' | 'module';
  baseUrl?: string;
  module?: string;
}

/** `warden business …`: businesses agents act on (operator token; DESIGN §5, §7). */
export function registerBusinessCommands(program: Command): void {
  const group = program
    .command('business')
    .description('register, list and show businesses (operator token)');

  remote(group.command('register'))
    .description('register a business with its adapter; prints its signing secret once')
    .argument('<name>', 'display name')
    .requiredOption('--category <category>', 'category policies match on (e.g. travel, food)')
    .option('--id <id>', 'id agents use (default: derived from the name)')
    .option('--description <text>', 'what the business offers')
    .addOption(
      new Option('--adapter <type>', 'how Warden reaches it')
        .choices(['http', 'echo', 'module'])
        .default('http'),
    )
    .option('--base-url <url>', 'http adapter: where Warden forwards (POST {base}/agp/{operation})')
    .option('--module <name>', 'module adapter: the installed module name')
    .action(async (name: string, opts: RegisterOptions) => {
      const adapter =
        opts.adapter === 'http'
          ? { type: 'http', baseUrl: opts.baseUrl }
          : opts.adapter === 'module'
            ? { type: 'module', name: opts.module }
            : { type: 'echo' };
      const body = await callApi<{ business: BusinessView; signingSecret: string; businessKey: string }>(
        opts,
        'POST',
        '/v1/admin/businesses',
        { id: opts.id, name, category: opts.category, description: opts.description, adapter },
      );
      if (opts.json) return printJson(body);
      fields([
        ['business', body.business.id],
        ['name', body.business.name],
        ['category', body.business.category],
        ['signing secret', body.signingSecret],
        ['business key', body.businessKey],
      ]);
      line(
        paint(
          'dim',
          'Both are shown once: the signing secret verifies requests, the key calls the business API (/v1/business).',
        ),
      );
    });

  remote(group.command('list'))
    .description('list registered businesses')
    .action(async (opts: RemoteOptions) => {
      const body = await callApi<{ businesses: BusinessView[] }>(opts, 'GET', '/v1/admin/businesses');
      if (opts.json) return printJson(body);
      table(
        body.businesses,
        [
          { header: 'ID', value: (b) => b.id },
          { header: 'NAME', value: (b) => b.name },
          { header: 'CATEGORY', value: (b) => b.category },
          { header: 'DESCRIPTION', value: (b) => b.description },
        ],
        'No businesses.',
      );
    });

  remote(group.command('show'))
    .description('show one business')
    .argument('<id>', 'business id')
    .action(async (id: string, opts: RemoteOptions) => {
      // The operator API lists businesses; there is no route for one, so it is picked from the list.
      const { businesses } = await callApi<{ businesses: BusinessView[] }>(
        opts,
        'GET',
        '/v1/admin/businesses',
      );
      const business = businesses.find((b) => b.id === id);
      if (!business) throw new CliError(`No business ${id}.`, 'NOT_FOUND', EXIT.notFound);
      if (opts.json) return printJson(business);
      fields([
        ['business', business.id],
        ['name', business.name],
        ['category', business.category],
        ['description', business.description],
      ]);
    });
}
