/** One security-relevant change (DESIGN §9), written in the same transaction as the change. */
export interface AuditEvent {
  id: string;
  workspaceId: string | null;
  actorType: 'operator' | 'member' | 'agent' | 'system';
  actorId: string | null;
  action: string;
  target: string | null;
  data: Record<string, unknown>;
  createdAt: number;
}
