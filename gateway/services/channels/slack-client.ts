import { type Logger, LogLevel, WebClient } from '@slack/web-api';
import type { Deps } from '../context.ts';

/**
 * A Slack Web API client (Slack's own `@slack/web-api`) for one bot token, against SLACK_API_URL.
 * It never retries by itself: a failed call fails the outbox delivery, which the outbox retries
 * with its backoff (and shows on the console's webhooks page). Its log lines go to the gateway's
 * logger; it logs no token.
 */
export function slackClient(deps: Pick<Deps, 'config' | 'logger'>, botToken: string): WebClient {
  const log = deps.logger.child({ component: 'slack' });
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (...msg) => log.warn(msg.map(String).join(' ')),
    error: (...msg) => log.error(msg.map(String).join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.WARN,
    setName: () => {},
  };
  return new WebClient(botToken, {
    slackApiUrl: deps.config.slackApiUrl,
    allowAbsoluteUrls: false,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 10_000,
    logger,
  });
}
