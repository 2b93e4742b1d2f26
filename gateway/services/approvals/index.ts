/**
 * Parked requests and their approval stages: the stage machine, votes and deadlines, the emailed
 * approval links and the one-time codes that guard them.
 */

export { emailSender } from './approval-email.ts';
export {
  canDecide,
  countDecidable,
  decideApproval,
  getApproval,
  listApprovals,
  listDecidable,
  listDecided,
  viewApproval,
} from './approvals.ts';
export { fireDueDeadlines } from './deadlines.ts';
export {
  type ActiveLink,
  checkCsrf,
  csrfToken,
  type DeadLink,
  decideByLink,
  issueLink,
  resolveLink,
} from './links.ts';
export { createOtpService, OTP_REQUEST_WINDOW_MS } from './otp.ts';
export type { OtpService } from './otp-types.ts';
export { fireDeadline } from './stage-machine.ts';
