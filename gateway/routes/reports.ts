import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import { COMPLIANCE_MAX_DAYS, COMPLIANCE_MAX_ROWS, exportCompliance } from '../services/compliance/index.ts';
import type { Deps } from '../services/context.ts';
import { asMember } from './context.ts';
import { isoTime } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseQuery } from './validate.ts';

const complianceQuery = z
  .object({
    from: isoTime.describe('Start of the period, inclusive (ISO 8601 with offset).'),
    to: isoTime.describe(`End of the period, exclusive; at most ${COMPLIANCE_MAX_DAYS} days after \`from\`.`),
  })
  .strict();

/**
 * Reports (issue 14). Admins only, like GET /v1/audit: the archive holds the whole audit trail, who
 * approved what, and every transaction of the workspace, which developers and approvers cannot list.
 */
export function registerReportRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  route(
    app,
    {
      method: 'get',
      path: '/v1/reports/compliance.zip',
      operationId: 'getComplianceReport',
      tag: 'Reports',
      summary:
        'Compliance export: a ZIP with a SOC 2 / ISO 27001 / EU AI Act Art. 14 narrative and CSV extracts',
      description: [
        'Streams `README.md` (controls mapped to SOC 2 CC6–CC8, ISO/IEC 27001:2022 Annex A and EU AI Act',
        "Art. 14, with the workspace's figures for the period), `transactions.csv`, `approval_stages.csv`,",
        `\`audit_events.csv\` (at most ${COMPLIANCE_MAX_ROWS.toLocaleString('en-US')} rows each, the cut stated),`,
        '`audit-verification.json` and `manifest.json` (row counts, truncated flags, SHA-256 of each file).',
        'A failure after the first byte cuts the connection: the ZIP is then incomplete and does not open.',
      ].join(' '),
      access: { principal: 'member', roles: ['admin'] },
      query: complianceQuery,
      responses: {
        200: {
          description: 'The archive',
          files: ['application/zip'],
          headers: z.object({
            'Content-Disposition': z
              .string()
              .describe(
                'attachment; filename="warden-compliance-<workspace>-<from>-<to>.zip" (times as 20261101T000000Z)',
              ),
          }),
        },
      },
    },
    memberAuth({ deps, roles: ['admin'] }),
    async (c) => {
      const input = parseQuery(c, complianceQuery);
      const { filename, body } = await exportCompliance({ ctx: asMember(deps, c), input });
      return c.body(body, 200, {
        'Content-Type': 'application/zip',
        'Content-Disposition': `attachment; filename="${filename}"`,
        // A report of the workspace's records: never kept by a shared cache.
        'Cache-Control': 'no-store',
      });
    },
  );
}
