/**
 * Issue 23: approvals where people already work. Slack (messages with Approve and Reject, signed
 * interactive callbacks, members mapped from Slack users) and Microsoft Teams (a card with a link to
 * the console), both delivered through the outbox.
 */
export {
  connectSlack,
  connectTeams,
  disconnectChannel,
  linkMySlackUser,
  listChannelDeliveries,
  listConnections,
  mySlackUser,
  type SlackRoutes,
} from './connections.ts';
export { handleSlackInteraction } from './slack-interactions.ts';
export { slackSender } from './slack-sender.ts';
export { verifySlackSignature } from './slack-signature.ts';
export { teamsApprovalCard, teamsSender } from './teams.ts';
