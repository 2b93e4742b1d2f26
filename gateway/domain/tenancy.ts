import type { AdapterConfig } from '../../adapters/types.ts';

/** Who owns what: workspaces, their members and agent keys, and the businesses agents act on. */

export type Role = 'admin' | 'developer' | 'approver';
export const ROLES: readonly Role[] = ['admin', 'developer', 'approver'];
export type Scope = 'discover' | 'query' | 'execute';

export interface Workspace {
  id: string;
  name: string;
  createdAt: number;
  /** Set while archived (issue 11): its keys and tokens are refused, its data kept. */
  archivedAt?: number | null;
}

/** An invitation to join a workspace (issue 11): only the link token's hash is stored. */
export interface Invite {
  id: string;
  workspaceId: string;
  email: string;
  role: Role;
  tokenHash: string;
  createdBy: string | null;
  createdAt: number;
  expiresAt: number;
  acceptedAt: number | null;
  memberId: string | null;
}

export interface Member {
  id: string;
  workspaceId: string;
  email: string;
  role: Role;
  tokenHash: string;
  createdAt: number;
}

export interface AgentKey {
  id: string;
  workspaceId: string;
  agentId: string;
  keyHash: string;
  keyPrefix: string;
  scopes: Scope[];
  policyName: string | null;
  createdBy: string | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface Business {
  id: string;
  name: string;
  category: string;
  description: string;
  adapter: AdapterConfig;
  signingSecret: string;
  createdAt: number;
  /** Issue 12: who may call it (live: everyone; sandbox: `sandboxWorkspaces`; suspended, archived: no one). */
  status: BusinessStatus;
  sandboxWorkspaces: string[];
  /** The signing secret before the last rotation (sealed), still signed with until `previousSecretUntil`. */
  previousSigningSecret: string | null;
  previousSecretUntil: number | null;
}

export const BUSINESS_STATUSES = ['live', 'sandbox', 'suspended', 'archived'] as const;
export type BusinessStatus = (typeof BUSINESS_STATUSES)[number];

export interface BusinessFilter {
  category?: string;
  q?: string;
  /** The AGP directory lists only `live` businesses. */
  status?: BusinessStatus;
}

/** An authenticated business key (issue 12): it may act only on its own business. */
export interface BusinessPrincipal {
  businessId: string;
}

/** An authenticated agent key, as every layer sees it (DESIGN §3: the key decides the workspace). */
export interface AgentPrincipal {
  workspaceId: string;
  agentKeyId: string;
  agentId: string;
  scopes: Scope[];
  policyName: string | null;
  /** Issue 22: set when an OAuth access token acts as this agent: the client's client_id. */
  oauthClientId?: string;
}

/** An authenticated member token. */
export interface MemberPrincipal {
  workspaceId: string;
  memberId: string;
  email: string;
  role: Role;
}

/** Who is acting, as services and the audit trail see it (no HTTP). */
export interface Actor {
  type: 'operator' | 'member' | 'agent' | 'system' | 'business';
  id: string | null;
}

export const SYSTEM: Actor = { type: 'system', id: null };
export const OPERATOR: Actor = { type: 'operator', id: null };
