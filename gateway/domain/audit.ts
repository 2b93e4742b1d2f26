/** One security-relevant change (DESIGN §9), written in the same transaction as the change. */
export interface AuditEvent {
  id: string;
  workspaceId: string | null;
  actorType: 'operator' | 'member' | 'agent' | 'system' | 'business';
  actorId: string | null;
  action: string;
  target: string | null;
  data: Record<string, unknown>;
  createdAt: number;
}

/** An event as stored: with its place in its workspace's hash chain (DESIGN §9). */
export interface ChainedAuditEvent extends AuditEvent {
  seq: number | null;
  prevHash: string | null;
  hash: string | null;
}
